"""An agent calling an API with requests (or httpx): every request signed by its wallet.

    DIDVC_WALLET_PASSPHRASE=... python examples/agent_requests.py GET https://api.example/orders

A 401 that hands out a ``VP-Nonce`` is retried once with it. With httpx the same reads
``httpx.Client(auth=wallet.httpx.WalletAuth.open(...))``.
"""

from __future__ import annotations

import os
import sys

import requests

from didvc.errors import DidvcError
from wallet.requests import WalletAuth


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: agent_requests.py METHOD URL [BODY]", file=sys.stderr)
        return 2
    passphrase = os.environ.get("DIDVC_WALLET_PASSPHRASE")
    if not passphrase:
        print("set DIDVC_WALLET_PASSPHRASE to the wallet's passphrase", file=sys.stderr)
        return 2
    method, url, *body = sys.argv[1:]
    try:
        auth = WalletAuth.open(os.environ.get("DIDVC_WALLET", "agent.wallet"), passphrase=passphrase)
    except DidvcError as error:
        print(f"error [{error.code}]: {error}", file=sys.stderr)
        return 1
    try:
        response = requests.request(
            method, url, data=body[0].encode() if body else None, auth=auth, timeout=30
        )
        print(response.status_code, response.text)
        return 0 if response.ok else 1
    finally:
        auth.close()


if __name__ == "__main__":
    sys.exit(main())
