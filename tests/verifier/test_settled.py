"""The settled fast path answers exactly as the full pipeline does, whatever changed since."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from resolvers import default_resolver
from tests.helpers import NOW, Party, agent_credential, request_token, signed, trusting
from verifier import RouteRule, Verifier

AUDIENCE = "https://api.example"
ROUTES = (
    RouteRule("GET", "/orders*", frozenset({"orders:read"})),
    RouteRule("DELETE", "/orders/*", frozenset({"orders:admin"})),
)


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


# (seconds after NOW, method, path, what changes in the policy)
SCENARIOS = [
    (0, "GET", "/orders", None),
    (1800, "GET", "/orders/7", None),
    (3600 + 60, "GET", "/orders", None),  # validUntil + skew: still valid
    (3600 + 61, "GET", "/orders", None),  # expired
    (0, "DELETE", "/orders/7", None),  # out of scope
    (0, "GET", "/reports", None),  # no route rule
    (0, "GET", "/orders", "max age"),  # validFrom is a day before NOW
    (-86400 - 61, "GET", "/orders", None),  # before validFrom - skew
    (0, "GET", "/orders", "untrusted"),
    (0, "GET", "/orders", "other audience"),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s[0]}s {s[1]} {s[2]} {s[3]}" for s in SCENARIOS])
async def test_settled_and_full_path_give_the_same_result(scenario: tuple[int, str, str, Any]) -> None:
    offset, method, path, change = scenario
    issuer, agent = Party(), Party()
    body = agent_credential(issuer, agent.did, ["orders:read"], validUntil="2026-06-01T13:00:00Z")
    body["credentialSubject"]["audience"] = [AUDIENCE]
    vc = await signed(body, issuer)
    clock = _Clock()
    policy = trusting(issuer, routes=ROUTES)
    warm = Verifier(resolver=default_resolver(), clock=clock, policy=policy)
    first = await warm.verify_presentation(
        await request_token(agent, [vc], url=f"{AUDIENCE}/orders"),
        audience=AUDIENCE,
        method="GET",
        url=f"{AUDIENCE}/orders",
    )
    assert first.verified and len(warm._settled) == 1

    if change == "max age":
        policy = replace(policy, max_credential_age=timedelta(hours=23))
    elif change == "untrusted":
        policy = trusting(Party(), routes=ROUTES)
    warm.policy = policy
    cold = Verifier(resolver=default_resolver(), clock=clock, policy=policy)
    audience = "https://other.example" if change == "other audience" else AUDIENCE
    clock.now = NOW + timedelta(seconds=offset)
    url = f"{audience}{path}"
    token = await request_token(agent, [vc], audience=audience, method=method, url=url, now=clock.now)
    request = {"audience": audience, "method": method, "url": url}
    settled, full = (
        await warm.verify_presentation(token, **request),
        await cold.verify_presentation(token, **request),
    )
    assert settled.to_json() == full.to_json()
