"""Secrets at rest, for the wallet and the issuer: passphrase → Argon2id → key → ChaCha20-Poly1305.

The KDF parameters are stored beside the data and bounded on the way in, so a tampered file
cannot make opening it cost minutes or gigabytes before the passphrase is even checked. Every
ciphertext is bound (as associated data) to what it protects, e.g. a key id, so ciphertexts
cannot be swapped between rows.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from didvc.encoding import b64url_decode, b64url_encode
from didvc.errors import MalformedValueError, WrongPassphraseError

__all__ = ["KdfParams", "SealedBox", "WrongPassphraseError", "passphrase_from"]

_MIN_MEMORY_KIB: Final = 8 * 1024
_MAX_MEMORY_KIB: Final = 1024 * 1024
_NONCE_BYTES: Final = 12


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters (RFC 9106); defaults follow its second recommended option."""

    salt: bytes
    memory_kib: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4
    algorithm: str = "argon2id"

    @classmethod
    def new(cls, **overrides: Any) -> KdfParams:
        return cls(salt=os.urandom(16), **overrides).checked()

    def checked(self) -> KdfParams:
        """Refuse parameters outside sane bounds before any work is done with them."""
        if self.algorithm != "argon2id":
            raise MalformedValueError(f"unsupported KDF {self.algorithm!r}")
        if not 16 <= len(self.salt) <= 64:
            raise MalformedValueError("KDF salt must be 16 to 64 bytes")
        if not _MIN_MEMORY_KIB <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise MalformedValueError(f"KDF memory must be {_MIN_MEMORY_KIB} to {_MAX_MEMORY_KIB} KiB")
        if not 1 <= self.iterations <= 10 or not 1 <= self.lanes <= 16:
            raise MalformedValueError("KDF iterations must be 1 to 10 and lanes 1 to 16")
        if self.memory_kib < 8 * self.lanes:
            raise MalformedValueError("KDF memory must be at least 8 KiB per lane")
        return self

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["salt"] = b64url_encode(self.salt)
        return data

    @classmethod
    def from_json(cls, data: Any) -> KdfParams:
        if not isinstance(data, dict):
            raise MalformedValueError("KDF parameters must be an object")
        try:
            params = cls(
                salt=b64url_decode(data["salt"]),
                memory_kib=int(data["memory_kib"]),
                iterations=int(data["iterations"]),
                lanes=int(data["lanes"]),
                algorithm=str(data["algorithm"]),
            )
        except (KeyError, TypeError, ValueError):
            raise MalformedValueError("KDF parameters are incomplete or malformed") from None
        return params.checked()

    def derive(self, passphrase: bytes) -> bytes:
        self.checked()
        kdf = Argon2id(
            salt=self.salt,
            length=32,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
        )
        return kdf.derive(passphrase)


class SealedBox:
    """ChaCha20-Poly1305 under a derived key; ``seal``/``open`` take the associated data."""

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        if len(sealed) < _NONCE_BYTES + 16:
            raise WrongPassphraseError("the sealed data is truncated or was not sealed with this passphrase")
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated)
        except InvalidTag:
            raise WrongPassphraseError("the passphrase is wrong, or the data was tampered with") from None


def passphrase_from(
    passphrase: str | bytes | None = None,
    *,
    file: str | os.PathLike[str] | None = None,
    env: str | None = None,
) -> bytes:
    """The passphrase from an argument, a file (first line) or an environment variable."""
    if passphrase is not None:
        value = passphrase.encode() if isinstance(passphrase, str) else passphrase
    elif file is not None:
        with open(file, "rb") as handle:
            lines = handle.read().splitlines()
        value = lines[0] if lines else b""
    elif env is not None and os.environ.get(env):
        value = os.environ[env].encode()
    else:
        raise WrongPassphraseError("a passphrase is required (argument, file or environment variable)")
    if not value:
        raise WrongPassphraseError("the passphrase is empty")
    return value
