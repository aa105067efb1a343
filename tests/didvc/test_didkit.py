"""A credential DIDKit 0.3.3 issued (Ed25519Signature2020, the suite's context inside the proof
rather than the document) verifies, and a proof-level context is accepted only when it is exactly
the suite's own (fixtures/vectors/SOURCE.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import trusting
from verifier import Verifier

VECTOR = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "vectors"
    / "didkit"
    / "ed25519-signature-2020-proof-context.json"
)


def _vc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTOR.read_text(encoding="utf-8"))
    return loaded


async def _codes(vc: dict[str, Any]) -> list[str]:
    async with Verifier(policy=trusting(vc["issuer"])) as verifier:
        return [code for code, _ in (await verifier.verify_credential(vc)).problems]


async def test_didkits_credential_verifies() -> None:
    assert await _codes(_vc()) == []


def _changed(change: str) -> dict[str, Any]:
    vc = copy.deepcopy(_vc())
    if change == "subject":
        vc["credentialSubject"]["id"] = "did:example:someone-else"
    elif change == "another context in the proof":
        vc["proof"]["@context"] = [
            "https://w3id.org/security/suites/ed25519-2020/v1",
            "https://w3id.org/security/v2",
        ]
    elif change == "no context in the proof":
        del vc["proof"]["@context"]
    return vc


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("subject", "PROOF_VERIFICATION_ERROR"),
        ("another context in the proof", "PROOF_VERIFICATION_ERROR"),
        ("no context in the proof", "DATA_LOSS_DETECTION_ERROR"),  # the proof's terms are then undefined
    ],
)
async def test_nothing_looser_verifies(change: str, code: str) -> None:
    assert await _codes(_changed(change)) == [code]
