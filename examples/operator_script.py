"""An operator's script using the Issuer from Python: issue an agent a credential, list, revoke.

    python examples/operator_script.py --store issuer.db --did-web issuer.example.com \\
        --agent did:key:z6Mk... --scope orders:read --out credential.json

The passphrase comes from DIDVC_ISSUER_PASSPHRASE. The issuer store is created on first use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from didvc.errors import DidvcError
from issuer import Issuer


async def run(args: argparse.Namespace, passphrase: str) -> None:
    if str(args.store).startswith("postgresql://") or Path(args.store).exists():
        issuer = await Issuer.open(args.store, passphrase=passphrase)
    else:
        issuer = await Issuer.create(
            args.store, passphrase=passphrase, did_web=args.did_web, base_url=args.base_url
        )
    async with issuer:
        credential = await issuer.issue(
            args.agent, claims={"scope": args.scope, "owner": args.owner, "agentName": args.name}
        )
        Path(args.out).write_text(json.dumps(credential, indent=2))
        print(f"issued {credential['id']} to {args.agent}")  # type: ignore[index]
        for entry in await issuer.inventory(agent=args.agent):
            print(f"  {entry.status:10} {entry.id}  scopes={','.join(entry.scopes)}")
        if args.revoke_after:
            await issuer.revoke(credential["id"])  # type: ignore[index]
            print(f"revoked {credential['id']}")  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="issuer.db")
    parser.add_argument("--did-web", help="host[:port][:path] for a new did:web issuer")
    parser.add_argument("--base-url", help="where status lists are published (did:key issuers need it)")
    parser.add_argument("--agent", required=True)
    parser.add_argument("--scope", action="append", default=[])
    parser.add_argument("--owner", default="Acme Corp")
    parser.add_argument("--name", default="agent")
    parser.add_argument("--out", default="credential.json")
    parser.add_argument(
        "--revoke-after", action="store_true", help="revoke it again at once (a demonstration)"
    )
    args = parser.parse_args()
    passphrase = os.environ.get("DIDVC_ISSUER_PASSPHRASE")
    if not passphrase:
        parser.error("set DIDVC_ISSUER_PASSPHRASE to the issuer store's passphrase")
    try:
        asyncio.run(run(args, passphrase))
    except DidvcError as error:
        raise SystemExit(f"error [{error.code}]: {error}") from None


if __name__ == "__main__":
    main()
