"""The gate for synchronous frameworks (Flask, Django): one event loop in a helper thread runs
every verification, so the verifier's caches and HTTP session are shared by all requests and no
loop is made per request (:class:`didvc.blocking.LoopThread`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from didvc.blocking import LoopThread
from verifier._gate import Denial, Gate, RequestFacts, VerifierLike
from verifier._result import VerificationResult

__all__ = ["BlockingGate"]


class BlockingGate:
    """:class:`~verifier._gate.Gate`'s decision, called from any thread."""

    def __init__(self, verifier: VerifierLike, *, audience: str, **options: Any) -> None:
        self.gate = Gate(verifier, audience=audience, **options)
        self.runner = LoopThread("didvc-verifier")

    def is_public(self, path: str) -> bool:
        return path in self.gate.public_paths

    def decide(
        self, facts: RequestFacts, body: Callable[[], bytes | Denial | None], route: str
    ) -> VerificationResult | Denial:
        """The result when the request may go on, else the answer (audited); never raises.
        ``body`` reads the request's body, within its bound (else the 413): only once the
        header holds a presentation."""
        token = self.gate.token(facts)
        if isinstance(token, Denial):
            return self.runner.run(self.gate.deny(token, route))
        read = body()
        if isinstance(read, Denial):
            return self.runner.run(self.gate.deny(read, route))
        decided = self.runner.run(self.gate.check(facts, token, read))
        if isinstance(decided, Denial):
            return self.runner.run(self.gate.deny(decided, route))
        return decided

    def allowed(self, route: str, status: int, result: VerificationResult) -> None:
        """The audit line of a request that went on."""
        self.gate.log(route, status, result, [])

    def close(self) -> None:
        self.runner.run(self._close())
        self.runner.close()

    async def _close(self) -> None:
        closing = getattr(self.gate.verifier, "close", None)
        if closing is not None:
            await closing()
