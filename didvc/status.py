"""Bitstring Status List 1.0 encode/decode: pure, bounded, most significant bit first.

https://www.w3.org/TR/vc-bitstring-status-list/ — a status list is a bitstring in which entry
``i`` occupies bits ``[i*statusSize, (i+1)*statusSize)``, bit 0 being the most significant bit
of the first byte; it travels GZIP-compressed and multibase base64url-encoded (``u``). Lists
have at least 131,072 entries (herd privacy). Decoding refuses a decompressed size above a cap
(a gzip bomb stops after the cap, with bounded memory), truncated or trailing data, and lists
shorter than the minimum (``STATUS_LIST_LENGTH_ERROR``); an index outside the list is
``RANGE_ERROR``.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from didvc.encoding import multibase_decode, multibase_encode
from didvc.errors import (
    MalformedValueError,
    RangeError,
    StatusListLengthError,
    StatusVerificationError,
)

__all__ = ["DEFAULT_MAX_DECODED_BYTES", "MIN_ENTRIES", "StatusEntry", "StatusList"]

#: The spec's minimum number of entries in a list.
MIN_ENTRIES: Final = 131_072
#: Default cap on the decompressed size of a list: 16 MiB (2^27 one-bit entries).
DEFAULT_MAX_DECODED_BYTES: Final = 16 * 1024 * 1024
_MAX_STATUS_SIZE: Final = 8  # statusMessage may list at most 2^8 values in practice
#: The list type each supported entry type points at.
LIST_TYPES: Final = {
    "BitstringStatusListEntry": "BitstringStatusList",
    "StatusList2021Entry": "StatusList2021",
}


@dataclass(frozen=True)
class StatusEntry:
    """One ``credentialStatus`` entry, checked for shape (spec §2.1 BitstringStatusListEntry)."""

    list_type: str  # "BitstringStatusList" or "StatusList2021"
    purpose: str
    list_url: str
    index: int
    size: int
    messages: tuple[tuple[int, str], ...]  # (value, message) from statusMessage

    @classmethod
    def parse(cls, entry: Mapping[str, Any]) -> StatusEntry:
        """https://www.w3.org/TR/vc-bitstring-status-list/#bitstringstatuslistentry"""
        entry_type = entry.get("type")
        list_type = LIST_TYPES.get(entry_type) if isinstance(entry_type, str) else None
        if list_type is None:
            raise StatusVerificationError(f"unsupported credentialStatus type {str(entry_type)[:60]!r}")
        purpose = entry.get("statusPurpose")
        url = entry.get("statusListCredential")
        index = entry.get("statusListIndex")
        if not isinstance(purpose, str) or not isinstance(url, str):
            raise MalformedValueError("a status entry needs statusPurpose and statusListCredential")
        if not isinstance(index, str) or not index.isdigit() or len(index) > 12:
            raise MalformedValueError("statusListIndex must be a string of decimal digits")
        size = entry.get("statusSize", 1)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= _MAX_STATUS_SIZE:
            raise MalformedValueError(f"statusSize must be an integer from 1 to {_MAX_STATUS_SIZE}")
        raw_messages = entry.get("statusMessage")
        if size > 1 and raw_messages is None:
            raise MalformedValueError("a statusSize above 1 needs statusMessage")
        messages = []
        for item in raw_messages if isinstance(raw_messages, list) else []:
            if isinstance(item, dict) and isinstance(item.get("status"), str):
                try:
                    messages.append((int(item["status"], 16), str(item.get("message"))))
                except ValueError:
                    continue
        return cls(list_type, purpose, url, int(index), size, tuple(messages))

    def message_for(self, value: int) -> str | None:
        """The ``statusMessage`` text for a status value, if the entry gives one."""
        return next((message for status, message in self.messages if status == value), None)

    def decode_list(self, encoded_list: str, *, max_bytes: int = DEFAULT_MAX_DECODED_BYTES) -> StatusList:
        """The list this entry reads, from its ``encodedList``. StatusList2021 lists are plain
        base64url (GZIP data always starts "H4s"); Bitstring Status List ones carry the
        multibase prefix "u"."""
        if self.list_type == "StatusList2021" and not encoded_list.startswith("u"):
            encoded_list = "u" + encoded_list.rstrip("=")
        return StatusList.decode(encoded_list, status_size=self.size, max_bytes=max_bytes)


class StatusList:
    """A mutable list of ``length`` entries of ``status_size`` bits each."""

    __slots__ = ("_bits", "length", "status_size")

    def __init__(self, length: int = MIN_ENTRIES, *, status_size: int = 1) -> None:
        _check_status_size(status_size)
        if length < MIN_ENTRIES:
            raise StatusListLengthError(f"a status list needs at least {MIN_ENTRIES} entries")
        self.length = length
        self.status_size = status_size
        self._bits = bytearray((length * status_size + 7) // 8)

    @classmethod
    def _from_bytes(cls, data: bytearray, status_size: int) -> StatusList:
        instance = cls.__new__(cls)
        instance._bits = data
        instance.status_size = status_size
        instance.length = len(data) * 8 // status_size
        return instance

    def _check_index(self, index: int) -> None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.length:
            raise RangeError(f"status index {index!r} is outside the list of {self.length} entries")

    def get(self, index: int) -> int:
        """The status value of entry ``index`` (0 or 1 when status_size is 1)."""
        self._check_index(index)
        value = 0
        start = index * self.status_size
        for bit in range(start, start + self.status_size):
            value = (value << 1) | ((self._bits[bit >> 3] >> (7 - (bit & 7))) & 1)
        return value

    def set(self, index: int, value: int | bool) -> None:
        self._check_index(index)
        value = int(value)
        if not 0 <= value < (1 << self.status_size):
            raise RangeError(f"status value {value} does not fit in {self.status_size} bits")
        start = index * self.status_size
        for offset in range(self.status_size):
            bit = start + offset
            mask = 1 << (7 - (bit & 7))
            if (value >> (self.status_size - 1 - offset)) & 1:
                self._bits[bit >> 3] |= mask
            else:
                self._bits[bit >> 3] &= ~mask & 0xFF

    def to_bytes(self) -> bytes:
        return bytes(self._bits)

    def encode(self) -> str:
        """``encodedList``: multibase base64url (``u``) of the GZIP-compressed bitstring."""
        return multibase_encode(gzip.compress(bytes(self._bits), compresslevel=9, mtime=0), "u")

    @classmethod
    def decode(
        cls,
        encoded_list: str,
        *,
        status_size: int = 1,
        max_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    ) -> StatusList:
        """Decode an ``encodedList`` (spec §3.4 Bitstring Expansion) within ``max_bytes``."""
        _check_status_size(status_size)
        if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
            raise MalformedValueError("encodedList must be a multibase base64url string ('u')")
        # GZIP never needs much more room than the data it holds; refuse larger input unread.
        compressed = multibase_decode(encoded_list, expect="u", max_chars=max_bytes * 2 + 1024)
        data = _gunzip(compressed, max_bytes)
        if len(data) * 8 < MIN_ENTRIES * status_size:
            raise StatusListLengthError(
                f"status list has {len(data) * 8 // status_size} entries; at least {MIN_ENTRIES} required"
            )
        return cls._from_bytes(data, status_size)


_CHUNK: Final = 1 << 16


def _gunzip(compressed: bytes, max_bytes: int) -> bytearray:
    """One GZIP member, decompressed within ``max_bytes``: a first pass only measures it (64 KiB
    at a time), so a bomb is refused having held 64 KiB; the second fills a buffer of exactly
    the measured size, so a good list costs its size once, with no growing or joined copies."""
    size = sum(len(chunk) for chunk in _inflate(compressed, max_bytes))
    out = bytearray(size)
    view, offset = memoryview(out), 0
    for chunk in _inflate(compressed, max_bytes):
        view[offset : offset + len(chunk)] = chunk
        offset += len(chunk)
    return out


def _inflate(compressed: bytes, max_bytes: int) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pending, total = compressed, 0
    try:
        while True:
            chunk = decompressor.decompress(pending, _CHUNK)
            total += len(chunk)
            if total > max_bytes:
                raise MalformedValueError(f"status list decompresses to more than {max_bytes} bytes")
            yield chunk
            stalled = not chunk and decompressor.unconsumed_tail == pending
            pending = decompressor.unconsumed_tail
            if decompressor.eof or stalled or (not chunk and not pending):
                break
    except zlib.error:
        raise MalformedValueError("encodedList is not valid GZIP data") from None
    if not decompressor.eof:
        raise MalformedValueError("encodedList GZIP data is truncated")
    if decompressor.unused_data:
        raise MalformedValueError("encodedList has data after the GZIP stream")


def _check_status_size(status_size: int) -> None:
    if (
        not isinstance(status_size, int)
        or isinstance(status_size, bool)
        or not 1 <= status_size <= _MAX_STATUS_SIZE
    ):
        raise RangeError(f"statusSize must be an integer from 1 to {_MAX_STATUS_SIZE}")
