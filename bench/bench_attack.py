"""The middleware under attack: latency of valid requests with and without hostile traffic.

Run: ``python bench/bench_attack.py`` (needs Debian's ``wrk``). One API process (the aiohttp
middleware of bench/_http_server.py, trusting one issuer, one route) serves a valid agent that
sends a request every 5 ms (each with its own fresh token, latency counted from the moment it
was due, so a stalled server cannot hide its backlog). Then the same again while wrk, on 4
connections, sends hostile requests as fast as the server answers them, cycling through:

- poison: a fresh vp+jwt from a throw-away did:key holding a credential that *claims* the
  trusted issuer, with a proof of the right shape, whose subject links 16 blank nodes to each
  other (2.6 KB; what an anonymous attacker can make without the issuer's key);
- big poison: the same with 48 blank nodes (21 KB, canonicalized off the event loop);
- untrusted poison: the 48-node credential claiming an issuer the API does not trust;
- crowd: a presentation of 1,000 credentials; oversized: a 60 KB token of garbage;
- expired (only with ``--kinds 5``): captured tokens of the valid agent itself, signed by it
  and long expired, replayed.

It prints the p50/p99 of the valid requests both ways and their ratio (target: p99 ≤ 2×).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from _harness import agent_credential, free_port, party, wait_for_port, wrk_script

from didvc.credentials import CREDENTIALS_V2, make_presentation
from didvc.jose import sign_jws
from didvc.request import new_jti, sign_request_token

HERE = Path(__file__).resolve().parent
DURATION = 4.0  # seconds per phase
ROUNDS = 3  # each: valid requests alone, then while attacked
INTERVAL = 0.005
ATTACK_CONNECTIONS = 4
LUA = wrk_script("DIDVC_ATTACK", "")
AGENT_CONTEXT = "https://w3id.org/didvc/agent/v1"


def _poison(issuer: str, subject: str, n: int) -> dict:  # type: ignore[type-arg]
    return {
        "@context": [
            CREDENTIALS_V2,
            AGENT_CONTEXT,
            {"link": {"@id": "https://example.org/link", "@type": "@id"}},
        ],
        "type": ["VerifiableCredential", "AgentCredential"],
        "issuer": issuer,
        "credentialSubject": {
            "id": subject,
            "scope": ["orders:read"],
            "link": [{"@id": f"_:n{i}", "link": [f"_:n{j}" for j in range(n) if j != i]} for i in range(n)],
        },
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-01-01T00:00:00Z",
            "verificationMethod": f"{issuer}#{issuer.removeprefix('did:key:')}",
            "proofPurpose": "assertionMethod",
            "proofValue": "z" + "1" * 86,
        },
    }


async def _prepare(audience: str, count: int, kinds: list[int]) -> tuple[str, list[str], list[str]]:
    url = f"{audience}/orders"
    issuer, issuer_signer = party()
    agent, agent_signer = party()
    vc = await agent_credential(issuer, issuer_signer, agent)
    presentation = make_presentation(agent, [vc])
    valid = [
        "VP " + await sign_request_token(presentation, agent_signer, audience=audience, method="GET", url=url)
        for _ in range(int(DURATION / INTERVAL) * 2 * ROUNDS + 10)
    ]
    stranger, _ = party()
    hostile = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        if kind == 5:
            old = time.time() - 3600
            token = await sign_request_token(
                presentation, agent_signer, audience=audience, method="GET", url=url, now=old
            )
            hostile.append("VP " + token)
            continue
        holder, holder_signer = party()
        if kind in (0, 1, 2):
            claimed = stranger if kind == 2 else issuer
            credentials = [_poison(claimed, holder, 16 if kind == 0 else 48)]
        elif kind == 3:
            credentials = [{"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"]}] * 1000
        else:
            hostile.append("VP " + "A" * 60_000)
            continue
        iat = int(time.time())
        claims = {"iss": holder, "aud": audience, "iat": iat, "exp": iat + 600, "jti": new_jti()}
        payload = {**make_presentation(holder, []), "verifiableCredential": credentials, **claims}
        payload.update({"htm": "GET", "htu": url})
        hostile.append("VP " + await sign_jws(payload, holder_signer, typ="vp+jwt"))
    return issuer, valid, hostile


async def _valid_load(url: str, headers: list[str]) -> list[float]:
    """One request every INTERVAL for DURATION; latency from when each was due."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(header: str, due: float) -> None:
            async with session.get(url, headers={"Authorization": header}) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(
                        f"a valid request was refused: {response.status} {await response.text()}"
                    )
            latencies.append(time.perf_counter() - due)

        start = time.perf_counter() + 0.2
        tasks = []
        for i, header in enumerate(headers[: int(DURATION / INTERVAL)]):
            due = start + i * INTERVAL
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(header, due)))
        await asyncio.gather(*tasks)
    return latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="01234", help="hostile kinds to send (0-5, see above)")
    kinds = [int(k) for k in parser.parse_args().kinds]
    port = free_port()
    audience = f"http://127.0.0.1:{port}"
    issuer, valid, hostile = asyncio.run(_prepare(audience, 12_000, kinds))
    command = [sys.executable, str(HERE / "_http_server.py"), "--port", str(port), "--mode", "middleware"]
    server = subprocess.Popen(
        [*command, "--trust", issuer], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    calm: list[list[float]] = []
    attacked: list[list[float]] = []
    rates: list[float] = []
    url = f"{audience}/orders"
    per_phase = int(DURATION / INTERVAL)
    try:
        wait_for_port(port)
        asyncio.run(_valid_load(url, valid[:10]))  # caches and the worker process ready
        headers = iter(valid[10:])
        with tempfile.TemporaryDirectory() as tmp:
            attack_file, lua = Path(tmp) / "attack.txt", Path(tmp) / "attack.lua"
            lua.write_text(LUA)
            for round_ in range(ROUNDS):
                calm.append(asyncio.run(_valid_load(url, [next(headers) for _ in range(per_phase)])))
                share = len(hostile) // ROUNDS
                attack_file.write_text("\n".join(hostile[round_ * share : (round_ + 1) * share]) + "\n")
                wrk = subprocess.Popen(
                    ["wrk", "-t1", f"-c{ATTACK_CONNECTIONS}", f"-d{int(DURATION) + 2}s", "-s", str(lua), url],
                    env={**os.environ, "DIDVC_ATTACK": str(attack_file)},
                    stdout=subprocess.PIPE,
                    text=True,
                )
                time.sleep(1.0)
                attacked.append(asyncio.run(_valid_load(url, [next(headers) for _ in range(per_phase)])))
                out, _ = wrk.communicate(timeout=60)
                rates.append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))  # type: ignore[union-attr]
    finally:
        server.terminate()
        server.wait(timeout=10)
    p99_calm = statistics.median(_percentile(v, 0.99) for v in calm)
    p99_attacked = statistics.median(_percentile(v, 0.99) for v in attacked)
    print("## Under attack (bench/bench_attack.py)\n")
    sent = "".join(map(str, kinds))
    print(f"Median of {ROUNDS} interleaved rounds of {DURATION:g} s each; hostile kinds {sent}.\n")
    print("| load | valid req/s | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, phases, p99 in (
        ("valid requests alone", calm, p99_calm),
        ("valid requests while attacked", attacked, p99_attacked),
    ):
        p50 = statistics.median(statistics.median(v) for v in phases) * 1e3
        print(f"| {name} | {1 / INTERVAL:,.0f} | {p50:.2f} | {p99 * 1e3:.2f} |")
    rate = statistics.median(rates)
    print(f"| hostile requests answered (wrk, {ATTACK_CONNECTIONS} connections) | {rate:,.0f} | | |")
    print(f"\np99 of valid requests, attacked / alone: **{p99_attacked / p99_calm:.2f}×** (target ≤ 2)")


if __name__ == "__main__":
    main()
