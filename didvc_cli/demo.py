"""``didvc demo``: the three users' journey on one machine, embedded defaults only.

Part of the composition root: it is the one place besides the commands that uses every
component. In a temporary directory an operator creates a did:web issuer served on
127.0.0.1, issues an agent a credential with scopes; the agent's wallet stores it; an aiohttp
API protected by the middleware serves the agent; then the operator suspends, reinstates and
revokes the credential and the API's answers follow. A replayed header and a request outside
the scopes are refused. Each step states an expectation; the exit status is 0 only if all held.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

__all__ = ["run_demo"]

STATUS_TTL_MS = 1000  # short, so status changes show within a second or two


@dataclass
class Steps:
    as_json: bool
    results: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def section(self, title: str) -> None:
        if not self.as_json:
            click.echo("\n" + click.style(title, bold=True))

    def record(self, title: str, ok: bool, detail: str = "") -> None:
        self.results.append({"step": title, "ok": ok, "detail": detail})
        if not self.as_json:
            mark = click.style("✔", fg="green") if ok else click.style("✘", fg="red")
            click.echo(f"  {mark} {title}" + (click.style(f"  — {detail}", dim=True) if detail else ""))

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r["ok"] for r in self.results)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start(app: Any, port: int) -> Any:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def run_demo(as_json: bool) -> bool:
    from aiohttp import web

    from didvc.sealing import KdfParams
    from issuer import Issuer, create_app
    from resolvers import default_resolver
    from verifier import VERIFICATION_RESULT, Policy, RouteRule, Verifier
    from wallet import Wallet, WalletSession

    steps = Steps(as_json)
    kdf = KdfParams.new()  # the real defaults: Argon2id, 64 MiB
    runners: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="didvc-demo-") as tmp:
        root = Path(tmp)
        try:
            # --- the operator ------------------------------------------------------------------
            steps.section("Operator: a did:web issuer on 127.0.0.1")
            issuer_port, api_port = _free_port(), _free_port()
            issuer = await Issuer.create(
                root / "issuer.db",
                passphrase=secrets.token_urlsafe(16),  # throw-away stores: fresh passphrases
                did_web=f"127.0.0.1:{issuer_port}",
                base_url=f"http://127.0.0.1:{issuer_port}",
                kdf=kdf,
                status_ttl_ms=STATUS_TTL_MS,
            )
            runners.append(await _start(create_app(issuer), issuer_port))
            steps.record("issuer created and serving its DID document and status lists", True, issuer.did)

            # --- the agent ---------------------------------------------------------------------
            steps.section("Agent: a wallet and a credential")
            resolver = default_resolver(allow_http=True, allow_loopback=True)
            wallet = await Wallet.open(
                root / "agent.wallet",
                passphrase=secrets.token_urlsafe(16),
                kdf=kdf,
                resolver=resolver,
                allow_loopback=True,
            )
            agent = await wallet.create_did()
            steps.record("agent wallet created with a did:key", True, agent)
            vc = await issuer.issue(
                agent, claims={"scope": ["orders:read"], "owner": "Acme Corp", "agentName": "order-bot"}
            )
            assert isinstance(vc, dict)
            steps.record("operator issues an AgentCredential with scope orders:read", True, vc["id"])
            record = await wallet.store_credential(vc)
            steps.record("the wallet checks the credential over did:web and stores it", not record.warnings)

            # --- the API -----------------------------------------------------------------------
            steps.section("API: an aiohttp service behind the didvc middleware")
            policy = Policy(
                trusted_issuers={"AgentCredential": frozenset({issuer.did})},
                routes=(
                    RouteRule("GET", "/orders", frozenset({"orders:read"})),
                    RouteRule("POST", "/admin/*", frozenset({"admin"})),
                ),
            )
            verifier = Verifier(resolver=resolver, policy=policy, allow_http=True, allow_loopback=True)

            async def orders(request: web.Request) -> web.Response:
                result = request[VERIFICATION_RESULT]
                return web.json_response({"orders": ["#1001", "#1002"], "agent": result.holder})

            api = web.Application(middlewares=[verifier.middleware(audience=f"http://127.0.0.1:{api_port}")])
            api.router.add_get("/orders", orders)
            api.router.add_post("/admin/reset", orders)
            runners.append(await _start(api, api_port))
            base = f"http://127.0.0.1:{api_port}"
            steps.record(
                "API listening; GET /orders needs orders:read, POST /admin/* needs admin", True, base
            )

            async with WalletSession(wallet) as http:

                async def call(method: str, path: str) -> tuple[int, str]:
                    response = await http.request(method, base + path)
                    body = await response.json(content_type=None)
                    code = body["problems"][0]["code"] if response.status >= 400 else ""
                    return response.status, code

                steps.section("The agent calls the API")
                status, _ = await call("GET", "/orders")
                steps.record(
                    "GET /orders with a fresh request-bound presentation → 200",
                    status == 200,
                    f"HTTP {status}",
                )
                status, code = await call("POST", "/admin/reset")
                steps.record(
                    "POST /admin/reset, outside the agent's scopes → 403",
                    status == 403,
                    f"HTTP {status} {code}",
                )

                headers = await wallet.request_headers("GET", base + "/orders")
                async with http.session.get(base + "/orders", headers=headers) as first:
                    first_status = first.status
                async with http.session.get(base + "/orders", headers=headers) as second:
                    replay_code = (
                        (await second.json(content_type=None))["problems"][0]["code"]
                        if second.status == 401
                        else ""
                    )
                    steps.record(
                        "the same header sent twice: the copy is refused → 401",
                        first_status == 200
                        and second.status == 401
                        and replay_code == "REPLAY_DETECTED_ERROR",
                        f"HTTP {first_status}, then {second.status} {replay_code}",
                    )

                steps.section("The operator changes the credential's status")
                wait = STATUS_TTL_MS / 1000 + 0.2
                for action, expected_status, expected_code in (
                    ("suspend", 401, "CREDENTIAL_SUSPENDED_ERROR"),
                    ("reinstate", 200, ""),
                    ("revoke", 401, "CREDENTIAL_REVOKED_ERROR"),
                ):
                    await getattr(issuer, action)(vc["id"])
                    await asyncio.sleep(wait)  # the status list's ttl: verifiers may cache it that long
                    status, code = await call("GET", "/orders")
                    steps.record(
                        f"operator runs {action}; after the list's ttl GET /orders → {expected_status}",
                        status == expected_status and code == expected_code,
                        f"HTTP {status} {code}".strip(),
                    )
                inventory = await issuer.inventory(agent=agent)
                steps.record(
                    "the operator's inventory shows the agent's credential as revoked",
                    [e.status for e in inventory] == ["revoked"],
                    json.dumps([e.status for e in inventory]),
                )
            await wallet.close()
            await verifier.close()
            await resolver.close()
            await issuer.close()
        except Exception as exc:  # the demo reports, it does not crash
            steps.record("the demo ran to the end", False, f"{type(exc).__name__}: {exc}")
        finally:
            for runner in runners:
                await runner.cleanup()
    elapsed = time.perf_counter() - steps.started
    if as_json:
        click.echo(json.dumps({"ok": steps.ok, "seconds": round(elapsed, 2), "steps": steps.results}))
    else:
        verdict = (
            click.style("every expectation held", fg="green") if steps.ok else click.style("FAILED", fg="red")
        )
        click.echo(f"\n{verdict} ({elapsed:.1f} s)")
    return steps.ok
