"""An agent calling an API with its wallet: every request carries a fresh, request-bound header.

    python examples/agent_client.py --wallet agent.wallet GET https://api.example/orders
    python examples/agent_client.py --wallet agent.wallet POST https://api.example/orders '{"item": 1}'

The passphrase comes from DIDVC_WALLET_PASSPHRASE. If the API answers 401 with a nonce, the
request is sent once more with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

import aiohttp

from didvc.errors import DidvcError
from wallet import Wallet, WalletSession


async def run(args: argparse.Namespace, passphrase: str) -> int:
    async with (
        await Wallet.open(
            args.wallet,
            passphrase=passphrase,
            create=False,
            allow_loopback=args.allow_loopback,
        ) as wallet,
        WalletSession(wallet, audience=args.audience) as http,
    ):
        body = json.loads(args.body) if args.body else None
        response = await http.request(args.method, args.url, json=body)
        print(response.status, await response.text())
        return 0 if response.status < 400 else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallet", default="agent.wallet")
    parser.add_argument("--audience", help="The API's audience, if not the URL's origin.")
    parser.add_argument("--allow-loopback", action="store_true", help="Development only.")
    parser.add_argument("method")
    parser.add_argument("url")
    parser.add_argument("body", nargs="?")
    args = parser.parse_args()
    passphrase = os.environ.get("DIDVC_WALLET_PASSPHRASE")
    if not passphrase:
        parser.error("set DIDVC_WALLET_PASSPHRASE to the wallet's passphrase")
    try:
        status = asyncio.run(run(args, passphrase))
    except DidvcError as error:
        raise SystemExit(f"error [{error.code}]: {error}") from None
    except aiohttp.ClientError as error:
        raise SystemExit(f"error: cannot reach {args.url}: {error}") from None
    raise SystemExit(status)


if __name__ == "__main__":
    main()
