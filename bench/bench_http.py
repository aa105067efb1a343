"""HTTP benchmark: requests/s of one aiohttp endpoint, bare and behind the didvc middleware.

Run: ``python bench/bench_http.py`` (needs ``wrk``, from Debian's package of that name). Each
server is one Python process on 127.0.0.1; wrk runs one thread with 16 connections for 5 s.
Behind the middleware every request carries its own fresh request token (a replayed one would be
refused), read by wrk's Lua script from a file of pre-signed tokens; only 2xx answers count. Two
reference rows bound what any verifier can reach here: the bare handler receiving the same
tokens, and the bare handler doing one raw Ed25519 verify per request and nothing else.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import agent_credential, free_port, party, wait_for_port, wrk_script

from didvc.credentials import make_presentation
from didvc.request import sign_request_token

HERE = Path(__file__).resolve().parent
DURATION = 5
CONNECTIONS = 16
LUA = wrk_script("DIDVC_TOKENS", "VP ")


async def _tokens(port: int, count: int) -> tuple[list[str], str]:
    issuer, issuer_signer = party()
    agent, agent_signer = party()
    vc = await agent_credential(issuer, issuer_signer, agent)
    presentation = make_presentation(agent, [vc])
    audience = f"http://127.0.0.1:{port}"
    tokens = [
        await sign_request_token(
            presentation,
            agent_signer,
            audience=audience,
            method="GET",
            url=f"{audience}/orders",
            lifetime=600,
        )
        for _ in range(count)
    ]
    return tokens, issuer


def _run(mode: str, port: int, env: dict[str, str], *, with_tokens: bool = True) -> tuple[float, int]:
    trust = ["--trust", env["DIDVC_ISSUER"]] if "DIDVC_ISSUER" in env else []
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_http_server.py"), "--port", str(port), "--mode", mode, *trust],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", f"http://127.0.0.1:{port}/orders"]
        if with_tokens:
            args[1:1] = ["-s", env["DIDVC_LUA"]]
        out = subprocess.run(
            args, capture_output=True, text=True, env=env, timeout=DURATION + 30, check=True
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    seconds = float(re.search(r"requests in ([\d.]+)s", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(bad.group(1)) if bad else 0
    return (total - failed) / seconds, failed


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    mw_port = free_port()
    tokens, issuer = asyncio.run(_tokens(mw_port, 60_000))
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "tokens.txt"
        token_file.write_text("\n".join(tokens) + "\n")
        lua = Path(tmp) / "tokens.lua"
        lua.write_text(LUA)
        env = {**os.environ, "DIDVC_TOKENS": str(token_file), "DIDVC_LUA": str(lua), "DIDVC_ISSUER": issuer}
        bare, _ = _run("bare", free_port(), env, with_tokens=False)
        bare_header, _ = _run("bare", free_port(), env)
        floor, _ = _run("signature", free_port(), env)
        guarded, failed = _run("middleware", mw_port, env)
    print("## HTTP (bench/bench_http.py)\n")
    print("| endpoint | requests/s (2xx) | × bare |")
    print("| --- | ---: | ---: |")
    for name, rate in (
        ("bare aiohttp handler", bare),
        ("bare handler, each request carrying a fresh 2 KB token (not checked)", bare_header),
        ("handler + one raw Ed25519 verify per request (the floor of any signature check)", floor),
        ("behind the didvc middleware (fresh vp+jwt per request, fully verified)", guarded),
    ):
        print(f"| {name} | {rate:,.0f} | {rate / bare:.2f} |")
    if failed:
        print(
            f"\n{failed} non-2xx answers behind the middleware (tokens reused after {len(tokens)} requests)."
        )


if __name__ == "__main__":
    main()
