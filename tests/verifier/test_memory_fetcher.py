"""The MemoryFetcher test double: a did:web issuer and its status lists served from memory, as
an API built on didvc would test its verifier without a network."""

from __future__ import annotations

from typing import Any

from didvc.keys import KeyPair, KeySigner
from didvc.proofs import add_proof
from didvc.status import StatusList
from resolvers import MemoryFetcher
from tests.helpers import NOW, Party, agent_credential, request_token, signed, trusting
from verifier import Verifier

API = dict(audience="https://api.example", method="GET", url="https://api.example/orders")
DID = "did:web:issuer.example"
LIST_URL = "https://issuer.example/status/1"


def _issuer(fetcher: MemoryFetcher) -> Party:
    party = Party.__new__(Party)
    party.pair = KeyPair.generate()
    party.did = DID
    party.key_id = f"{DID}#key-1"
    party.signer = KeySigner(party.pair, party.key_id)
    method = {
        "id": party.key_id,
        "type": "Multikey",
        "controller": DID,
        "publicKeyMultibase": party.pair.public_key.to_multikey(),
    }
    document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID,
        "verificationMethod": [method],
        "assertionMethod": [party.key_id],
    }
    fetcher.add("https://issuer.example/.well-known/did.json", document, content_type="application/did+json")
    return party


async def _publish(fetcher: MemoryFetcher, issuer: Party, bits: StatusList) -> None:
    list_credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": DID,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": bits.encode(),
        },
    }
    signed_list = await add_proof(list_credential, issuer.signer, created=NOW)
    fetcher.add(LIST_URL, signed_list, content_type="application/vc+ld+json")


async def _credential(issuer: Party, agent: Party) -> dict[str, Any]:
    body = agent_credential(issuer, agent.did, ["orders:read"])
    body["credentialStatus"] = {
        "id": f"{LIST_URL}#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": LIST_URL,
    }
    return await signed(body, issuer)


async def test_did_web_and_status_lists_from_memory() -> None:
    fetcher = MemoryFetcher()
    issuer, agent, bits = _issuer(fetcher), Party(), StatusList()
    await _publish(fetcher, issuer, bits)
    vc = await _credential(issuer, agent)
    async with Verifier(fetcher=fetcher, policy=trusting(DID), clock=lambda: NOW) as verifier:
        for _ in range(3):
            result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
            assert result.verified, result.problems
        assert fetcher.hits == {"https://issuer.example/.well-known/did.json": 1, LIST_URL: 1}

        bits.set(7, 1)
        await _publish(fetcher, issuer, bits)
        verifier.status.clear()
        result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
        assert [code for code, _ in result.problems] == ["CREDENTIAL_REVOKED_ERROR"]

        fetcher.remove(LIST_URL)  # the list's host goes away
        verifier.status.clear()
        result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
        assert [code for code, _ in result.problems] == ["STATUS_RETRIEVAL_ERROR"]


async def test_a_missing_list_could_not_be_checked_and_a_huge_one_is_refused() -> None:
    fetcher = MemoryFetcher()
    issuer, agent = _issuer(fetcher), Party()
    vc = await _credential(issuer, agent)
    async with Verifier(fetcher=fetcher, policy=trusting(DID), clock=lambda: NOW) as verifier:
        result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
        assert [code for code, _ in result.problems] == ["STATUS_RETRIEVAL_ERROR"]
        assert result.could_not_check

        fetcher.add(LIST_URL, b"{" + b" " * (5 << 20) + b"}", content_type="application/vc+ld+json")
        result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
        assert [code for code, _ in result.problems] == ["STATUS_VERIFICATION_ERROR"]
        assert not result.could_not_check


async def test_a_did_document_of_the_wrong_media_type_is_not_supported() -> None:
    fetcher = MemoryFetcher()
    issuer, agent = _issuer(fetcher), Party()
    fetcher.add("https://issuer.example/.well-known/did.json", "<html/>", content_type="text/html")
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    async with Verifier(fetcher=fetcher, policy=trusting(DID), clock=lambda: NOW) as verifier:
        result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
    assert [code for code, _ in result.problems] == ["representationNotSupported"]


async def test_an_expired_list_with_an_etag_is_revalidated() -> None:
    """A 304 keeps the verified copy: even a body that no longer verifies is not read again."""
    fetcher = MemoryFetcher()
    issuer, agent = _issuer(fetcher), Party()
    await _publish(fetcher, issuer, StatusList())
    signed_list = (await fetcher.fetch(LIST_URL, accept=["application/vc+ld+json"], max_bytes=1 << 20)).body
    headers = {"ETag": 'W/"1.0"', "Cache-Control": "max-age=0"}  # expires at once: asked again
    fetcher.add(LIST_URL, signed_list, content_type="application/vc+ld+json", headers=headers)
    vc = await _credential(issuer, agent)
    async with Verifier(fetcher=fetcher, policy=trusting(DID), clock=lambda: NOW) as verifier:
        assert (await verifier.verify_credential(vc)).verified
        fetcher.add(LIST_URL, b"not even json", content_type="application/vc+ld+json", headers=headers)
        for _ in range(3):
            result = await verifier.verify_credential(vc)
            assert result.verified, result.problems
        assert fetcher.hits[LIST_URL] == 1 + 1 + 3  # the read above, the first check, three 304s
        fetcher.add(
            LIST_URL, b"not even json", content_type="application/vc+ld+json", headers={"ETag": 'W/"1.1"'}
        )
        result = await verifier.verify_credential(vc)  # changed: fetched and verified again
        assert [code for code, _ in result.problems] == ["STATUS_VERIFICATION_ERROR"]


async def test_the_did_cache_is_sized_with_the_other_caches() -> None:
    """cache_size bounds the DID documents as it bounds the proofs (an agent whose proof is
    cached must not pay a resolution per request), and so does cache_bytes: a quarter of it
    for documents, each counted at its estimated size."""
    fetcher = MemoryFetcher()
    dids = [f"did:web:agents.example:a{n}" for n in range(3)]
    for did in dids:
        pair = KeyPair.generate()
        fetcher.add(
            f"https://agents.example/{did.rsplit(':', 1)[1]}/did.json",
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "verificationMethod": [
                    {
                        "id": f"{did}#k",
                        "type": "Multikey",
                        "controller": did,
                        "publicKeyMultibase": pair.public_key.to_multikey(),
                    }
                ],
            },
            content_type="application/did+json",
        )
    first = f"https://agents.example/{dids[0].rsplit(':', 1)[1]}/did.json"
    async with Verifier(fetcher=fetcher, policy=trusting(DID)) as probe:
        document_size = (await probe.resolver.resolve(dids[0])).size
    for sizing, fetched_again in (
        ({"cache_size": 2}, True),
        ({"cache_size": 3}, False),
        ({"cache_bytes": 4 * 16 * document_size}, False),  # a quarter holds 16 of them
        ({"cache_bytes": 4 * 15 * document_size}, True),  # one is above a sixteenth: none kept
    ):
        fetcher.hits.clear()
        async with Verifier(fetcher=fetcher, policy=trusting(DID), **sizing) as verifier:
            for did in (*dids, dids[0]):
                await verifier.resolver.resolve(did)
        assert (fetcher.hits[first] == 2) is fetched_again, sizing
