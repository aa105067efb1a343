"""A fleet of verifiers sharing one Redis for replay protection and nonces (real redis-server).

Skipped with a reason when no server is reachable, unless DIDVC_REQUIRE_SERVICES is set (as in
CI, which installs and starts redis-server), where a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from didvc.errors import ReplayDetectedError
from resolvers import default_resolver
from tests.helpers import (
    NOW,
    Party,
    agent_credential,
    lasting_agent_credential,
    request_token,
    signed,
    trusting,
)
from verifier import RedisNonceStore, RedisReplayCache, Verifier

API = dict(audience="https://api.example", method="GET", url="https://api.example/orders")


def _fleet(client: Any, size: int, issuer: Party) -> list[Verifier]:
    prefix = f"didvc:test:{uuid.uuid4()}:"
    return [
        Verifier(
            resolver=default_resolver(),
            clock=lambda: NOW,
            replay_cache=RedisReplayCache(client, prefix=prefix),
            policy=trusting(issuer),
        )
        for _ in range(size)
    ]


async def test_replay_refused_across_verifiers(redis_client: Any) -> None:
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    token = await request_token(agent, [vc])
    first, second = _fleet(redis_client, 2, issuer)
    assert (await first.verify_presentation(token, **API)).verified
    again = await second.verify_presentation(token, **API)
    assert [c for c, _ in again.problems] == ["REPLAY_DETECTED_ERROR"]


async def test_fifty_concurrent_copies_across_a_fleet(redis_client: Any) -> None:
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    token = await request_token(agent, [vc])
    fleet = _fleet(redis_client, 5, issuer)
    results = await asyncio.gather(*(fleet[i % 5].verify_presentation(token, **API) for i in range(50)))
    assert sum(r.verified for r in results) == 1


async def test_concurrent_token_ids_travel_together_and_each_gets_its_own_answer(redis_client: Any) -> None:
    """Token ids asked for in one turn of the event loop go in one pipeline: 500 at once open a
    connection or two (not 500), each new id is accepted once, a repeat inside the same batch
    is refused, and a batch after a script flush (a restarted Redis) loads it again."""
    cache = RedisReplayCache(redis_client, prefix=f"didvc:test:{uuid.uuid4()}:")
    now = time.time()

    async def remember(key: str) -> bool:
        return await cache.remember(key, now + 60, now=now, issued_at=now)

    before = len(await redis_client.client_list())
    first = await asyncio.gather(*(remember(f"k{n}") for n in range(500)), remember("k7"))
    assert first[:500] == [True] * 500 and first[500] is False
    assert len(await redis_client.client_list()) - before <= 2
    await redis_client.script_flush()
    again = await asyncio.gather(*(remember(f"k{n}") for n in range(0, 500, 50)), remember("new"))
    assert again == [False] * 10 + [True]


async def test_each_id_of_a_batch_keeps_its_own_lifetime_and_issue_time(redis_client: Any) -> None:
    """One script call carries a batch's ids with each one's lifetime and issue time: each id
    expires on its own clock, and of one batch the tokens issued before the epoch (a Redis that
    lost its memory) are refused while the others are accepted."""
    prefix = f"didvc:test:{uuid.uuid4()}:"
    cache = RedisReplayCache(redis_client, prefix=prefix)
    now = time.time()
    lifetimes = [5, 60, 600, 30]
    first = await asyncio.gather(
        *(cache.remember(f"t{n}", now + s, now=now, issued_at=now) for n, s in enumerate(lifetimes))
    )
    assert first == [True] * 4
    for n, seconds in enumerate(lifetimes):
        left = await redis_client.pttl(f"{prefix}t{n}")
        assert seconds * 1000 - 2000 < left <= seconds * 1000 + 1
    await redis_client.set(prefix + "epoch", str(int((now - 10) * 1000)))  # memory since now - 10 s
    issued = [now - 60, now - 5, now - 30, now]
    answers = await asyncio.gather(
        *(cache.remember(f"u{n}", now + 60, now=now, issued_at=at) for n, at in enumerate(issued)),
        return_exceptions=True,
    )
    assert [type(a).__name__ for a in answers] == [
        "ReplayDetectedError",
        "bool",
        "ReplayDetectedError",
        "bool",
    ]
    assert answers[1] is True and answers[3] is True


async def test_a_clock_set_back_does_not_reopen_ids_that_left_redis(redis_client: Any) -> None:
    """A token's id leaves Redis when the token expires; a verifier whose clock is then set
    back (it ran ahead) sees the token unexpired again, and refuses it as issued before its new
    time, while a fresh token is accepted."""
    cache = RedisReplayCache(redis_client, prefix=f"didvc:test:{uuid.uuid4()}:")
    now = time.time()
    assert await cache.remember("early", now + 0.3, now=now, issued_at=now - 100) is True
    await asyncio.sleep(0.5)  # its id has left Redis
    assert await cache.remember("later", now + 60, now=now + 30, issued_at=now + 29) is True
    with pytest.raises(ReplayDetectedError, match="set back"):  # 25 s back: "early" looks alive
        await cache.remember("early", now + 0.3, now=now + 5, issued_at=now - 100)
    assert await cache.remember("fresh", now + 65, now=now + 5.5, issued_at=now + 5) is True


async def test_after_a_clock_step_back_an_earlier_token_is_refused_before_its_signature(
    redis_client: Any,
) -> None:
    """The clock-step refusal needs no round trip, so it comes before the signature, as the
    in-memory cache's does: a token from before the step costs a parse each time it is resent,
    not a signature. This one's signature is broken, and it is refused as a replay."""
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    moments = [NOW + timedelta(seconds=60)]  # the verifier's clock runs a minute ahead
    prefix = f"didvc:test:{uuid.uuid4()}:"

    def verifier(cache: RedisReplayCache) -> Verifier:
        return Verifier(
            resolver=default_resolver(), clock=lambda: moments[0], replay_cache=cache, policy=trusting(issuer)
        )

    stepped = verifier(RedisReplayCache(redis_client, prefix=prefix))
    ahead = await request_token(agent, [vc], now=moments[0] - timedelta(seconds=5))
    assert (await stepped.verify_presentation(ahead, **API)).verified
    moments[0] = NOW  # stepped back to the right time
    head, payload, signature = (await request_token(agent, [vc], now=NOW - timedelta(seconds=10))).split(".")
    broken = f"{head}.{payload}.{'A' * len(signature)}"
    assert _codes(await stepped.verify_presentation(broken, **API)) == ["REPLAY_DETECTED_ERROR"]
    unmoved = verifier(RedisReplayCache(redis_client, prefix=prefix))  # its clock never went back
    assert _codes(await unmoved.verify_presentation(broken, **API)) == ["CRYPTOGRAPHIC_SECURITY_ERROR"]


def _codes(result: Any) -> list[str]:
    return [p.code for p in result.problems]


async def test_unreachable_redis_fails_closed_as_could_not_check() -> None:
    redis = pytest.importorskip("redis.asyncio")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    verifier = Verifier(
        resolver=default_resolver(),
        clock=lambda: NOW,
        replay_cache=RedisReplayCache(client),
        policy=trusting(issuer),
    )
    result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
    assert not result.verified
    assert result.could_not_check
    await client.aclose()


async def test_shared_nonces_work_once(redis_client: Any) -> None:
    a = RedisNonceStore(redis_client, prefix=f"didvc:test:{uuid.uuid4()}:")
    nonce = await a.issue()
    assert await a.consume(nonce)
    assert not await a.consume(nonce)
    assert not await a.consume("never-issued")


class _OwnRedis:
    """A redis-server of this test's own, without persistence, that can be killed and restarted
    on the same port (what an operator's restart does to the verifiers' connections)."""

    def __init__(self, tmp_path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", *arguments, "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    time.sleep(1.1)  # Redis counts its uptime in whole seconds (see _started)
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[_OwnRedis]:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed"
        if os.environ.get("DIDVC_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    server = _OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("fresh_first", [True, False], ids=["fresh-first", "replay-first"])
async def test_a_redis_restart_without_persistence_does_not_reopen_replays(
    own_redis: _OwnRedis, fresh_first: bool
) -> None:
    issuer, agent = Party(), Party()
    vc = await lasting_agent_credential(issuer, agent.did, ["orders:read"])
    verifier = Verifier(
        resolver=default_resolver(),
        replay_cache=RedisReplayCache.from_url(own_redis.url),
        policy=trusting(issuer),
    )
    used = await request_token(agent, [vc], now=_now())
    assert (await verifier.verify_presentation(used, **API)).verified
    own_redis.kill()
    own_redis.start()  # empty: no persistence; the verifier's pooled connection is now stale
    fresh = await request_token(agent, [vc], now=_now())
    order = [(fresh, True), (used, False)] if fresh_first else [(used, False), (fresh, True)]
    for token, accepted in order:
        result = await verifier.verify_presentation(token, **API)
        assert result.verified is accepted, result.problems
        if not accepted:
            assert [p.code for p in result.problems] == ["REPLAY_DETECTED_ERROR"]
    again = await verifier.verify_presentation(fresh, **API)
    assert [p.code for p in again.problems] == ["REPLAY_DETECTED_ERROR"]
    await verifier.close()


async def test_a_redis_that_does_not_answer_is_its_own_code_within_a_second() -> None:
    """A host that accepts the connection and says nothing (a hung or partitioned Redis)."""
    pytest.importorskip("redis.asyncio")
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    cache = RedisReplayCache.from_url(f"redis://127.0.0.1:{port}/0")
    verifier = Verifier(
        resolver=default_resolver(), clock=lambda: NOW, replay_cache=cache, policy=trusting(issuer)
    )
    started = time.monotonic()
    result = await verifier.verify_presentation(await request_token(agent, [vc]), **API)
    elapsed = time.monotonic() - started
    assert [p.code for p in result.problems] == ["REPLAY_CACHE_UNAVAILABLE_ERROR"]
    assert result.could_not_check
    assert elapsed < 1.5, elapsed
    silent.close()


async def test_every_request_of_a_batch_is_bounded_by_the_cache_timeout() -> None:
    """A client with no socket timeout of its own and a silent Redis: the batch the requests
    share is bounded by the cache's timeout, once, and each of them gets the could-not-check
    code in that time (no timer per request)."""
    redis = pytest.importorskip("redis.asyncio")
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    cache = RedisReplayCache(redis.from_url(f"redis://127.0.0.1:{port}/0"), timeout=0.3)
    verifier = Verifier(
        resolver=default_resolver(), clock=lambda: NOW, replay_cache=cache, policy=trusting(issuer)
    )
    tokens = [await request_token(agent, [vc]) for _ in range(20)]
    started = time.monotonic()
    checks = asyncio.gather(*(verifier.verify_presentation(t, **API) for t in tokens))
    results = await asyncio.wait_for(checks, 5)  # unbounded, they would wait for ever
    elapsed = time.monotonic() - started
    assert {p.code for r in results for p in r.problems} == {"REPLAY_CACHE_UNAVAILABLE_ERROR"}
    assert 0.25 < elapsed < 0.9, elapsed
    silent.close()


async def test_the_middleware_answers_503_when_redis_is_down() -> None:
    pytest.importorskip("redis.asyncio")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    issuer, agent = Party(), Party()
    vc = await lasting_agent_credential(issuer, agent.did, ["orders:read"])
    verifier = Verifier(
        resolver=default_resolver(),
        replay_cache=RedisReplayCache.from_url(f"redis://127.0.0.1:{port}/0"),
        policy=trusting(issuer),
    )
    app = web.Application(
        middlewares=[verifier.middleware(audience=API["audience"], public_url=API["audience"])]
    )

    async def orders(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/orders", orders)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    token = await request_token(agent, [vc], now=_now())
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"http://127.0.0.1:{server.port}/orders", headers={"Authorization": f"VP {token}"}
        ) as response,
    ):
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
        assert (await response.json())["problems"][0]["code"] == "REPLAY_CACHE_UNAVAILABLE_ERROR"
    await server.close()
