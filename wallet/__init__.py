"""The agent wallet: DIDs, keys encrypted at rest, credentials, and a presentation per request.

>>> from wallet import Wallet, WalletSession
>>> async with await Wallet.open("agent.wallet", passphrase=secret) as wallet:    # doctest: +SKIP
...     async with WalletSession(wallet) as http:
...         response = await http.get("https://api.example/orders")
"""

from typing import TYPE_CHECKING, Any

from didvc.errors import (
    DidvcError,
    InputTooLargeError,
    InvalidKeyError,
    MalformedValueError,
    WalletCorruptedError,
    WalletError,
    WalletLockedError,
    WrongPassphraseError,
)
from didvc.sealing import KdfParams, passphrase_from
from wallet._store import CredentialRecord, DidRecord
from wallet._wallet import Wallet

__all__ = [
    "CredentialRecord",
    "DidRecord",
    "DidvcError",
    "InputTooLargeError",
    "InvalidKeyError",
    "KdfParams",
    "MalformedValueError",
    "Wallet",
    "WalletCorruptedError",
    "WalletError",
    "WalletLockedError",
    "WalletSession",
    "WrongPassphraseError",
    "passphrase_from",
]

if TYPE_CHECKING:
    from wallet._client import WalletSession


def __getattr__(name: str) -> Any:
    """``WalletSession`` loads aiohttp's client on first use, not with every wallet command."""
    if name == "WalletSession":
        from wallet._client import WalletSession

        return WalletSession
    raise AttributeError(f"module 'wallet' has no attribute {name!r}")
