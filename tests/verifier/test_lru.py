"""The verifier's caches are bounded by entries and by bytes, so large inputs cannot pin memory."""

from __future__ import annotations

from tests.helpers import Party, agent_credential, request_token, signed
from tests.verifier.test_presentation import API, _verifier
from verifier._lru import BoundedLru
from verifier._settled import SettledPresentations


def test_bounded_by_entries_and_bytes_least_recently_used_first() -> None:
    cache = BoundedLru[str](max_entries=3, max_bytes=1600)
    for key in (b"a", b"b", b"c"):
        assert cache.put(key, key.decode(), 100)
    assert cache.get(b"a") == "a"  # now the most recent
    cache.put(b"d", "d", 100)
    assert cache.get(b"b") is None and len(cache) == 3  # b was the least recently used
    cache.put(b"e", "e", 100)
    cache.put(b"e", "e2", 100)  # replacing does not count twice
    assert cache.size == 300 and cache.get(b"e") == "e2"
    assert not cache.put(b"huge", "x", 101)  # above a sixteenth of the budget: not kept
    assert cache.get(b"huge") is None and cache.size == 300


async def test_large_presentations_are_verified_but_not_kept() -> None:
    """What a cache keeps is counted, not what it was keyed by: a proof result is small
    whatever the credential; a presentation's large claims are not kept."""
    issuer, agent = Party(), Party()
    body = agent_credential(issuer, agent.did, ["orders:read"], name="y" * 20_000)
    body["credentialSubject"]["agentName"] = "x" * 20_000  # claims: what a settled result keeps
    big = await signed(body, issuer)
    small = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    verifier = _verifier(issuer, cache_bytes=320_000)  # presentations up to 10,000 bytes
    for _ in range(2):
        assert (await verifier.verify_presentation(await request_token(agent, [big]), **API)).verified
    # the proof result is small whatever the credential's size; the claims are not
    assert len(verifier.credentials.proofs) == 1 and len(verifier._settled) == 0
    assert (await verifier.verify_presentation(await request_token(agent, [small]), **API)).verified
    assert len(verifier.credentials.proofs) == 2 and len(verifier._settled) == 1
    assert verifier.credentials.proofs.size <= 2 * 1024 and verifier._settled.size <= 4096


def test_where_presentations_end_is_counted_in_the_presentations_share() -> None:
    """The memo of where each holder's presentation ends (verifier._known) is part of what
    the settled presentations hold, not extra to cache_bytes: a sixth of their share at most,
    with the defaults as many holders as entries."""
    default = SettledPresentations(max_entries=100_000, max_bytes=192 << 20, ttl=300)
    assert default._entries.max_bytes + default._known.max_bytes == 192 << 20
    assert default._known.max_bytes == 100_000 * 320  # room for every entry's holder
    small = SettledPresentations(max_entries=100_000, max_bytes=6_000_000, ttl=300)
    assert (small._known.max_bytes, small._entries.max_bytes) == (1_000_000, 5_000_000)
