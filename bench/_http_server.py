"""The aiohttp endpoint bench_http.py drives: bare, or behind the didvc middleware."""

from __future__ import annotations

import argparse

from aiohttp import web

from resolvers import default_resolver
from verifier import VERIFICATION_RESULT, Policy, RouteRule, Verifier


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["bare", "middleware"], required=True)
    args = parser.parse_args()
    audience = f"http://127.0.0.1:{args.port}"
    middlewares = []
    if args.mode == "middleware":
        policy = Policy(
            routes=(RouteRule("GET", "/orders", frozenset({"orders:read"})),), max_token_lifetime=600
        )
        verifier = Verifier(resolver=default_resolver(), policy=policy)
        middlewares.append(verifier.middleware(audience=audience))

    async def orders(request: web.Request) -> web.Response:
        result = request.get(VERIFICATION_RESULT)
        return web.json_response({"ok": True, "agent": result.holder if result else None})

    app = web.Application(middlewares=middlewares, handler_args={"max_field_size": 65536})
    app.router.add_get("/orders", orders)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
