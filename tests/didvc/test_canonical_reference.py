"""The canonical forms of the reference implementation (jsonld.js + rdf-canonize), byte for byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from didvc.errors import DidvcError
from didvc.jsonld import canonicalize

CASES = json.loads((Path(__file__).parents[2] / "fixtures" / "canonical" / "cases.json").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
def test_same_bytes_or_same_refusal_as_the_reference(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(DidvcError):
            canonicalize(case["document"])
    else:
        assert canonicalize(case["document"]) == case["nquads"]
