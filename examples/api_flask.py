"""An API on Flask, protected by didvc: verifier.flask.AgentAuth and a scope per route.

python examples/api_flask.py --port 8083 --audience http://127.0.0.1:8083 --trust did:web:issuer.example
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, request

from verifier import Policy, Verifier
from verifier.flask import AgentAuth


def create_app(trusted: list[str], audience: str, *, allow_loopback: bool = False) -> Flask:
    app = Flask("orders")
    verifier = Verifier(
        policy=Policy(trusted_issuers={"*": frozenset(trusted)}),
        allow_http=allow_loopback,
        allow_loopback=allow_loopback,
    )
    auth = AgentAuth(app, verifier=verifier, audience=audience, public_paths=["/health"])

    @app.get("/health")
    def health() -> Any:
        return {"ok": True}

    @app.get("/orders")
    @auth.require("orders:read")
    def orders() -> Any:
        agent = auth.result()
        assert agent is not None
        return {"agent": agent.holder, "for": agent.principal, "scopes": agent.scopes}

    @app.post("/orders")
    @auth.require("orders:write")
    def order() -> Any:
        return {"received": len(request.get_data())}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--audience", required=True, help="The API's origin, as agents name it.")
    parser.add_argument("--trust", action="append", default=[], metavar="DID", help="An issuer to trust.")
    parser.add_argument(
        "--allow-loopback", action="store_true", help="DEVELOPMENT ONLY: issuers on this machine."
    )
    args = parser.parse_args()
    create_app(args.trust, args.audience, allow_loopback=args.allow_loopback).run(
        host="127.0.0.1", port=args.port
    )


if __name__ == "__main__":
    main()
