"""The plain library call inside another framework's handler: a WSGI app (stdlib wsgiref).

    python examples/api_plain_wsgi.py --port 8082 --audience http://127.0.0.1:8082 \\
        --trust did:web:issuer.example

WSGI handlers are synchronous, so the verifier runs on an event loop in a background thread and
each request waits for its verdict: the same one call any framework can make.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import make_server

from verifier import Policy, Verifier


class VerifierThread:
    """An event loop in a thread, running one Verifier for a synchronous web framework."""

    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.verifier = asyncio.run_coroutine_threadsafe(self._make(options), self.loop).result()

    async def _make(self, options: dict[str, Any]) -> Verifier:
        verifier = Verifier(**options)
        verifier.serving()  # a server from now on: tokens issued before are refused (a restart)
        return verifier

    def verify(self, token: str, **request: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(
            self.verifier.verify_presentation(token, **request), self.loop
        ).result(10)


def make_app(audience: str, checker: VerifierThread) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        header = environ.get("HTTP_AUTHORIZATION", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        url = audience.rstrip("/") + environ.get("PATH_INFO", "/")
        result = checker.verify(
            header.removeprefix("VP ").strip(),
            audience=audience,
            method=environ["REQUEST_METHOD"],
            url=url,
            body=body,
        )
        if result.verified:
            status, payload = "200 OK", {"agent": result.holder, "scopes": result.scopes}
        else:
            status, payload = (
                "401 Unauthorized",
                {"problems": [{"code": c, "message": m} for c, m in result.problems]},
            )
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--trust", action="append", required=True, metavar="DID", help="A trusted issuer.")
    parser.add_argument("--allow-loopback", action="store_true", help="Development only.")
    args = parser.parse_args()
    policy = Policy(trusted_issuers={"*": frozenset(args.trust)})
    checker = VerifierThread(
        policy=policy, allow_http=args.allow_loopback, allow_loopback=args.allow_loopback
    )
    with make_server("127.0.0.1", args.port, make_app(args.audience, checker)) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
