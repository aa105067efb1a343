"""The agent context as docs/context.md documents it: the file and digest there are what didvc
uses, and a JSON-LD processor that is not didvc's, bundling only that file beside the W3C
contexts, canonicalizes an issued credential to the bytes its Ed25519 signature covers."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from pyld import jsonld

from didvc.encoding import multibase_decode
from didvc.jsonld import bundled_context_digest
from didvc.keys import PublicKey
from issuer import AGENT_CONTEXT, Issuer, KdfParams
from tests.helpers import Party

DOC = (Path(__file__).resolve().parents[2] / "docs" / "context.md").read_text(encoding="utf-8")
BUNDLED = resources.files("didvc").joinpath("contexts/didvc-agent-v1.jsonld").read_bytes()


def test_the_page_shows_the_file_and_the_digest_didvc_uses() -> None:
    shown = re.search(r"## The file \((\d+) bytes, (sha384-\S+)\)\n\n```json\n(.*?)```", DOC, re.S)
    assert shown is not None, "docs/context.md lost its file section"
    size, digest, text = shown.groups()
    assert text.encode() == BUNDLED and int(size) == len(BUNDLED)
    assert digest == bundled_context_digest(AGENT_CONTEXT)
    assert digest == "sha384-" + base64.b64encode(hashlib.sha384(BUNDLED).digest()).decode()
    assert f'"digestSRI": "{digest}"' in DOC


def _loader(documented: dict[str, Any]) -> Any:
    """pyld's own loader: the W3C context from the package's copies, ours from the page."""
    manifest = json.loads(resources.files("didvc").joinpath("contexts/MANIFEST.json").read_text("utf-8"))

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url == AGENT_CONTEXT:
            document = documented
        else:
            document = json.loads(
                resources.files("didvc").joinpath(f"contexts/{manifest[url]}").read_text("utf-8")
            )
        return {"contextUrl": None, "documentUrl": url, "document": document}

    return load


def _canonical(document: dict[str, Any], loader: Any) -> bytes:
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
    return str(jsonld.normalize(document, options)).encode()


async def test_a_processor_bundling_the_documented_file_verifies_an_issued_credential(tmp_path: Path) -> None:
    shown = re.search(r"## The file .*?```json\n(.*?)```", DOC, re.S)
    assert shown is not None
    loader = _loader(json.loads(shown.group(1)))
    issuer = await Issuer.create(
        tmp_path / "issuer.db",
        passphrase="pw",
        kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1),
        base_url="https://status.example",
    )
    try:
        vc = await issuer.issue(
            Party().did, claims={"scope": ["orders:read"], "owner": "Acme", "agentName": "bot"}
        )
    finally:
        await issuer.close()
    assert isinstance(vc, dict) and vc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    # eddsa-rdfc-2022 (vc-di-eddsa §3.3): hash(canonical proof configuration) || hash(canonical document)
    unsecured = {k: v for k, v in vc.items() if k != "proof"}
    config = {k: v for k, v in vc["proof"].items() if k != "proofValue"}
    config["@context"] = vc["@context"]
    hashed = (
        hashlib.sha256(_canonical(config, loader)).digest()
        + hashlib.sha256(_canonical(unsecured, loader)).digest()
    )
    method = vc["proof"]["verificationMethod"]
    key = PublicKey.from_multikey(method.split("#", 1)[1])
    key.verify(multibase_decode(vc["proof"]["proofValue"], expect="z"), hashed)  # raises if it does not
    tampered = copy.deepcopy(unsecured)
    tampered["credentialSubject"]["scope"] = ["admin"]
    assert _canonical(tampered, loader) != _canonical(unsecured, loader)
