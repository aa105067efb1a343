"""Tiny timing harness shared by the benchmarks: best-of-N medians, printed as a Markdown table."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any


def measure(fn: Callable[[], object], *, number: int = 2000, repeat: int = 7) -> float:
    """Median seconds per call over ``repeat`` runs of ``number`` calls."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def measure_async(fn: Callable[[], Awaitable[object]], *, number: int = 2000, repeat: int = 7) -> float:
    """Like :func:`measure` for a coroutine function, all calls in one event loop."""

    async def run() -> float:
        await fn()
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                await fn()
            samples.append((time.perf_counter() - start) / number)
        return statistics.median(samples)

    return asyncio.run(run())


def table(rows: list[tuple[str, float]], baseline: float, baseline_name: str) -> str:
    lines = [f"| operation | µs | × {baseline_name} |", "| --- | ---: | ---: |"]
    for name, seconds in rows:
        lines.append(f"| {name} | {seconds * 1e6:,.1f} | {seconds / baseline:.2f} |")
    return "\n".join(lines)


def party() -> tuple[str, Any]:
    """A fresh did:key and its signer."""
    from didvc.keys import KeyPair, KeySigner
    from resolvers import did_key_from_public_key

    pair = KeyPair.generate()
    did = did_key_from_public_key(pair.public_key)
    return did, KeySigner(pair, f"{did}#{did.removeprefix('did:key:')}")


async def agent_credential(
    issuer: str, issuer_signer: Any, subject: str, cryptosuite: str = "eddsa-rdfc-2022"
) -> dict[str, Any]:
    """The AgentCredential every benchmark presents (scope orders:read), eddsa-rdfc-2022 unless
    ``cryptosuite`` says otherwise."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from didvc.proofs import add_proof

    now = datetime.now(UTC)
    return await add_proof(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/didvc/agent/v1"],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "AgentCredential"],
            "issuer": issuer,
            "validFrom": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "validUntil": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "credentialSubject": {
                "id": subject,
                "agentName": "bench",
                "owner": "Acme",
                "scope": ["orders:read"],
            },
        },
        issuer_signer,
        cryptosuite=cryptosuite,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, seconds: float = 10.0) -> None:
    """Return once something accepts connections on 127.0.0.1:``port`` (or the time is up)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)


def wrk_script(lines_env: str, prefix: str = "") -> str:
    """A wrk Lua script that sends ``GET /orders`` with ``Authorization: <prefix><line>``,
    cycling through the lines of the file named by the environment variable ``lines_env``. The
    requests are formatted once, before the run: formatting each one as it is sent cost wrk a
    fifth of a core at 7,000 requests/s, which the servers it measures share (two cores here)."""
    return f"""
local requests = {{}}
local i = 0
init = function(args)
  for line in io.lines(os.getenv("{lines_env}")) do
    requests[#requests + 1] = wrk.format("GET", "/orders", {{["Authorization"] = "{prefix}" .. line}})
  end
end
request = function()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
"""
