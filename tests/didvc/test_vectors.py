"""Every W3C Data Integrity test vector file, one test each, checked for exact equality.

EdDSA is deterministic, so canonical forms, hashes, signatures and whole signed documents are
reproduced byte for byte; ECDSA signatures are randomized, so for ECDSA the canonical forms and
hashes are reproduced and the vector signatures and signed documents must verify.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from didvc import jsonld
from didvc.encoding import multibase_decode, multibase_encode
from didvc.errors import UnknownContextError
from didvc.keys import KeyPair, KeySigner, KeyType
from didvc.proofs import SUITES, add_proof, verify_proofs
from resolvers import default_resolver
from tests.conftest import FIXTURES

VECTORS = FIXTURES / "vectors"


@dataclass(frozen=True)
class Group:
    folder: str
    suite: str
    key_file: str
    unsigned: str
    extra_context: bool = False  # needs https://w3id.org/citizenship/v4rc1 (fixtures/contexts)

    @property
    def deterministic(self) -> bool:
        return self.suite.startswith("eddsa") or self.suite == "Ed25519Signature2020"


GROUPS = [
    Group(
        "vc-di-eddsa/eddsa-rdfc-2022",
        "eddsa-rdfc-2022",
        "vc-di-eddsa/keyPair.json",
        "vc-di-eddsa/unsigned.json",
    ),
    Group(
        "vc-di-eddsa/eddsa-rdfc-2022/employ",
        "eddsa-rdfc-2022",
        "vc-di-eddsa/keyPair.json",
        "vc-di-eddsa/employmentAuth.json",
        extra_context=True,
    ),
    Group(
        "vc-di-eddsa/eddsa-jcs-2022",
        "eddsa-jcs-2022",
        "vc-di-eddsa/keyPair.json",
        "vc-di-eddsa/unsigned.json",
    ),
    Group(
        "vc-di-eddsa/Ed25519Signature2020",
        "Ed25519Signature2020",
        "vc-di-eddsa/keyPair.json",
        "vc-di-eddsa/unsigned.json",
    ),
    Group(
        "vc-di-ecdsa/ecdsa-rdfc-2019-p256",
        "ecdsa-rdfc-2019",
        "vc-di-ecdsa/p256KeyPair.json",
        "vc-di-ecdsa/unsigned.json",
    ),
    Group(
        "vc-di-ecdsa/ecdsa-rdfc-2019-p256/employ",
        "ecdsa-rdfc-2019",
        "vc-di-ecdsa/p256KeyPair.json",
        "vc-di-ecdsa/employmentAuth.json",
        extra_context=True,
    ),
    Group(
        "vc-di-ecdsa/ecdsa-rdfc-2019-p384",
        "ecdsa-rdfc-2019",
        "vc-di-ecdsa/p384KeyPair.json",
        "vc-di-ecdsa/unsigned.json",
    ),
    Group(
        "vc-di-ecdsa/ecdsa-rdfc-2019-p384/employ",
        "ecdsa-rdfc-2019",
        "vc-di-ecdsa/p384KeyPair.json",
        "vc-di-ecdsa/employmentAuth.json",
        extra_context=True,
    ),
    Group(
        "vc-di-ecdsa/ecdsa-jcs-2019-p256",
        "ecdsa-jcs-2019",
        "vc-di-ecdsa/p256KeyPair.json",
        "vc-di-ecdsa/unsigned.json",
    ),
    Group(
        "vc-di-ecdsa/ecdsa-jcs-2019-p384",
        "ecdsa-jcs-2019",
        "vc-di-ecdsa/p384KeyPair.json",
        "vc-di-ecdsa/unsigned.json",
    ),
]


def _json(relative: str | Path) -> Any:
    return json.loads((VECTORS / relative).read_text(encoding="utf-8"))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _key(group: Group) -> KeyPair:
    data = _json(group.key_file)
    secret = data.get("secretKeyMultibase") or data["privateKeyMultibase"]
    return KeyPair.from_multikey(secret, data["publicKeyMultibase"])


def _file(group: Group, prefix: str) -> Path:
    (match,) = [p for p in (VECTORS / group.folder).iterdir() if p.is_file() and p.name.startswith(prefix)]
    return match


def _cases() -> list[Any]:
    cases = []
    for group in GROUPS:
        for path in sorted((VECTORS / group.folder).iterdir()):
            if path.is_file():
                cases.append(pytest.param(group, path, id=f"{group.folder}/{path.name}"))
    return cases


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectors never touch the network: any socket connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a vector test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _hash(group: Group, data: bytes) -> bytes:
    return SUITES[group.suite].hash_for(_key(group).key_type)(data)


CITIZENSHIP = "https://w3id.org/citizenship/v4rc1"


@pytest.fixture
def citizenship_context() -> Iterator[None]:
    """The context of the employ vectors, served for one test only: the library bundles no
    third-party vocabulary, and the fail-closed test below must not see it."""
    document = json.loads((FIXTURES / "contexts" / "citizenship-v4rc1.jsonld").read_text(encoding="utf-8"))
    jsonld.register_context(CITIZENSHIP, document)
    try:
        yield
    finally:
        jsonld._extra_contexts.pop(CITIZENSHIP, None)
        jsonld._resolved_contexts.clear()


@pytest.mark.parametrize(("group", "path"), _cases())
async def test_vector_file(group: Group, path: Path, request: pytest.FixtureRequest) -> None:
    if group.extra_context:
        request.getfixturevalue("citizenship_context")
    suite = SUITES[group.suite]
    pair = _key(group)
    name = path.name
    unsigned = _json(group.unsigned)
    config = _json(_file(group, "proofConfig").relative_to(VECTORS))

    if name.startswith("canonDoc"):
        assert suite.transform(unsigned, pair.key_type).decode() == _text(path)
    elif name.startswith("proofCanon"):
        assert suite.transform(config, pair.key_type).decode() == _text(path)
    elif name.startswith("docHash"):
        assert _hash(group, _text(_file(group, "canonDoc")).encode()).hex() == _text(path).strip()
    elif name.startswith("proofHash"):
        assert _hash(group, _text(_file(group, "proofCanon")).encode()).hex() == _text(path).strip()
    elif name.startswith("combinedHash"):
        combined = suite.hash_data(
            _text(_file(group, "canonDoc")).encode(),
            _text(_file(group, "proofCanon")).encode(),
            pair.key_type,
        )
        assert combined.hex() == _text(path).strip()
    elif name.startswith(("sigHex", "sigBTC58")):
        combined = bytes.fromhex(_text(_file(group, "combinedHash")).strip())
        text = _text(path).strip()
        signature = bytes.fromhex(text) if name.startswith("sigHex") else multibase_decode(text)
        if group.deterministic:
            assert pair.sign(combined) == signature
            if name.startswith("sigBTC58"):
                assert multibase_encode(signature) == text
        pair.public_key.verify(signature, combined)
    elif name.startswith("proofConfig"):
        signer = KeySigner(pair, config["verificationMethod"])
        if suite.legacy:
            assert config["verificationMethod"].endswith(pair.public_key.to_multikey())
            return
        signed = await add_proof(
            unsigned, signer, cryptosuite=group.suite, created=datetime.fromisoformat(config["created"])
        )
        options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
        assert {**options, "@context": unsigned["@context"]} == config
    elif name.startswith("signed"):
        document = _json(path.relative_to(VECTORS))
        verified = await verify_proofs(document, resolver=default_resolver())
        assert verified[0].method.public_key == pair.public_key
        if group.deterministic and not suite.legacy:
            signer = KeySigner(pair, config["verificationMethod"])
            created = datetime.fromisoformat(config["created"])
            assert await add_proof(unsigned, signer, cryptosuite=group.suite, created=created) == document
    else:  # pragma: no cover - a new kind of vector file needs a test written for it
        pytest.fail(f"no test for vector file {name}")


@pytest.mark.parametrize("group", [g for g in GROUPS if g.extra_context], ids=lambda g: g.folder)
async def test_employ_vectors_fail_closed_without_their_context(group: Group) -> None:
    """Without the citizenship context nothing is fetched: canonicalizing and verifying fail."""
    suite = SUITES[group.suite]
    with pytest.raises(UnknownContextError):
        suite.canonicalize(_json(group.unsigned))
    with pytest.raises(UnknownContextError):
        await verify_proofs(_json(_file(group, "signed").relative_to(VECTORS)), resolver=default_resolver())


# --- proof sets and chains (vc-di-eddsa/proof-set-chain) --------------------------------------

SET_CHAIN = "vc-di-eddsa/proof-set-chain"


def _chain_keys() -> dict[str, KeyPair]:
    pairs = _json(f"{SET_CHAIN}/multiKeyPairs.json")
    out = {}
    for data in pairs.values():
        pair = KeyPair.from_multikey(data["privateKeyMultibase"], data["publicKeyMultibase"])
        out[data["publicKeyMultibase"]] = pair
    return out


async def _sign_with_config(document: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    vm = config["verificationMethod"]
    pair = _chain_keys()[vm.split("#")[1]]
    return await add_proof(
        document,
        KeySigner(pair, vm),
        cryptosuite=config["cryptosuite"],
        created=datetime.fromisoformat(config["created"]),
        proof_id=config.get("id"),
        previous_proof=config.get("previousProof"),
    )


STEPS = [
    # (config, input document, expected signed document, expected proof with its value)
    ("proofSetConfig1.json", "unsigned.json", "signedProofSet1.json", "proofSetConfigSigned1.json"),
    ("proofSetConfig2.json", "signedProofSet1.json", "signedProofSet2.json", "proofSetConfigSigned2.json"),
    (
        "proofChainConfig1.json",
        "signedProofSet2.json",
        "signedProofChain1.json",
        "proofChainConfigSigned1.json",
    ),
    (
        "proofChainConfig2.json",
        "signedProofChain1.json",
        "signedProofChain2.json",
        "proofChainConfigSigned2.json",
    ),
]


@pytest.mark.parametrize(("config", "source", "expected", "signed_config"), STEPS, ids=[s[2] for s in STEPS])
async def test_proof_set_and_chain_reproduced_exactly(
    config: str, source: str, expected: str, signed_config: str
) -> None:
    result = await _sign_with_config(_json(f"{SET_CHAIN}/{source}"), _json(f"{SET_CHAIN}/{config}"))
    assert result == _json(f"{SET_CHAIN}/{expected}")
    proofs = result["proof"] if isinstance(result["proof"], list) else [result["proof"]]
    assert proofs[-1] == _json(f"{SET_CHAIN}/{signed_config}")
    verified = await verify_proofs(result, resolver=default_resolver())
    assert len(verified) == len(proofs)


@pytest.mark.parametrize("name", ["proofChainTempDoc1.json", "proofChainTempDoc2.json"])
def test_chain_temporary_documents_are_what_gets_signed(name: str) -> None:
    number = name[-6]
    config = _json(f"{SET_CHAIN}/proofChainConfig{number}.json")
    signed = _json(f"{SET_CHAIN}/proofChainConfigSigned{number}.json")
    temp = _json(f"{SET_CHAIN}/{name}")
    suite = SUITES["eddsa-rdfc-2022"]
    canonical_config = suite.canonicalize({**config, "@context": temp["@context"]})
    hash_data = suite.hash_data(suite.canonicalize(temp), canonical_config, KeyType.ED25519)
    pair = _chain_keys()[config["verificationMethod"].split("#")[1]]
    assert multibase_encode(pair.sign(hash_data)) == signed["proofValue"]


@pytest.mark.parametrize(
    "name",
    ["signedProofSet1.json", "signedProofSet2.json", "signedProofChain1.json", "signedProofChain2.json"],
)
async def test_signed_set_and_chain_documents_verify(name: str) -> None:
    document = _json(f"{SET_CHAIN}/{name}")
    verified = await verify_proofs(document, resolver=default_resolver())
    assert {v.cryptosuite for v in verified} == {"eddsa-rdfc-2022"}


def test_every_proof_set_chain_file_is_covered() -> None:
    covered = {"multiKeyPairs.json", "unsigned.json", "proofChainTempDoc1.json", "proofChainTempDoc2.json"}
    for step in STEPS:
        covered.update(step)
    assert {p.name for p in (VECTORS / SET_CHAIN).iterdir()} == covered
