"""The in-process replay cache: each id until its token expires, bounded in all and per holder,
failing closed when full, swept a second at a time."""

from __future__ import annotations

import asyncio
import math
import tracemalloc

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from didvc.errors import ReplayCacheError, ReplayDetectedError
from resolvers import default_resolver
from tests.helpers import NOW, Party, agent_credential, request_token, signed, trusting
from verifier import MemoryReplayCache, Verifier

T0 = 1_800_000_000.0
API = dict(audience="https://api.example", method="GET", url="https://api.example/orders")


def _remember(cache: MemoryReplayCache, key: str, lifetime: float, now: float) -> bool | str:
    try:
        return asyncio.run(cache.remember(key, now + lifetime, now=now, issued_at=now))
    except ReplayCacheError:
        return "full"


def test_an_id_is_refused_until_its_token_expires_then_swept() -> None:
    cache = MemoryReplayCache()
    assert _remember(cache, "did:a|1", 60, T0) is True
    assert _remember(cache, "did:a|1", 60, T0 + 59.9) is False
    assert _remember(cache, "did:b|2", 1, T0 + 61) is True  # a second later: the first is swept
    assert len(cache) == 1
    assert _remember(cache, "did:a|1", 60, T0 + 61) is True  # expired: its token cannot be used


def test_one_holder_cannot_fill_the_cache_for_everyone() -> None:
    """A holder alone fills at most half the cache: from there on its new tokens are refused as
    a full cache refuses them, another holder's are accepted (up to their own share), and once
    the first holder's tokens expire it is accepted again."""
    cache = MemoryReplayCache(max_entries=10, max_per_holder=2)
    answers = [_remember(cache, f"did:greedy|{n}", 300, T0) for n in range(8)]
    assert answers == [True] * 5 + ["full"] * 3  # nobody refused below half full
    assert [_remember(cache, f"did:other|{n}", 300, T0) for n in range(3)] == [True, True, "full"]
    assert [_remember(cache, f"did:third|{n}", 300, T0) for n in range(2)] == [True, True]
    assert _remember(cache, "did:greedy|0", 300, T0 + 1) is False  # still a replay, not "full"
    assert _remember(cache, "did:greedy|9", 300, T0 + 301) is True


def test_a_full_cache_refuses_everyone_until_ids_expire() -> None:
    cache = MemoryReplayCache(max_entries=4, max_per_holder=4)
    for n in range(4):
        assert _remember(cache, f"did:h{n}|x", 10 + n, T0) is True
    assert _remember(cache, "did:new|x", 10, T0 + 5) == "full"
    assert _remember(cache, "did:new|x", 10, T0 + 11) is True  # the first expired and was swept
    assert len(cache) == 4


def test_the_clock_leaping_forward_sweeps_without_walking_every_second() -> None:
    cache = MemoryReplayCache()
    assert _remember(cache, "did:a|1", 60, T0) is True
    assert _remember(cache, "did:a|2", 60, T0 + 3e10) is True  # a thousand years on, at once
    assert len(cache) == 1


def test_an_expiry_that_is_no_finite_number_is_kept_not_raised() -> None:
    cache = MemoryReplayCache()
    for key, expires in (("did:a|inf", float("inf")), ("did:a|big", 1e300)):
        assert asyncio.run(cache.remember(key, expires, now=T0, issued_at=T0)) is True
        assert asyncio.run(cache.remember(key, expires, now=T0 + 1e9, issued_at=T0)) is False
    assert len(cache) == 2
    assert asyncio.run(cache.remember("did:b|1", 2e10 + 60, now=2e10, issued_at=2e10)) is True
    assert len(cache) == 1  # past the last second ids are filed under, they are swept too


async def test_an_id_costs_a_hash_not_its_key() -> None:
    """What is held of an id is its key's hash, filed by second: under 130 bytes an id (about
    95 at a million; the key itself, kept, was 200)."""
    cache = MemoryReplayCache()
    holders = [f"did:key:z6Mk{n:044d}" for n in range(100)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(100_000):
            now = T0 + n / 1000
            await cache.remember(f"{holders[n % 100]}|{n:022d}", now + 300, now=now, issued_at=now)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == 100_000
    assert used / len(cache) < 130


class _Colliding(str):
    """A key whose hash is fixed: two of them are two keys of one hash."""

    def __hash__(self) -> int:
        return 42


def test_two_keys_of_one_hash_are_a_refusal_never_an_acceptance() -> None:
    cache = MemoryReplayCache()
    assert _remember(cache, _Colliding("did:a|1"), 60, T0) is True
    assert cache.seen(_Colliding("did:b|2"), now=T0) is True
    assert _remember(cache, _Colliding("did:b|2"), 60, T0) is False
    assert len(cache) == 1


def test_a_holder_refused_for_a_full_cache_is_not_kept() -> None:
    cache = MemoryReplayCache(max_entries=2, max_per_holder=2)
    assert [_remember(cache, f"did:a|{n}", 60, T0) for n in range(2)] == [True, True]
    for n in range(50):
        assert _remember(cache, f"did:other{n}|1", 60, T0) == "full"
    assert list(cache._holders) == ["did:a"]
    assert _remember(cache, "did:late|1", 60, T0 + 61) is True  # both swept, and their holder
    assert list(cache._holders) == ["did:late"]


async def test_once_begun_a_token_issued_before_is_refused() -> None:
    """A server's cache refuses tokens issued before it started (less the second before), and
    an earlier start said later does not move that back."""
    cache = MemoryReplayCache()
    assert await cache.remember("did:a|old", T0 + 60, now=T0, issued_at=T0 - 3600) is True  # not begun
    cache.begin(T0 + 0.7)
    cache.begin(T0 - 100)
    assert await cache.remember("did:a|1", T0 + 60, now=T0 + 1, issued_at=T0 - 1) is True
    with pytest.raises(ReplayDetectedError, match="restarted"):
        await cache.remember("did:a|2", T0 + 60, now=T0 + 1, issued_at=T0 - 1.01)
    assert len(cache) == 2
    load_test = MemoryReplayCache(refuse_earlier_tokens=False)  # tokens all signed beforehand
    load_test.begin(T0 + 0.7)
    assert await load_test.remember("did:a|2", T0 + 60, now=T0 + 1, issued_at=T0 - 3600) is True


async def test_a_clock_set_back_neither_reopens_swept_ids_nor_stops_the_sweep() -> None:
    """Set back 70 s, the clock makes a swept token look unexpired again: it is refused, as
    after a restart, while a fresh token is accepted; and ids are swept from the new time on
    instead of piling up until the clock catches up."""
    cache = MemoryReplayCache()
    assert await cache.remember("did:a|early", T0 + 60, now=T0, issued_at=T0) is True
    assert await cache.remember("did:b|later", T0 + 130, now=T0 + 100, issued_at=T0 + 70) is True
    assert len(cache) == 1  # the early one swept
    with pytest.raises(ReplayDetectedError):  # T0 + 30 is before its expiry again
        await cache.remember("did:a|early", T0 + 60, now=T0 + 30, issued_at=T0)
    assert await cache.remember("did:a|fresh", T0 + 40, now=T0 + 30, issued_at=T0 + 30) is True
    assert cache.seen("did:b|later", now=T0 + 30.5)
    assert await cache.remember("did:c|1", T0 + 90, now=T0 + 45, issued_at=T0 + 45) is True
    assert len(cache) == 2  # the fresh one swept at T0 + 45; the later one still held


def test_sizes_are_at_least_one() -> None:
    with pytest.raises(ValueError):
        MemoryReplayCache(max_entries=0)
    with pytest.raises(ValueError):
        MemoryReplayCache(max_per_holder=0)


_STEP = st.tuples(
    st.sampled_from(["did:a", "did:b", "did:c"]),
    st.integers(0, 5),  # the token id
    st.floats(0.1, 6.0),  # its lifetime
    st.floats(-3.0, 2.5),  # how far the clock moves first (back, at times)
    st.floats(0.0, 2.5),  # how long before now the token was issued
    st.booleans(),  # whether the server says it starts serving now
)


def _answer(cache: MemoryReplayCache, key: str, lifetime: float, now: float, issued: float) -> bool | str:
    try:
        return asyncio.run(cache.remember(key, now + lifetime, now=now, issued_at=issued))
    except ReplayCacheError:
        return "full"
    except ReplayDetectedError:
        return "issued before"


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(_STEP, max_size=60), limit=st.integers(1, 8), share=st.integers(1, 5))
@example(  # a second back, an id that expires behind the sweep: it was never swept (CI found it)
    steps=[
        ("did:a", 0, 1.0, 0.0, 0.0, False),
        ("did:a", 1, 0.5, -1.0, 0.0, False),
        ("did:a", 2, 1.0, 2.0, 0.0, False),
    ],
    limit=2,
    share=2,
)
def test_the_cache_answers_as_a_model_of_its_rules(
    steps: list[tuple[str, int, float, float, float, bool]], limit: int, share: int
) -> None:
    """Against a plain model: an id is held, counted and refused as a replay until the clock
    enters the second after the one its token expires in, or after the one last swept when the
    clock is a little behind it (``seen`` says so before ``remember``,
    without storing anything); a new id is refused when the cache holds ``limit``, or half that
    and its holder ``share``; once begun, or once the clock went back more than a second, a
    token issued before that moment less a second is refused, and the sweep goes on from there."""
    cache = MemoryReplayCache(max_entries=limit, max_per_holder=share)
    model: dict[str, int] = {}  # each id's second: its expiry's, or the one last swept if later
    now, swept, epoch = T0, 0, -math.inf
    for holder, token, lifetime, advance, lag, begins in steps:
        now += advance
        key = f"{holder}|{token}"
        if begins:
            cache.begin(now)
            epoch = max(epoch, math.floor(now) - 1)
        if now >= swept + 1:
            swept = int(now)
            model = {k: second for k, second in model.items() if second >= swept}  # swept
        elif now < swept - 1:  # set back: begun anew
            epoch, swept = max(epoch, math.floor(now) - 1), int(now)
        its_own = sum(k.partition("|")[0] == holder for k in model)
        if now - lag < epoch:  # seen refuses it as remember does, before any signature
            with pytest.raises(ReplayDetectedError):
                cache.seen(key, now=now, issued_at=now - lag)
        else:  # what remember says of a replay
            assert cache.seen(key, now=now, issued_at=now - lag) == (key in model)
        if now - lag < epoch:
            expected: bool | str = "issued before"
        elif key in model:
            expected = False
        elif (its_own >= share and len(model) >= limit // 2) or len(model) >= limit:
            expected = "full"
        else:
            model[key] = max(int(now + lifetime), swept)
            expected = True
        assert _answer(cache, key, lifetime, now, now - lag) == expected
        assert len(cache) == len(model)


async def test_an_empty_cache_given_to_a_verifier_is_the_one_it_uses() -> None:
    """An empty cache has no length, and was once taken for no cache at all."""
    cache = MemoryReplayCache(max_entries=10)
    verifier = Verifier(replay_cache=cache, policy=trusting(Party()))
    assert verifier.replay_cache is cache
    await verifier.close()


async def test_behind_a_verifier_the_greedy_agent_alone_is_refused() -> None:
    """Through the verifier: an agent past its share gets REPLAY_CACHE_FULL_ERROR (a could-not-
    check problem, 503 from the middleware); another agent still gets in."""
    issuer = Party()
    verifier = Verifier(
        resolver=default_resolver(),
        clock=lambda: NOW,
        replay_cache=MemoryReplayCache(max_entries=4, max_per_holder=2),
        policy=trusting(issuer),
    )
    agents = [Party(), Party()]
    credentials = [
        await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer) for agent in agents
    ]
    greedy = [
        await verifier.verify_presentation(await request_token(agents[0], [credentials[0]]), **API)
        for _ in range(3)
    ]
    assert [r.verified for r in greedy] == [True, True, False]
    assert [p.code for p in greedy[2].problems] == ["REPLAY_CACHE_FULL_ERROR"]
    other = await verifier.verify_presentation(await request_token(agents[1], [credentials[1]]), **API)
    assert other.verified, other.problems
    await verifier.close()
