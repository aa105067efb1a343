"""Revocation in about a second: an issuer's event stream, conditional polling, and a fleet
sharing what it learned through Redis (real servers on 127.0.0.1, real Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer import Issuer
from tests.helpers import Party, issuer_site, request_token, trusting
from verifier import RedisStatusChannel, StatusEventStream, Verifier


class Served:
    def __init__(self, issuer: Issuer, server: TestServer, path: Path) -> None:
        self.issuer = issuer
        self.server = server
        self.path = path
        self.base = f"http://127.0.0.1:{server.port}"
        self.events = f"{self.base}/status/events"

    def verifier(self, **options: Any) -> Verifier:
        return Verifier(allow_http=True, allow_loopback=True, policy=trusting(self.issuer.did), **options)

    async def revoke_elsewhere(self, credential_id: str) -> None:
        """As ``didvc issuer revoke`` does: another process, the same store."""
        async with await Issuer.open(self.path, passphrase="pw") as operator:
            await operator.revoke(credential_id)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with issuer_site(tmp_path) as (issuer, server):
        yield Served(issuer, server, tmp_path / "issuer.db")


async def _codes(verifier: Verifier, credential: Any) -> list[str]:
    return [code for code, _ in (await verifier.verify_credential(credential)).problems]


async def _until_refused(verifier: Verifier, credential: Any, limit: float = 3.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if await _codes(verifier, credential) == ["CREDENTIAL_REVOKED_ERROR"]:
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError("still accepted")


async def test_a_revocation_reaches_a_following_verifier_in_about_a_second(served: Served) -> None:
    vc = await served.issuer.issue(Party().did)
    verifier = served.verifier()
    await verifier.start_status_updates(events=[served.events])
    await asyncio.wait_for(verifier.event_streams[0].connected.wait(), 5)
    assert await _codes(verifier, vc) == []  # the list is cached now, for its ttl of 5 minutes
    started = time.monotonic()
    await served.revoke_elsewhere(vc["id"])  # type: ignore[index]
    assert await _until_refused(verifier, vc) + (time.monotonic() - started) < 1.0
    await verifier.close()


async def test_a_settled_presentation_reads_its_status_again_once_the_list_changes(served: Served) -> None:
    """The settled fast path keeps a credential's status outcome while its list is the one
    cached, and reads the new list as soon as it is fetched again (here: an event's doing)."""
    agent = Party()
    vc = await served.issuer.issue(agent.did)
    url = vc["credentialStatus"][0]["statusListCredential"]  # type: ignore[index]
    verifier = served.verifier()
    request = {"audience": "https://api.example", "method": "GET", "url": "https://api.example/orders"}

    async def codes() -> list[str]:
        token = await request_token(agent, [vc], now=datetime.now(UTC))
        return [code for code, _ in (await verifier.verify_presentation(token, **request)).problems]

    assert await codes() == [] and await codes() == [] and len(verifier._settled) == 1
    await served.revoke_elsewhere(vc["id"])  # type: ignore[index]
    assert await codes() == []  # the list cached for its ttl still says valid
    verifier.status.invalidate(url)  # what an event from the issuer does
    assert await codes() == ["CREDENTIAL_REVOKED_ERROR"]
    await verifier.close()


async def test_without_following_the_bound_is_the_lists_ttl(served: Served) -> None:
    vc = await served.issuer.issue(Party().did)
    verifier = served.verifier()
    assert await _codes(verifier, vc) == []
    await served.revoke_elsewhere(vc["id"])  # type: ignore[index]
    await asyncio.sleep(0.5)
    assert await _codes(verifier, vc) == []  # cached, as its ttl allows
    await verifier.close()


async def test_the_event_stream_announces_changes_from_another_process(served: Served) -> None:
    vc = await served.issuer.issue(Party().did)
    url = vc["credentialStatus"][0]["statusListCredential"]  # type: ignore[index]
    async with aiohttp.ClientSession() as http, http.get(served.events) as response:
        assert response.content_type == "text/event-stream"
        assert (await response.content.readline()).startswith(b":")
        await response.content.readline()
        await asyncio.sleep(0.3)  # the watcher has read the versions
        await served.revoke_elsewhere(vc["id"])  # type: ignore[index]
        lines = [await asyncio.wait_for(response.content.readline(), 2) for _ in range(3)]
    assert lines[0] == b"event: status\n"
    assert lines[2].startswith(b"data: ") and url.encode() in lines[2]


async def test_a_list_made_and_changed_between_two_looks_is_announced(served: Served) -> None:
    """The watcher reads the versions every 0.2 s; a list created and changed in between is
    new to it and not at version 0: changed."""
    async with aiohttp.ClientSession() as http, http.get(served.events) as response:
        await response.content.readline()
        await response.content.readline()
        await asyncio.sleep(0.3)  # the watcher has seen: no list at all
        vc = await served.issuer.issue(Party().did)
        await served.issuer.revoke(vc["id"])  # type: ignore[index]
        lines = [await asyncio.wait_for(response.content.readline(), 2) for _ in range(3)]
    assert lines[0] == b"event: status\n" and b"/status/1" in lines[2]


async def test_lists_carry_an_etag_and_a_poll_of_an_unchanged_list_is_a_304(served: Served) -> None:
    vc = await served.issuer.issue(Party().did)
    url = vc["credentialStatus"][0]["statusListCredential"]  # type: ignore[index]
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            etag = response.headers["ETag"]
            assert etag.startswith('W/"')
        served.issuer.status_ttl_ms = 0  # re-signed on every request: a new proof, the same list
        async with http.get(url, headers={"If-None-Match": etag}) as response:
            assert response.status == 304 and await response.read() == b""
        await served.issuer.revoke(vc["id"])  # type: ignore[index]  # its entry is on this list
        async with http.get(url, headers={"If-None-Match": etag}) as response:
            assert response.status == 200 and response.headers["ETag"] != etag


async def test_hostile_event_streams_cost_at_most_a_fetch(served: Served) -> None:
    """Events naming lists elsewhere are ignored; an endless line ends the connection, which
    is opened again (and every list from there is forgotten, as on any reconnection)."""
    evil = web.Application()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = f"http://127.0.0.1:{request.url.port}"
        for url in ("http://elsewhere.example/status/1", f"{base}/other/1", f"{base}/status/7"):
            await response.write(b'event: status\ndata: {"statusListCredential": "%s"}\n\n' % url.encode())
        await response.write(b"data: " + b"x" * 10_000)
        await asyncio.sleep(5)
        return response

    evil.router.add_get("/status/events", stream)
    server = TestServer(evil, host="127.0.0.1")
    await server.start_server()
    changed: list[str] = []
    missed: list[str] = []
    verifier = served.verifier()
    verifier._status_changed = changed.append  # type: ignore[method-assign]
    verifier._status_missed = missed.append  # type: ignore[method-assign]
    await verifier.start_status_updates(events=[f"http://127.0.0.1:{server.port}/status/events"])
    await asyncio.sleep(0.6)
    prefix = f"http://127.0.0.1:{server.port}/status/"
    assert set(changed) == {prefix + "7"}  # only the list next to the stream
    assert len(missed) >= 2 and set(missed) == {prefix}  # connected, cut off, connected again
    await verifier.close()
    await server.close()


async def test_one_follower_tells_the_whole_fleet_through_redis(served: Served, redis_client: Any) -> None:
    vc = await served.issuer.issue(Party().did)
    channel = f"didvc:test:{os.urandom(4).hex()}"
    follower = served.verifier(status_channel=RedisStatusChannel(redis_client, channel=channel))
    others = [
        served.verifier(status_channel=RedisStatusChannel(redis_client, channel=channel)) for _ in range(2)
    ]
    await follower.start_status_updates(events=[served.events])
    for other in others:
        await other.start_status_updates()  # no stream of their own: only the channel
    await asyncio.wait_for(follower.event_streams[0].connected.wait(), 5)
    for other in others:
        await asyncio.wait_for(other.status_channel.subscribed.wait(), 5)  # type: ignore[union-attr]
    for verifier in (follower, *others):
        assert await _codes(verifier, vc) == []
    started = time.monotonic()
    await served.revoke_elsewhere(vc["id"])  # type: ignore[index]
    for verifier in (follower, *others):
        await _until_refused(verifier, vc)
    assert time.monotonic() - started < 1.0
    for verifier in (follower, *others):
        await verifier.close()


class _Body:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.binary(max_size=600) | st.sampled_from([b"\n", b"event: status\n", b"data: {}\n\n"]), max_size=40
    )
)
def test_the_event_parser_takes_any_bytes(chunks: list[bytes]) -> None:
    changed: list[str] = []
    stream = StatusEventStream(
        "https://issuer.example/status/events", None, changed=changed.append, missed=lambda prefix: None
    )
    with contextlib.suppress(ValueError, ConnectionError):  # too long, or the stream's end
        asyncio.run(stream._read(_Body(chunks)))
    assert all(url.startswith("https://issuer.example/status/") for url in changed)


async def test_revoke_all_takes_effect_at_once_for_a_following_verifier(served: Served) -> None:
    agent = Party().did
    credentials = [await served.issuer.issue(agent) for _ in range(3)]
    verifier = served.verifier()
    await verifier.start_status_updates(events=[served.events])
    await asyncio.wait_for(verifier.event_streams[0].connected.wait(), 5)
    for vc in credentials:
        assert await _codes(verifier, vc) == []
    started = time.monotonic()
    async with await Issuer.open(served.path, passphrase="pw") as operator:  # `didvc issuer revoke-all`
        assert len(await operator.revoke_all(agent)) == 3
    for vc in credentials:
        await _until_refused(verifier, vc)
    assert time.monotonic() - started < 1.0
    await verifier.close()
