"""did:web and status lists over real aiohttp servers on 127.0.0.1, and the network rules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from didvc.did import resolve_verification_method
from didvc.errors import DidvcError
from didvc.keys import KeyPair, KeySigner
from didvc.status import StatusList
from resolvers import FetchPolicy, GuardedFetcher, WebResolver, default_resolver
from tests.helpers import NOW, Party, agent_credential, request_token, signed, trusting
from verifier import Verifier

API = dict(audience="https://api.example", method="GET", url="https://api.example/orders")


class Site:
    """A loopback web server whose routes tests fill in; it counts the requests it gets."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.handlers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}
        self.hits: dict[str, int] = {}
        self.app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self.server = TestServer(self.app, host="127.0.0.1")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        handler = self.handlers.get(request.path)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    @property
    def did(self) -> str:
        return f"did:web:127.0.0.1%3A{self.port}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def json(
        self,
        path: str,
        document: Any,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(
                body=json.dumps(document).encode(), content_type=content_type, headers=headers
            )

        self.handlers[path] = handler


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    s = Site()
    await s.server.start_server()
    try:
        yield s
    finally:
        await s.server.close()


def _web_document(did: str, pair: KeyPair) -> dict[str, Any]:
    vm = f"{did}#key-1"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": pair.public_key.to_multikey(),
            }
        ],
        "assertionMethod": [vm],
        "authentication": [vm],
    }


def _loopback_resolver(**kwargs: Any) -> Any:
    resolver = default_resolver(allow_http=True, allow_loopback=True, **kwargs)
    _open.append(resolver)
    return resolver


# --- did:web ----------------------------------------------------------------------------------


async def test_did_web_resolves_over_loopback(site: Site) -> None:
    pair = KeyPair.generate()
    site.json("/.well-known/did.json", _web_document(site.did, pair))
    method = await resolve_verification_method(_loopback_resolver(), f"{site.did}#key-1", "assertionMethod")
    assert method.public_key == pair.public_key


async def test_did_web_with_path(site: Site) -> None:
    did = f"{site.did}:issuers:acme"
    site.json(
        "/issuers/acme/did.json", _web_document(did, KeyPair.generate()), content_type="application/did+json"
    )
    assert (await _loopback_resolver().resolve(did)).id == did


async def test_loopback_refused_without_the_allowance(site: Site) -> None:
    site.json("/.well-known/did.json", _web_document(site.did, KeyPair.generate()))
    resolver = WebResolver(policy=FetchPolicy(allow_http=True))
    _open.append(resolver)
    with pytest.raises(DidvcError) as info:
        await resolver.resolve(site.did)
    assert info.value.code == "forbiddenTarget"
    assert site.hits == {}  # refused before any connection


async def test_plain_http_refused_by_default(site: Site) -> None:
    resolver = WebResolver(policy=FetchPolicy(allow_loopback=True))
    _open.append(resolver)
    with pytest.raises(DidvcError):  # https to a plain-http server: refused or unreachable, never accepted
        await resolver.resolve(site.did)


@pytest.mark.parametrize(
    "did",
    [
        "did:web:169.254.169.254",
        "did:web:10.0.0.1",
        "did:web:192.168.1.1",
        "did:web:localhost",
        "did:web:0.0.0.0",
    ],
)
async def test_private_link_local_and_metadata_targets(did: str) -> None:
    resolver = WebResolver(policy=FetchPolicy(timeout=2))
    _open.append(resolver)
    with pytest.raises(DidvcError) as info:
        await resolver.resolve(did)
    assert info.value.code == "forbiddenTarget"


async def test_redirect_loop_and_redirect_to_private(site: Site) -> None:
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(site.url("/.well-known/did.json"))

    site.handlers["/.well-known/did.json"] = loop
    with pytest.raises(DidvcError) as info:
        await _loopback_resolver().resolve(site.did)
    assert info.value.code == "forbiddenTarget"
    assert site.hits["/.well-known/did.json"] == 4  # the first request and 3 redirects, no more

    async def to_metadata(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    site.handlers["/.well-known/did.json"] = to_metadata
    with pytest.raises(DidvcError) as info:
        await _loopback_resolver().resolve(site.did)
    assert info.value.code == "forbiddenTarget"


async def test_fifty_megabyte_document_refused(site: Site) -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * (1 << 20)
        try:
            for _ in range(50):
                await response.write(chunk)
        except (ConnectionResetError, ConnectionError):
            pass
        return response

    site.handlers["/.well-known/did.json"] = huge
    with pytest.raises(DidvcError) as info:
        await _loopback_resolver().resolve(site.did)
    assert info.value.code == "invalidDidDocument"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("wrong id", "invalidDidDocument"),
        ("html", "representationNotSupported"),
        ("not json", "invalidDidDocument"),
        ("missing", "notFound"),
        ("server error", "internalError"),
        ("relationship of lists", "invalidDidDocument"),
        ("huge number", "invalidDidDocument"),
        ("deep nesting", "invalidDidDocument"),
    ],
)
async def test_bad_documents(site: Site, setup: str, code: str) -> None:
    if setup == "relationship of lists":  # pydid raised AttributeError on this one
        site.json("/.well-known/did.json", {"id": site.did, "assertionMethod": [[], {}]})
    elif setup in ("huge number", "deep nesting"):
        text = (
            f'{{"id": "{site.did}", "n": 1e400}}'
            if setup == "huge number"
            else f'{{"id": "{site.did}", "x": {"[" * 5000}{"]" * 5000}}}'
        )

        async def raw(request: web.Request) -> web.Response:
            return web.Response(text=text, content_type="application/json")

        site.handlers["/.well-known/did.json"] = raw
    elif setup == "wrong id":
        site.json("/.well-known/did.json", _web_document("did:web:evil.example", KeyPair.generate()))
    elif setup == "html":
        site.json(
            "/.well-known/did.json", _web_document(site.did, KeyPair.generate()), content_type="text/html"
        )
    elif setup == "not json":

        async def bad(request: web.Request) -> web.Response:
            return web.Response(body=b"{nope", content_type="application/json")

        site.handlers["/.well-known/did.json"] = bad
    elif setup == "server error":

        async def boom(request: web.Request) -> web.Response:
            raise web.HTTPServiceUnavailable()

        site.handlers["/.well-known/did.json"] = boom
    with pytest.raises(DidvcError) as info:
        await _loopback_resolver().resolve(site.did)
    assert info.value.code == code
    assert info.value.could_not_check == (setup == "server error")


async def test_unreachable_host_is_could_not_check() -> None:
    # a port nothing listens on
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DidvcError) as info:
        await _loopback_resolver().resolve(f"did:web:127.0.0.1%3A{port}")
    assert info.value.could_not_check


async def test_slow_server_times_out(site: Site) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.json_response({})

    site.handlers["/.well-known/did.json"] = slow
    resolver = _loopback_resolver(timeout=0.3)
    with pytest.raises(DidvcError) as info:
        await resolver.resolve(site.did)
    assert info.value.could_not_check


async def test_concurrent_resolutions_make_one_fetch(site: Site) -> None:
    pair = KeyPair.generate()
    document = _web_document(site.did, pair)

    async def slowish(request: web.Request) -> web.Response:
        await asyncio.sleep(0.1)
        return web.json_response(document)

    site.handlers["/.well-known/did.json"] = slowish
    resolver = _loopback_resolver()
    results = await asyncio.gather(*(resolver.resolve(site.did) for _ in range(20)))
    assert {r.id for r in results} == {site.did}
    assert site.hits["/.well-known/did.json"] == 1


async def test_guarded_fetcher_rejects_odd_urls() -> None:
    fetcher = GuardedFetcher(FetchPolicy(allow_http=True, allow_loopback=True))
    for url in [
        "ftp://127.0.0.1/x",
        "http://user:pw@127.0.0.1/",
        "http://127.0.0.1:99999/",
        "http://[::ffff:10.0.0.1]/",
    ]:
        with pytest.raises(Exception) as info:
            await fetcher.fetch(url, accept=["application/json"], max_bytes=1024)
        assert getattr(info.value, "refused", False), url
    await fetcher.close()


# --- status lists -----------------------------------------------------------------------------


class StatusIssuer:
    """An issuer with a did:web on the site, publishing signed status lists there."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.pair = KeyPair.generate()
        self.did = site.did
        self.signer = KeySigner(self.pair, f"{self.did}#key-1")
        site.json("/.well-known/did.json", _web_document(self.did, self.pair))
        self.lists: dict[str, StatusList] = {}

    @property
    def party(self) -> Party:
        party = Party.__new__(Party)
        party.pair, party.did, party.key_id, party.signer = (
            self.pair,
            self.did,
            self.signer.key_id,
            self.signer,
        )
        return party

    async def publish(
        self,
        name: str,
        purpose: str,
        *,
        signer: KeySigner | None = None,
        ttl_ms: int = 300_000,
        headers: dict[str, str] | None = None,
        issuer: str | None = None,
        signed_list: bool = True,
    ) -> str:
        status = self.lists.setdefault(name, StatusList())
        url = self.site.url(f"/status/{name}")
        document = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer or self.did,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": status.encode(),
                "ttl": ttl_ms,
            },
        }
        if signed_list:
            from didvc.proofs import add_proof

            document = await add_proof(document, signer or self.signer, created=NOW)
        self.site.json(f"/status/{name}", document, content_type="application/vc+ld+json", headers=headers)
        return url

    def entry(self, name: str, purpose: str, index: int) -> dict[str, Any]:
        url = self.site.url(f"/status/{name}")
        return {
            "id": f"{url}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": url,
        }


async def _credential_with_status(issuer: StatusIssuer, agent: Party, index: int = 7) -> dict[str, Any]:
    body = agent_credential(issuer.party, agent.did, ["orders:read"])
    body["credentialStatus"] = [
        issuer.entry("rev", "revocation", index),
        issuer.entry("sus", "suspension", index),
    ]
    return await signed(body, issuer.party)


_open: list[Any] = []


@pytest.fixture(autouse=True)
async def close_sessions() -> AsyncIterator[None]:
    yield
    while _open:
        await _open.pop().close()


def _network_verifier(*trusted: Any, **kwargs: Any) -> Verifier:
    kwargs.setdefault("policy", trusting(*trusted))
    verifier = Verifier(clock=lambda: NOW, allow_http=True, allow_loopback=True, **kwargs)
    _open.append(verifier)
    return verifier


async def test_status_lists_revocation_and_suspension(site: Site) -> None:
    issuer, agent = StatusIssuer(site), Party()
    await issuer.publish("rev", "revocation")
    await issuer.publish("sus", "suspension")
    vc = await _credential_with_status(issuer, agent)
    verifier = _network_verifier(issuer.did)
    result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
    assert result.verified, result.problems

    issuer.lists["sus"].set(7, 1)
    await issuer.publish("sus", "suspension")
    verifier.status.clear()
    result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
    assert [c for c, _ in result.problems] == ["CREDENTIAL_SUSPENDED_ERROR"]

    issuer.lists["sus"].set(7, 0)
    issuer.lists["rev"].set(7, 1)
    await issuer.publish("sus", "suspension")
    await issuer.publish("rev", "revocation")
    verifier.status.clear()
    result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
    assert [c for c, _ in result.problems] == ["CREDENTIAL_REVOKED_ERROR"]
    await verifier.close()


async def test_status_list_cache_honours_ttl(site: Site) -> None:
    issuer, agent = StatusIssuer(site), Party()
    await issuer.publish("rev", "revocation", ttl_ms=300_000)
    await issuer.publish("sus", "suspension", headers={"Cache-Control": "max-age=0"})
    vc = await _credential_with_status(issuer, agent)
    verifier = _network_verifier(issuer.did)
    for _ in range(3):
        assert (await verifier.verify_presentation(await request_token(agent, [vc]), **API)).verified
    assert site.hits["/status/rev"] == 1  # cached for its ttl
    assert site.hits["/status/sus"] == 3  # max-age=0: fetched every time
    await verifier.close()


@pytest.mark.parametrize("case", ["unsigned", "foreign issuer", "signed by another key", "purpose mismatch"])
async def test_untrustworthy_status_lists(site: Site, case: str) -> None:
    issuer, agent = StatusIssuer(site), Party()
    await issuer.publish("sus", "suspension")
    if case == "unsigned":
        await issuer.publish("rev", "revocation", signed_list=False)
    elif case == "foreign issuer":
        other = Party()
        await issuer.publish("rev", "revocation", signer=other.signer, issuer=other.did)
    elif case == "signed by another key":
        await issuer.publish("rev", "revocation", signer=Party().signer)
    else:
        await issuer.publish("rev", "suspension")
    vc = await _credential_with_status(issuer, agent)
    result = await _network_verifier(issuer.did).verify_presentation(await request_token(agent, [vc]), **API)
    assert [c for c, _ in result.problems] == ["STATUS_VERIFICATION_ERROR"]
    assert not result.could_not_check


async def test_unreachable_status_list_fails_closed_unless_policy_says_open(site: Site) -> None:
    issuer, agent = StatusIssuer(site), Party()
    await issuer.publish("sus", "suspension")

    async def down(request: web.Request) -> web.Response:
        raise web.HTTPBadGateway()

    site.handlers["/status/rev"] = down
    vc = await _credential_with_status(issuer, agent)
    result = await _network_verifier(issuer.did).verify_presentation(await request_token(agent, [vc]), **API)
    assert [c for c, _ in result.problems] == ["STATUS_RETRIEVAL_ERROR"]
    assert result.could_not_check
    relaxed = _network_verifier(policy=trusting(issuer.did, status_fail_open=True))
    open_result = await relaxed.verify_presentation(await request_token(agent, [vc]), **API)
    assert open_result.verified and open_result.problems == []
    assert [c for c, _ in open_result.warnings] == ["STATUS_RETRIEVAL_ERROR"]
    assert open_result.could_not_check  # the API can tell that the status was never checked
    assert open_result.to_json()["couldNotCheck"] is True


async def test_status_list_at_private_address_not_fetched(site: Site) -> None:
    issuer, agent = StatusIssuer(site), Party()
    body = agent_credential(issuer.party, agent.did, ["orders:read"])
    body["credentialStatus"] = {
        "id": "http://169.254.169.254/status#1",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "1",
        "statusListCredential": "http://169.254.169.254/status",
    }
    vc = await signed(body, issuer.party)
    result = await _network_verifier(issuer.did).verify_presentation(await request_token(agent, [vc]), **API)
    assert [c for c, _ in result.problems] == ["STATUS_VERIFICATION_ERROR"]


async def test_did_web_issuer_key_retired(site: Site) -> None:
    issuer, agent = StatusIssuer(site), Party()
    await issuer.publish("rev", "revocation")
    await issuer.publish("sus", "suspension")
    vc = await _credential_with_status(issuer, agent)
    verifier = _network_verifier(issuer.did)
    assert (await verifier.verify_presentation(await request_token(agent, [vc]), **API)).verified
    # the operator retires key-1: the document now lists only a new key-2
    rotated = json.loads(
        json.dumps(_web_document(issuer.did, KeyPair.generate())).replace("#key-1", "#key-2")
    )
    site.json("/.well-known/did.json", rotated)
    result = await _network_verifier(issuer.did).verify_presentation(await request_token(agent, [vc]), **API)
    assert [c for c, _ in result.problems] == ["INVALID_VERIFICATION_METHOD"]
