"""Revocation latency across a fleet: from a revocation to its refusal on every API process.

Run: ``python bench/bench_revocation.py [--rounds 30] [--json]`` (needs redis-server on
127.0.0.1:6379, or ``DIDVC_REDIS_URL``). Real processes on 127.0.0.1: ``didvc issuer serve``
(a did:web issuer whose status lists may be cached for 5 minutes), and two API processes
(``examples/api_aiohttp.py``) sharing one Redis; only API A follows the issuer's event stream,
API B hears of changes through Redis. An agent in this process sends fresh request tokens.

Each round issues a credential, warms both APIs' caches with it, revokes it, then asks both
APIs every 10 ms until both refuse it. Two clocks: from the revocation's commit (the library
call returning: the system's own latency) and, in a few rounds, from the start of the
``didvc issuer revoke`` command (adds the CLI's start-up: Python, imports, the passphrase's KDF).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from issuer import Issuer  # noqa: E402
from wallet import Wallet  # noqa: E402

PUBLIC = "https://api.example"
REDIS_URL = os.environ.get("DIDVC_REDIS_URL", "redis://127.0.0.1:6379/12")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Fleet:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DIDVC_ISSUER_STORE": str(workdir / "issuer.db"),
            "DIDVC_ISSUER_PASSPHRASE": "operator-secret",
            "DIDVC_WALLET": str(workdir / "agent.wallet"),
            "DIDVC_WALLET_PASSPHRASE": "agent-secret",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def didvc(self, *args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "didvc_cli", *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            check=True,
        )
        return json.loads(done.stdout)

    def start(self, args: list[str], port: int) -> None:
        log = open(self.workdir / f"{port}.log", "wb")  # noqa: SIM115 - the process's log
        self.processes.append(subprocess.Popen(args, env=self.env, cwd=self.workdir, stdout=log, stderr=log))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nothing listens on {port}: {(self.workdir / f'{port}.log').read_text()}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(10)


async def _refused(http: aiohttp.ClientSession, wallet: Wallet, port: int, credential_id: str) -> bool:
    headers = await wallet.request_headers("GET", f"{PUBLIC}/orders", credential_ids=[credential_id])
    async with http.get(f"http://127.0.0.1:{port}/orders", headers=headers) as response:
        body = await response.json(content_type=None)
        if response.status == 200:
            return False
        code = body["problems"][0]["code"]
        if code != "CREDENTIAL_REVOKED_ERROR":
            raise RuntimeError(f"API on {port} answered {response.status} {code}")
        return True


async def _rounds(fleet: Fleet, apis: list[int], rounds: int, cli_rounds: int) -> dict[str, list[float]]:
    committed: list[float] = []
    from_cli: list[float] = []
    issuer = await Issuer.open(fleet.env["DIDVC_ISSUER_STORE"], passphrase="operator-secret")
    wallet = await Wallet.open(
        Path(fleet.env["DIDVC_WALLET"]), passphrase="agent-secret", allow_loopback=True
    )
    agent = await wallet.default_did()
    async with issuer, wallet, aiohttp.ClientSession() as http:
        for n in range(rounds + cli_rounds):
            credential = await issuer.issue(agent, claims={"scope": ["orders:read"]})
            assert isinstance(credential, dict)
            await wallet.store_credential(credential)
            for port in apis:  # warm: each API has the list cached, for its ttl of 5 minutes
                assert not await _refused(http, wallet, port, credential["id"])
            started = time.monotonic()
            if n < rounds:
                await issuer.revoke(credential["id"])
            else:
                await asyncio.to_thread(fleet.didvc, "issuer", "--json", "revoke", credential["id"])
            done = time.monotonic()
            pending = set(apis)
            while pending:
                for port in list(pending):
                    if await _refused(http, wallet, port, credential["id"]):
                        pending.discard(port)
                if time.monotonic() - done > 10:
                    raise RuntimeError(f"APIs {sorted(pending)} still accept a revoked credential after 10 s")
                await asyncio.sleep(0.01)
            (committed if n < rounds else from_cli).append(
                time.monotonic() - (done if n < rounds else started)
            )
    return {"committed": committed, "cli": from_cli}


def _quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--cli-rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        fleet = Fleet(Path(directory))
        issuer_port, api_a, api_b = _port(), _port(), _port()
        origin = f"127.0.0.1:{issuer_port}"
        init = ["issuer", "--json", "init", "--did-web", origin, "--base-url", f"http://{origin}"]
        issuer_did = fleet.didvc(*init, "--status-ttl", "5m")["did"]
        fleet.start(
            [sys.executable, "-m", "didvc_cli", "issuer", "serve", "--port", str(issuer_port)], issuer_port
        )
        events = f"http://127.0.0.1:{issuer_port}/status/events"
        for port, extra in ((api_a, ["--status-events", events]), (api_b, [])):
            api = [sys.executable, str(ROOT / "examples/api_aiohttp.py"), "--port", str(port)]
            api += ["--audience", PUBLIC, "--public-url", PUBLIC, "--trust", issuer_did, "--allow-loopback"]
            fleet.start([*api, "--redis-url", REDIS_URL, *extra], port)
        fleet.didvc("wallet", "--json", "init")
        time.sleep(0.5)  # API A's event stream connects
        try:
            samples = asyncio.run(_rounds(fleet, [api_a, api_b], args.rounds, args.cli_rounds))
        except Exception:
            for log in sorted(Path(directory).glob("*.log")):
                lines = [line for line in log.read_text().splitlines() if "didvc.decision" not in line]
                print(f"--- {log.name}", *lines, sep="\n", file=sys.stderr)
            raise
        finally:
            fleet.stop()
    figures = {
        name: {
            "rounds": len(values),
            "p50": statistics.median(values),
            "p99": _quantile(values, 0.99),
            "max": max(values),
        }
        for name, values in samples.items()
        if values
    }
    if args.json:
        print(json.dumps(figures))
        return
    print("| from | rounds | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    labels = {"committed": "the revocation committed", "cli": "`didvc issuer revoke` started"}
    for name, f in figures.items():
        ms = [f"{f[q] * 1000:.0f}" for q in ("p50", "p99", "max")]
        print(f"| {labels[name]} | {f['rounds']} | {' | '.join(ms)} |")


if __name__ == "__main__":
    main()
