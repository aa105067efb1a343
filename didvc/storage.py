"""Local files that hold secrets: wallets, issuer stores, backups, published documents.

The one module of the core that touches the disk, for what the issuer and the wallet share (the
network stays outside the core). A file that holds keys, sealed or not, is created readable and
writable by its owner only (0600), whatever the process's umask; SQLite gives a database's
``-wal`` and ``-shm`` files the database file's own mode. Replacing a file is atomic: written
beside it, flushed, then renamed over it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_MODE", "create_private", "write_atomically"]

#: Read and write for the owner, nothing for anyone else.
PRIVATE_MODE = 0o600


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist yet; an existing file is kept
    as it is (its mode included)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def write_atomically(path: str | os.PathLike[str], data: bytes, *, private: bool = True) -> None:
    """Replace ``path`` with ``data`` all at once (0600 when ``private``): readers see the old
    file or the new one, never a part."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    temporary.unlink(missing_ok=True)  # a leftover of a crash: its mode must not be inherited
    mode = PRIVATE_MODE if private else 0o644
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
