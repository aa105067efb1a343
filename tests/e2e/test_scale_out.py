"""Scale-out, shown: two issuer processes on one PostgreSQL, two API processes sharing one Redis.

One client talks to both APIs as a load balancer would send it (both are configured with the
same public origin). A header accepted by one API is refused by the other; a revocation made by
one issuer process is seen by both APIs; issuers in several processes never share an index.
Needs PostgreSQL and Redis: skipped with a reason without them, failed in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Processes, call, free_port

PUBLIC = "https://api.example"
REDIS_URL = os.environ.get("DIDVC_REDIS_URL", "redis://127.0.0.1:6379/14")
ADMIN_URL = os.environ.get("DIDVC_POSTGRES_URL", "postgresql://didvc:didvc@127.0.0.1:5432/didvc")


def _require(message: str) -> None:
    if os.environ.get("DIDVC_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def services() -> Iterator[tuple[str, str]]:
    asyncpg = pytest.importorskip("asyncpg")
    redis = pytest.importorskip("redis")

    async def make_database() -> str:
        try:
            admin = await asyncpg.connect(ADMIN_URL, timeout=3)
        except Exception as exc:
            _require(f"no PostgreSQL server reachable ({type(exc).__name__})")
        name = f"didvc_scale_{uuid.uuid4().hex[:10]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        return f"{ADMIN_URL.rpartition('/')[0]}/{name}"

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        _require(f"no Redis server reachable at {REDIS_URL} ({type(exc).__name__})")
    database = asyncio.run(make_database())
    yield database, REDIS_URL

    async def drop() -> None:
        admin = await asyncpg.connect(ADMIN_URL, timeout=3)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database.rpartition("/")[2]}" WITH (FORCE)')
        await admin.close()

    asyncio.run(drop())


def test_two_issuers_one_postgresql_two_apis_one_redis(procs: Processes, services: tuple[str, str]) -> None:
    database, redis_url = services
    procs.env["DIDVC_ISSUER_STORE"] = database
    issuer_port, api_a, api_b = free_port(), free_port(), free_port()
    issuer_did = procs.start_loopback_issuer(issuer_port)["did"]  # process 1 serves from PostgreSQL
    # issuer processes 2 and 3 issue batches at the same time into the same lists, each in
    # groups back to back on two cores (reserving a group while recording the one before)
    rows = 250
    for name in ("a", "b"):
        (procs.workdir / f"{name}.jsonl").write_text(
            "\n".join(
                json.dumps({"agent": f"did:example:{name}-{i}", "scope": "orders:read"}) for i in range(rows)
            )
            + "\n"
        )
    import subprocess

    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "didvc_cli",
                "issuer",
                "--json",
                "batch",
                f"{n}.jsonl",
                "--batch",
                n,
                "--out",
                f"{n}.out",
            ],
            cwd=procs.workdir,
            env=procs.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in ("a", "b")
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert [json.loads(out)["issued"] for out, _ in outputs] == [rows, rows]
    issued_both = [
        json.loads(line) for n in ("a", "b") for line in (procs.workdir / f"{n}.out").read_text().splitlines()
    ]
    entries = {
        (s["statusListCredential"], s["statusListIndex"]) for c in issued_both for s in c["credentialStatus"]
    }
    assert len(issued_both) == 2 * rows and len(entries) == 2 * 2 * rows  # no index given twice

    inventory = procs.json("issuer", "--json", "list")
    assert len(inventory) == 2 * rows

    # the agent, and its credential from yet another issuer process
    agent = procs.json("wallet", "--json", "init")["did"]
    issued = procs.json("issuer", "--json", "issue", agent, "--scope", "orders:read", "--out", "vc.json")
    procs.didvc("wallet", "--allow-loopback", "import", "vc.json")

    # two API processes behind one public origin, sharing Redis
    for port, name in ((api_a, "api-a"), (api_b, "api-b")):
        procs.start_api(port, issuer_did, "--redis-url", redis_url, "--name", name, audience=PUBLIC)

    def header() -> str:
        return procs.didvc("wallet", "present", "--method", "GET", "--url", f"{PUBLIC}/orders").stdout.strip()

    for port, name in ((api_a, "api-a"), (api_b, "api-b")):
        status, code, body = call(f"http://127.0.0.1:{port}/orders", header())
        assert (status, code, body["served_by"]) == (200, "", name)
    shared = header()
    assert call(f"http://127.0.0.1:{api_a}/orders", shared)[0] == 200
    assert call(f"http://127.0.0.1:{api_b}/orders", shared)[:2] == (
        401,
        "REPLAY_DETECTED_ERROR",
    )  # replay refused across APIs

    procs.didvc("issuer", "revoke", issued["credential"]["id"])  # one more issuer process
    time.sleep(1.3)
    assert call(f"http://127.0.0.1:{api_a}/orders", header())[:2] == (401, "CREDENTIAL_REVOKED_ERROR")
    assert call(f"http://127.0.0.1:{api_b}/orders", header())[:2] == (401, "CREDENTIAL_REVOKED_ERROR")

    async def distinct_indexes() -> tuple[int, int]:
        import asyncpg

        connection = await asyncpg.connect(database)
        try:
            total = await connection.fetchval("SELECT COUNT(*) FROM status_entries")
            distinct = await connection.fetchval("SELECT COUNT(DISTINCT (list_id, idx)) FROM status_entries")
            return int(total), int(distinct)
        finally:
            await connection.close()

    total, distinct = asyncio.run(distinct_indexes())
    assert total == distinct == 2 * (2 * rows + 1)  # two entries for each credential
