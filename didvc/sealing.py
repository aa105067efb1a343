"""Secrets at rest, for the wallet and the issuer: passphrase → Argon2id → key → ChaCha20-Poly1305.

The one protocol both stores follow (:class:`Vault`):

- The KDF parameters are stored beside the data and bounded on the way in, so a tampered file
  cannot make opening it cost minutes or gigabytes before the passphrase is even checked.
- A check value (the store's label, sealed) is stored too: a wrong passphrase is told apart
  from damaged data before anything else is read or changed.
- Every ciphertext is bound (as associated data) to what it protects: a private key to
  ``key|<key id>|<key type>``, so sealed keys cannot be swapped between rows.

A backup (:func:`seal_with_passphrase`) is the same, self-contained: its own salt and
parameters, its label as associated data.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from didvc.encoding import b64url_decode, b64url_encode
from didvc.errors import DidvcError, MalformedValueError, WrongPassphraseError
from didvc.keys import KeyPair

__all__ = [
    "KdfParams",
    "SealedBox",
    "Vault",
    "open_with_passphrase",
    "passphrase_from",
    "seal_with_passphrase",
]

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


class Vault:
    """A store's secrets under one passphrase: create it once, unlock it on every open."""

    def __init__(self, box: SealedBox, params: KdfParams, check: bytes) -> None:
        self._box = box
        self.params = params
        self._check = check

    @classmethod
    async def create(cls, passphrase: str | bytes, *, label: bytes, kdf: KdfParams | None = None) -> Vault:
        """A new vault; ``label`` names the kind of store (``b"didvc wallet v1"``)."""
        params = (kdf or KdfParams.new()).checked()
        box = await _box(params, passphrase)
        return cls(box, params, box.seal(label, b"check"))

    @classmethod
    async def unlock(
        cls,
        passphrase: str | bytes,
        stored: dict[str, str],
        *,
        label: bytes,
        what: str,
        damaged: type[DidvcError] = MalformedValueError,
    ) -> Vault:
        """The vault described by ``stored`` (what :meth:`stored` gave), if ``passphrase`` opens
        it; else :class:`WrongPassphraseError` naming ``what`` ("this wallet"). Stored values
        that are missing or not even JSON raise ``damaged``; parameters out of bounds raise
        :class:`MalformedValueError` before any work."""
        try:
            kdf = json.loads(stored["kdf"])
            check = b64url_decode(stored["check"])
        except (KeyError, TypeError, ValueError, MalformedValueError):
            raise damaged(f"the passphrase check of {what} is missing or damaged") from None
        params = KdfParams.from_json(kdf)  # bounds checked before any work
        box = await _box(params, passphrase)
        if box.open(check, b"check") != label:
            raise WrongPassphraseError(f"the passphrase does not open {what}")
        return cls(box, params, check)

    def stored(self) -> dict[str, str]:
        """What to keep beside the sealed data: the KDF parameters and the check value."""
        return {"kdf": json.dumps(self.params.to_json()), "check": b64url_encode(self._check)}

    def seal_key(self, pair: KeyPair, key_id: str) -> bytes:
        return self._box.seal(pair.private_bytes(), _key_label(key_id, str(pair.key_type)))

    def open_key(self, sealed: bytes, key_id: str, key_type: str) -> KeyPair:
        return KeyPair.from_private_bytes(key_type, self.open_key_bytes(sealed, key_id, key_type))

    def open_key_bytes(self, sealed: bytes, key_id: str, key_type: str) -> bytes:
        """The private key bytes themselves (for a backup)."""
        return self._box.open(bytes(sealed), _key_label(key_id, key_type))


async def seal_with_passphrase(plaintext: bytes, passphrase: str | bytes, *, label: bytes) -> dict[str, Any]:
    """``plaintext`` sealed under its own salt and parameters: ``{"kdf": ..., "sealed": ...}``."""
    params = KdfParams.new()
    box = await _box(params, passphrase)
    return {"kdf": params.to_json(), "sealed": b64url_encode(box.seal(plaintext, label))}


async def open_with_passphrase(sealed: dict[str, Any], passphrase: str | bytes, *, label: bytes) -> bytes:
    """The plaintext of what :func:`seal_with_passphrase` gave."""
    params = KdfParams.from_json(sealed.get("kdf"))
    box = await _box(params, passphrase)
    try:
        ciphertext = b64url_decode(str(sealed.get("sealed", "")))
    except MalformedValueError:
        raise MalformedValueError("the sealed data is not base64url") from None
    return box.open(ciphertext, label)


async def _box(params: KdfParams, passphrase: str | bytes) -> SealedBox:
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    if not secret:
        raise WrongPassphraseError("the passphrase is empty")
    return SealedBox(await asyncio.to_thread(params.derive, secret))


def _key_label(key_id: str, key_type: str) -> bytes:
    return f"key|{key_id}|{key_type}".encode()


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
