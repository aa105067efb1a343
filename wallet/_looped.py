"""A wallet opened in an event loop of its own (a helper thread), for synchronous HTTP clients:
every call runs in that loop (:class:`didvc.blocking.LoopThread`)."""

from __future__ import annotations

import os
from typing import Any

from didvc.blocking import LoopThread
from wallet._wallet import Wallet

__all__ = ["open_looped"]

#: What ``Wallet.open`` takes besides the path and passphrase; the rest are request options.
_OPENING = ("allow_loopback", "resolver", "verifier")


def open_looped(
    path: str | os.PathLike[str], passphrase: str | bytes, options: dict[str, Any]
) -> tuple[Wallet, LoopThread]:
    """The existing wallet at ``path`` (a typo must not make a new, empty one), opened in a new
    helper loop; the opening options are taken out of ``options``."""
    runner = LoopThread("didvc-wallet")
    opening = {name: options.pop(name) for name in _OPENING if name in options}
    try:
        return runner.run(Wallet.open(path, passphrase=passphrase, create=False, **opening)), runner
    except BaseException:
        runner.close()
        raise
