"""Batch issuance from CSV or JSON Lines: thousands of agents, resumable, errors by line.

Each row names an ``agent`` DID and optionally ``scope`` (``;``-separated in CSV, a list in
JSONL), ``owner``, ``name``, ``audience`` and ``valid_for`` (e.g. ``24h``). A row's key is a
digest of what it asks for (agent, claims, lifetime), not of where it is: the same row in a
renamed copy, or below an inserted line, is the same row. Stored with the credential in the
same transaction, under the batch's name (:func:`batch_key`), it makes a re-run skip what was
issued: a batch killed at any point is completed by running it again, nothing issued twice.
Issuing under another name (a renewal) issues every row again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from didvc.encoding import strict_json_loads
from didvc.errors import DidvcError

__all__ = ["BatchRow", "batch_key", "read_rows"]


@dataclass(frozen=True)
class BatchRow:
    line: int
    key: str
    agent: str | None
    claims: dict[str, Any]
    valid_for: str | None
    error: str | None = None


def batch_key(batch: str, row: BatchRow) -> str:
    """The key of ``row`` issued in the batch named ``batch``."""
    return f"{batch}/{row.key}"


def _digest(agent: str, claims: dict[str, Any], valid_for: str | None) -> str:
    content = json.dumps([agent, claims, valid_for], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def _names(value: Any) -> list[str] | None:
    """A row's scopes or audiences: a list of strings, or one string split at ``;`` (or ``,``);
    None for anything else (a number, an object, lists inside the list)."""
    if not value:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]
    if isinstance(value, list) and all(isinstance(part, str) and part.strip() for part in value):
        return [part.strip() for part in value]
    return None


def _row(line: int, data: Any) -> BatchRow:
    key = f"invalid:{line}"
    if not isinstance(data, dict):
        return BatchRow(line, key, None, {}, None, "the row is not an object")
    agent = data.get("agent") or data.get("did")
    if not isinstance(agent, str) or not agent.strip():
        return BatchRow(line, key, None, {}, None, "the row has no agent DID")
    claims: dict[str, Any] = {}
    scope = _names(data.get("scope") or data.get("scopes"))
    audience = _names(data.get("audience"))
    if scope is None or audience is None:
        wrong = "scope" if scope is None else "audience"
        return BatchRow(
            line, key, None, {}, None, f"{wrong} is a list of strings, or one ';'-separated string"
        )
    if scope:
        claims["scope"] = scope
    for source, target in (("owner", "owner"), ("name", "agentName"), ("agentName", "agentName")):
        if data.get(source):
            claims[target] = str(data[source])
    if audience:
        claims["audience"] = audience
    valid_for = str(data["valid_for"]) if data.get("valid_for") else None
    return BatchRow(line, _digest(agent.strip(), claims, valid_for), agent.strip(), claims, valid_for)


def read_rows(path: Path) -> Iterator[BatchRow]:
    """The rows of a ``.csv`` (with a header line) or ``.jsonl`` file, numbered by file line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for line_number, line in enumerate(text.split("\n"), start=1):  # JSON Lines: \n only
            if not line.strip():
                continue
            try:
                data = strict_json_loads(line, what="the row")
            except DidvcError as exc:
                yield BatchRow(line_number, f"invalid:{line_number}", None, {}, None, str(exc))
                continue
            yield _row(line_number, data)
        return
    reader = csv.DictReader(io.StringIO(text))
    for record in reader:
        line_number = reader.line_num
        if None in record:
            yield BatchRow(
                line_number,
                f"invalid:{line_number}",
                None,
                {},
                None,
                "the row has more fields than the header",
            )
            continue
        yield _row(line_number, {k.strip(): (v or "").strip() for k, v in record.items() if k})
