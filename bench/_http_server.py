"""The aiohttp endpoint bench_http.py drives: bare, behind the didvc middleware, behind a plain
PyJWT bearer-token middleware (EdDSA, ``aud`` and ``exp``: what an API checks today), or doing
nothing but one raw Ed25519 verify per request (the floor of any design that checks a signature)."""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from resolvers import default_resolver
from verifier import VERIFICATION_RESULT, MemoryReplayCache, Policy, RouteRule, Verifier


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["bare", "signature", "middleware", "pyjwt"], required=True)
    parser.add_argument("--jwt-key", help="pyjwt: the PEM file of the Ed25519 public key.")
    parser.add_argument("--trust", action="append", default=[], help="A trusted issuer DID.")
    parser.add_argument("--origin", help="The origin the tokens name (default: this server's).")
    args = parser.parse_args()
    audience = args.origin or f"http://127.0.0.1:{args.port}"
    middlewares = []
    if args.mode == "middleware":
        policy = Policy(
            trusted_issuers={"AgentCredential": frozenset(args.trust)},
            routes=(RouteRule("GET", "/orders", frozenset({"orders:read"})),),
            max_token_lifetime=600,
        )
        # the tokens were all signed before this server started: a server refuses those by
        # default (a restart forgets which were used), this load test may not
        replay = MemoryReplayCache(refuse_earlier_tokens=False)
        verifier = Verifier(resolver=default_resolver(), policy=policy, replay_cache=replay)
        middlewares.append(verifier.middleware(audience=audience, public_url=audience))
    elif args.mode == "signature":
        from cryptography.hazmat.primitives.asymmetric import ed25519

        private = ed25519.Ed25519PrivateKey.generate()
        public, message = private.public_key(), b"x" * 1900  # a request token's signing input
        signature = private.sign(message)

        @web.middleware
        async def one_signature(request: web.Request, handler: Any) -> web.StreamResponse:
            public.verify(signature, message)
            return await handler(request)

        middlewares.append(one_signature)
    elif args.mode == "pyjwt":
        import jwt  # PyJWT, the bench extra

        with open(args.jwt_key, "rb") as handle:
            key = handle.read()

        @web.middleware
        async def bearer(request: web.Request, handler: Any) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            try:
                jwt.decode(header.removeprefix("Bearer "), key, algorithms=["EdDSA"], audience=audience)
            except jwt.PyJWTError:
                return web.json_response({"error": "invalid_token"}, status=401)
            return await handler(request)

        middlewares.append(bearer)

    async def orders(request: web.Request) -> web.Response:
        result = request.get(VERIFICATION_RESULT)
        return web.json_response({"ok": True, "agent": result.holder if result else None})

    app = web.Application(middlewares=middlewares, handler_args={"max_field_size": 65536})
    app.router.add_get("/orders", orders)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
