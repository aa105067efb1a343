"""HTTP benchmark: requests/s of one aiohttp endpoint, bare and behind the didvc middleware.

Run: ``python bench/bench_http.py`` (needs ``wrk``, from Debian's package of that name; PyJWT
for its row, ``pip install -e '.[bench]'``; redis-server for the rows with more processes).
Servers run on 127.0.0.1; wrk runs one thread with 32 connections for 5 s. Behind the
middleware every request carries its own fresh request token (a replayed one would be refused),
read by wrk's Lua script from a file of pre-signed tokens; only 2xx answers count. Rounds
alternate the endpoints; the table gives medians. References:

- the bare handler; the handler doing one raw Ed25519 verify (``cryptography``) per request
  and nothing else, the floor of any check of a signature;
- a plain PyJWT bearer middleware (an EdDSA JWT, its ``aud`` and ``exp``; no holder binding,
  no request binding, no replay check, no credential): what an API does today;
- the multi-process deployment documented in docs/scale-out.md: ``examples/api_aiohttp.py
  --workers N`` with its replay cache in Redis, one process and two.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import agent_credential, free_port, party, wait_for_port, wrk_script
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from didvc.credentials import make_presentation
from didvc.request import sign_request_token

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "api_aiohttp.py"
DURATION, CONNECTIONS, ROUNDS = 5, 32, 5
TOKENS = 80_000  # more than two processes answer in one run
REDIS_DB = 15  # flushed before each run that uses it


class _Agent:
    """One agent with one credential, signing request tokens for the rows behind didvc."""

    def __init__(self) -> None:
        self.issuer, self._issuer_signer = party()
        self._agent, self._signer = party()

    async def tokens(self, audience: str) -> list[str]:
        """Fresh tokens (300-second ones: signed again for each round, so none expires mid-run)."""
        vc = await agent_credential(self.issuer, self._issuer_signer, self._agent)
        presentation = make_presentation(self._agent, [vc])
        return [
            await sign_request_token(
                presentation,
                self._signer,
                audience=audience,
                method="GET",
                url=f"{audience}/orders",
                lifetime=300,
            )
            for _ in range(TOKENS)
        ]


def _jwts(directory: Path, audience: str) -> None:
    """1,000 PyJWT bearer tokens and the PEM of their key."""
    import jwt

    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (directory / "jwt.pem").write_bytes(pem)
    expires = int(time.time()) + 3600
    lines = [
        jwt.encode(
            {"sub": f"agent-{n}", "aud": audience, "exp": expires, "scope": "orders:read"},
            private,
            algorithm="EdDSA",
        )
        for n in range(1000)
    ]
    (directory / "jwt.txt").write_text("\n".join(lines) + "\n")


def _wrk(port: int, env: dict[str, str], lua: str | None) -> tuple[float, int]:
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", f"http://127.0.0.1:{port}/orders"]
    if lua is not None:
        args[1:1] = ["-s", lua]
    out = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=DURATION + 30, check=True
    ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    seconds = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(bad.group(1)) if bad else 0
    return (total - failed) / seconds, failed


def _serve(command: list[str], port: int, env: dict[str, str], lua: str | None) -> tuple[float, int]:
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_for_port(port)
        time.sleep(1.0)  # every process of a multi-process server is listening
        return _wrk(port, env, lua)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    origin = "http://127.0.0.1:8000"  # what the tokens name; every server is told it is this origin
    agent = _Agent()
    issuer = agent.issuer
    redis_url = os.environ.get("DIDVC_BENCH_REDIS", f"redis://127.0.0.1:6379/{REDIS_DB}")
    rates: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "vp.lua").write_text(wrk_script("DIDVC_TOKENS", "VP "))
        (directory / "jwt.lua").write_text(wrk_script("DIDVC_JWTS", "Bearer "))
        _jwts(directory, origin)
        env = {
            **os.environ,
            "DIDVC_TOKENS": str(directory / "tokens.txt"),
            "DIDVC_JWTS": str(directory / "jwt.txt"),
        }
        server = [sys.executable, str(HERE / "_http_server.py")]

        def endpoint(mode: str, lua: str | None, *extra: str) -> tuple[list[str], str | None]:
            port = free_port()
            return [*server, "--port", str(port), "--mode", mode, "--origin", origin, *extra], lua

        def example(workers: int) -> tuple[list[str], str | None]:
            port = free_port()
            return [
                sys.executable,
                str(EXAMPLE),
                "--port",
                str(port),
                "--audience",
                origin,
                "--public-url",
                origin,
                "--trust",
                issuer,
                "--redis-url",
                redis_url,
                "--workers",
                str(workers),
            ], str(directory / "vp.lua")

        rows = {
            "bare aiohttp handler": lambda: endpoint("bare", None),
            "handler + one raw Ed25519 verify per request (the floor of any signature check)": lambda: (
                endpoint("signature", str(directory / "vp.lua"))
            ),
            "a plain PyJWT bearer middleware (EdDSA JWT, aud, exp)": lambda: endpoint(
                "pyjwt", str(directory / "jwt.lua"), "--jwt-key", str(directory / "jwt.pem")
            ),
            "behind the didvc middleware (fresh vp+jwt per request, fully verified)": lambda: endpoint(
                "middleware", str(directory / "vp.lua"), "--trust", issuer
            ),
        }
        if shutil.which("redis-cli") is not None:
            rows["examples/api_aiohttp.py, replay cache in Redis, 1 process"] = lambda: example(1)
            rows["examples/api_aiohttp.py, replay cache in Redis, 2 processes (--workers 2)"] = lambda: (
                example(2)
            )
        for _ in range(ROUNDS):
            tokens = asyncio.run(agent.tokens(origin))
            (directory / "tokens.txt").write_text("\n".join(tokens) + "\n")
            for name, make in rows.items():
                command, lua = make()
                port = int(command[command.index("--port") + 1])
                if "--redis-url" in command:
                    subprocess.run(
                        ["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], check=True, capture_output=True
                    )
                rate, failed = _serve(command, port, env, lua)
                rates.setdefault(name, []).append(rate)
                failures[name] = failures.get(name, 0) + failed
    median = {name: statistics.median(values) for name, values in rates.items()}
    bare = median["bare aiohttp handler"]
    floor = median["handler + one raw Ed25519 verify per request (the floor of any signature check)"]
    print("## HTTP (bench/bench_http.py)\n")
    print("| endpoint | requests/s (2xx) | × bare | × the raw-verify handler |")
    print("| --- | ---: | ---: | ---: |")
    for name, rate in median.items():
        print(f"| {name} | {rate:,.0f} | {rate / bare:.2f} | {rate / floor:.2f} |")
    pyjwt = "a plain PyJWT bearer middleware (EdDSA JWT, aud, exp)"
    ours = "behind the didvc middleware (fresh vp+jwt per request, fully verified)"
    print(f"\ndidvc middleware / PyJWT middleware: {median[ours] / median[pyjwt]:.2f}")
    two = [n for n in median if "2 processes" in n]
    if two:
        one = next(n for n in median if "1 process" in n)
        print(f"two processes / one: {median[two[0]] / median[one]:.2f}")
    for name, failed in failures.items():
        if failed:
            print(f"\n{name}: {failed} non-2xx answers")


if __name__ == "__main__":
    main()
