"""An API protected by the didvc middleware (aiohttp). Run one or several behind a load balancer.

    python examples/api_aiohttp.py --port 8081 --audience https://api.example \\
        --public-url https://api.example --trust did:web:issuer.example \\
        [--redis-url redis://127.0.0.1:6379/0] [--workers 2] [--policy policy.toml] \\
        [--status-events https://issuer.example/status/events]

Every request must carry ``Authorization: VP <token>``; handlers read who is calling and what
it may do from ``request[VERIFICATION_RESULT]``. Trust is explicit: only credentials from the
issuers named with ``--trust`` (or in the policy file) count. With ``--redis-url`` every instance
shares one replay cache, so a header accepted by one is refused by all the others, and status
changes: with ``--status-events`` (on one instance or all) a revocation reaches every instance
in about a second instead of when the status list's ttl runs out. ``--workers N`` runs N
processes sharing the port (``SO_REUSEPORT``: the kernel spreads connections over them), one per
core; they need ``--redis-url``, since a token one accepted must be refused by the others.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import signal
from dataclasses import replace

from aiohttp import web

from verifier import VERIFICATION_RESULT, Policy, RedisReplayCache, RedisStatusChannel, RouteRule, Verifier

DEFAULT_POLICY = Policy(
    routes=(
        RouteRule("GET", "/orders*", frozenset({"orders:read"})),
        RouteRule("POST", "/orders*", frozenset({"orders:write"})),
        RouteRule("*", "/admin*", frozenset({"admin"})),
    )
)


async def orders(request: web.Request) -> web.Response:
    result = request[VERIFICATION_RESULT]
    return web.json_response(
        {
            "served_by": request.app["name"],
            "agent": result.holder,
            "scopes": result.scopes,
            "orders": ["#1001", "#1002"],
        }
    )


def build_app(args: argparse.Namespace) -> web.Application:
    policy = Policy.load(args.policy) if args.policy else DEFAULT_POLICY
    if args.trust:
        trusted = {**policy.trusted_issuers}
        trusted["*"] = trusted.get("*", frozenset()) | frozenset(args.trust)
        policy = replace(policy, trusted_issuers=trusted)
    replay = RedisReplayCache.from_url(args.redis_url) if args.redis_url else None
    channel = RedisStatusChannel.from_url(args.redis_url) if args.redis_url else None
    verifier = Verifier(
        policy=policy,
        replay_cache=replay,
        status_channel=channel,
        allow_http=args.allow_loopback,
        allow_loopback=args.allow_loopback,
    )
    audit = logging.getLogger("didvc.audit")
    app = web.Application(
        middlewares=[
            verifier.middleware(
                audience=args.audience, public_url=args.public_url, public_paths=["/health"], audit=audit
            )
        ],
        handler_args={"max_field_size": 64 * 1024},
    )
    app["name"] = args.name or f"api-{args.port}"

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "name": request.app["name"]})

    async def start(app: web.Application) -> None:
        await verifier.start_status_updates(events=args.status_events or ())

    async def close(app: web.Application) -> None:
        await verifier.close()

    app.on_startup.append(start)
    app.on_cleanup.append(close)
    app.router.add_get("/health", health)
    app.router.add_get("/orders", orders)
    app.router.add_post("/orders", orders)
    app.router.add_post("/admin/reset", orders)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--audience", required=True, help="The audience tokens must name (your API's origin)."
    )
    parser.add_argument("--public-url", help="The origin clients use, when behind a proxy or load balancer.")
    parser.add_argument("--redis-url", help="Share the replay cache and status changes with other instances.")
    parser.add_argument(
        "--status-events",
        action="append",
        metavar="URL",
        help="Follow an issuer's status events (https://issuer.example/status/events).",
    )
    parser.add_argument("--policy", help="A policy file (TOML or JSON).")
    parser.add_argument(
        "--trust", action="append", metavar="DID", help="An issuer whose credentials count (repeatable)."
    )
    parser.add_argument("--name", help="A name for this instance (shown in answers).")
    parser.add_argument(
        "--allow-loopback",
        action="store_true",
        help="Development only: did:web and status lists on loopback http.",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Processes sharing the port, one per core (needs --redis-url)."
    )
    args = parser.parse_args()
    if not args.trust and not args.policy:
        parser.error("name the issuers you trust: --trust DID (or a --policy file with trusted_issuers)")
    if args.workers > 1 and not args.redis_url:
        parser.error(
            "--workers above 1 needs --redis-url: a token one process accepted must be refused by all"
        )
    if args.workers == 1:
        serve(args)
        return
    processes = [
        multiprocessing.get_context("spawn").Process(target=serve, args=(args,)) for _ in range(args.workers)
    ]
    for process in processes:
        process.start()

    def stop(signum: int, frame: object) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()


def serve(args: argparse.Namespace) -> None:
    """One process of the API (several share the port with ``reuse_port``)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    web.run_app(build_app(args), host=args.host, port=args.port, access_log=None, reuse_port=args.workers > 1)


if __name__ == "__main__":
    main()
