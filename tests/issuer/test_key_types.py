"""Every key type an issuer may have, end to end: issue, serve and publish the status lists,
verify, revoke, refuse. The securing follows the key unless named (eddsa-rdfc-2022 for
Ed25519, ecdsa-rdfc-2019 for P-256 and P-384, vc+jwt for secp256k1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from didvc.proofs import default_cryptosuite
from issuer import Issuer, IssuerError, KdfParams
from resolvers import MemoryFetcher
from tests.helpers import Party, issuer_site, trusting
from verifier import Verifier

EXPECTED = {
    "Ed25519": "eddsa-rdfc-2022",
    "P-256": "ecdsa-rdfc-2019",
    "P-384": "ecdsa-rdfc-2019",
    "secp256k1": None,  # no Data Integrity suite: vc+jwt
}


def test_the_default_suite_follows_the_key() -> None:
    assert {key: default_cryptosuite(key) for key in EXPECTED} == EXPECTED


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256", "P-384"])
async def test_a_did_web_issuer_of_each_key_type_end_to_end(tmp_path: Path, key_type: str) -> None:
    async with issuer_site(tmp_path, key_type=key_type) as (issuer, _):
        vc = await issuer.issue(Party().did, claims={"scope": ["orders:read"]})
        assert isinstance(vc, dict) and vc["proof"]["cryptosuite"] == EXPECTED[key_type]
        written = await issuer.publish(tmp_path / "site")  # the lists, signed by the issuer's key
        lists = [json.loads(p.read_text()) for p in written if "status" in str(p)]
        assert lists and all(sl["proof"]["cryptosuite"] == EXPECTED[key_type] for sl in lists)
        async with Verifier(allow_http=True, allow_loopback=True, policy=trusting(issuer.did)) as verifier:
            assert (await verifier.verify_credential(vc)).verified  # the lists served by `serve`
            await issuer.revoke(vc["id"])
            verifier.status.clear()
            refused = await verifier.verify_credential(vc)
        assert [code for code, _ in refused.problems] == ["CREDENTIAL_REVOKED_ERROR"]


async def test_an_issuer_refuses_a_key_that_cannot_sign_its_status_lists(tmp_path: Path) -> None:
    with pytest.raises(IssuerError, match="secp256k1"):
        await Issuer.create(
            tmp_path / "issuer.db",
            passphrase="pw",
            kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1),
            base_url="https://status.example",
            key_type="secp256k1",
        )
    async with issuer_site(tmp_path) as (issuer, _):
        with pytest.raises(IssuerError, match="secp256k1"):
            await issuer.rotate_key("secp256k1")


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256", "P-384"])
async def test_a_did_key_issuer_of_each_key_type_end_to_end(tmp_path: Path, key_type: str) -> None:
    issuer = await Issuer.create(
        tmp_path / "issuer.db",
        passphrase="pw",
        kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1),
        base_url="https://status.example",
        key_type=key_type,
    )
    async with issuer:
        vc = await issuer.issue(Party().did, claims={"scope": ["orders:read"]})
        assert isinstance(vc, dict) and vc["proof"]["cryptosuite"] == EXPECTED[key_type]
        jwt = await issuer.issue(Party().did, securing="vc+jwt")  # named: it is what it says
        assert isinstance(jwt, str) and jwt.count(".") == 2
        fetcher = MemoryFetcher()

        async def publish() -> None:
            for path in await issuer.publish(tmp_path / "site"):
                list_id = path.name
                fetcher.add(
                    f"https://status.example/status/{list_id}",
                    path.read_bytes(),
                    content_type="application/vc+ld+json",
                )

        await publish()
        async with Verifier(fetcher=fetcher, policy=trusting(issuer.did)) as verifier:
            assert (await verifier.verify_credential(vc)).verified
            await issuer.revoke(vc["id"])
            await publish()
            verifier.status.clear()
            refused = await verifier.verify_credential(vc)
        assert [code for code, _ in refused.problems] == ["CREDENTIAL_REVOKED_ERROR"]
