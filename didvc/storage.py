"""Local files that hold secrets: wallets, issuer stores, backups, published documents.

A wallet and a SQLite issuer store are the same kind of file (:func:`open_database`,
:func:`immediate`): WAL mode, ``synchronous=FULL``, foreign keys on, one ``BEGIN IMMEDIATE``
transaction per change, so a crash leaves the old or the new state and another process waits
its turn or is told the file is locked.

The one module of the core that touches the disk, for what the issuer and the wallet share (the
network stays outside the core). A file that holds keys, sealed or not, is created readable and
writable by its owner only (0600), whatever the process's umask; SQLite gives a database's
``-wal`` and ``-shm`` files the database file's own mode. Replacing a file is atomic: written
beside it, flushed, then renamed over it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from didvc.errors import DidvcError

__all__ = [
    "PRIVATE_MODE",
    "Immediate",
    "create_private",
    "immediate",
    "install_new",
    "is_sqlite_file",
    "open_database",
    "remove_database",
    "staging_path",
    "write_atomically",
]

_SQLITE_HEADER = b"SQLite format 3\x00"

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


def staging_path(target: str | os.PathLike[str]) -> Path:
    """A fresh name beside ``target`` where a new file is built before :func:`install_new`."""
    path = Path(target)
    return path.with_name(f".{path.name}.new-{os.getpid()}-{os.urandom(4).hex()}")


def install_new(staging: Path, target: str | os.PathLike[str]) -> None:
    """Give the finished, closed database ``staging`` the name ``target``, all at once and only
    if nothing is there yet (a hard link cannot replace a file): a crash before this leaves no
    ``target``, so a retry starts over; ``FileExistsError`` if another process made it first."""
    os.link(staging, target)
    staging.unlink()
    _sync_directory(Path(target).parent)


def remove_database(path: Path) -> None:
    """Remove a staging database and its ``-wal``/``-shm`` companions, if any."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def is_sqlite_file(path: Path) -> bool:
    """True when ``path`` starts with the SQLite header: read, never opened as a database (an
    empty or foreign file must be refused without being changed)."""
    with path.open("rb") as handle:
        return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def open_database(
    path: Path, *, timeout: float, what: str, locked: type[DidvcError], corrupted: type[DidvcError]
) -> sqlite3.Connection:
    """The private SQLite file at ``path`` (``what`` names it in errors: "the wallet"); a busy
    file raises ``locked``, a foreign or damaged one ``corrupted``."""
    try:
        create_private(path)
        connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise locked(f"{what} {path} is locked by another process") from None
        raise corrupted(f"cannot open {what} {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise corrupted(f"{path} is not {what} or is corrupted: {exc}") from None
    return connection


def immediate(
    db: sqlite3.Connection, *, what: str, locked: type[DidvcError], corrupted: type[DidvcError]
) -> Immediate:
    """``with immediate(db, ...)``: BEGIN IMMEDIATE … COMMIT, one writer at a time, all or
    nothing; a busy file raises ``locked``, a failed commit ``corrupted``."""
    return Immediate(db, what, locked, corrupted)


class Immediate:
    """The context manager :func:`immediate` returns (a class: a transaction per credential
    issued, and a generator-based one costs a few microseconds more)."""

    __slots__ = ("_corrupted", "_db", "_locked", "_what")

    def __init__(
        self, db: sqlite3.Connection, what: str, locked: type[DidvcError], corrupted: type[DidvcError]
    ) -> None:
        self._db = db
        self._what = what
        self._locked = locked
        self._corrupted = corrupted

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._locked(f"{self._what} is locked by another process ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise self._corrupted(f"{self._what} is corrupted: {exc}") from None

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self._db.execute("ROLLBACK")
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._db.execute("ROLLBACK")
            raise self._corrupted(f"could not commit to {self._what}: {exc}") from None
