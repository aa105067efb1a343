"""The middleware's audit line: one JSON line per decision, written directly rather than through
json's encoder, and logged as a record the operator's filters and handlers see as any other."""

from __future__ import annotations

import json
import logging
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from verifier._gate import Gate, audit_line
from verifier._result import CredentialResult, Problem, VerificationResult

#: Any string, lone surrogates too (a request path decoded with surrogateescape carries them).
_any_text = st.text(st.characters(codec=None, exclude_categories=()))
_maybe_text = st.none() | _any_text


def _as_dumped(route: str, status: int, result: VerificationResult | None, problems: list[Problem]) -> str:
    """The line as the encoder wrote it before (and as any JSON reader expects it)."""
    line: dict[str, Any] = {
        "event": "didvc.decision",
        "route": route,
        "verdict": "allow" if result is not None and result.verified else "deny",
        "status": status,
        "holder": result.holder if result else None,
        "principal": result.principal if result else None,
        "issuers": sorted({c.issuer for c in result.credentials if c.issuer}) if result else [],
        "credentials": [c.id for c in result.credentials if c.id] if result else [],
        "problems": [p.code for p in problems],
    }
    return json.dumps(line, separators=(",", ":"))


@given(
    route=_any_text,
    status=st.sampled_from([200, 401, 403, 413, 503]),
    verified=st.none() | st.booleans(),
    holder=_maybe_text,
    principal=_maybe_text,
    credentials=st.lists(st.tuples(_maybe_text, _maybe_text), max_size=4),
    codes=st.lists(_any_text, max_size=3),
)
@example(
    route='GET /a"b\\c\n\u2028\U0001f600\udcff',
    status=200,
    verified=True,
    holder="did:key:z6Mk\x00",
    principal=None,
    credentials=[("did:web:b", "urn:1"), ("did:web:a", None), ("did:web:b", "")],
    codes=[],
)
def test_the_line_is_what_json_writes(
    route: str,
    status: int,
    verified: bool | None,
    holder: str | None,
    principal: str | None,
    credentials: list[tuple[str | None, str | None]],
    codes: list[str],
) -> None:
    result = (
        None
        if verified is None
        else VerificationResult(
            verified,
            holder,
            [CredentialResult(True, id, issuer) for issuer, id in credentials],
            principal=principal,
        )
    )
    problems = [Problem(code, "message") for code in codes]
    line = audit_line(route, status, result, problems)
    assert line == _as_dumped(route, status, result, problems)
    assert "\n" not in line and line.isascii()  # one line of ASCII, whatever the route holds


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_record_goes_through_the_loggers_filters_and_handlers() -> None:
    audit = logging.getLogger("didvc.test-audit")
    audit.setLevel(logging.INFO)
    audit.propagate = False
    kept = _Kept()
    audit.addHandler(kept)
    gate = Gate(_NoServer(), audience="https://api.example", audit=audit)
    allowed = VerificationResult(True, "did:key:z6MkAgent")
    try:
        gate.log("GET /orders", 200, allowed, [])
        audit.addFilter(lambda record: "/admin" not in record.getMessage())
        gate.log("GET /admin", 200, allowed, [])
        audit.setLevel(logging.WARNING)
        gate.log("GET /orders", 200, allowed, [])
    finally:
        audit.removeHandler(kept)
        audit.filters.clear()
    assert [json.loads(r.getMessage())["route"] for r in kept.records] == ["GET /orders"]
    record = kept.records[0]
    assert (record.levelno, record.name, record.funcName) == (logging.INFO, "didvc.test-audit", "log")
    assert record.pathname.endswith("_gate.py")


def test_an_adapter_or_a_logger_class_of_its_own_is_called_as_a_logger() -> None:
    """Only a plain Logger gets the record made for it; an adapter (which has no makeRecord)
    and a subclass (which may make its records otherwise) get ``info``, as before."""
    audit = logging.getLogger("didvc.test-audit-adapter")
    audit.setLevel(logging.INFO)
    audit.propagate = False
    kept = _Kept()
    audit.addHandler(kept)
    adapter = logging.LoggerAdapter(audit, {"api": "orders"})
    try:
        Gate(_NoServer(), audience="https://api.example", audit=adapter).log(  # type: ignore[arg-type]
            "GET /orders", 200, VerificationResult(True, "did:key:z6MkAgent"), []
        )
    finally:
        audit.removeHandler(kept)
    assert [json.loads(r.getMessage())["holder"] for r in kept.records] == ["did:key:z6MkAgent"]


class _NoServer:
    """A stand-in verifier: the gate only reads its policy when a request comes."""

    policy = None
