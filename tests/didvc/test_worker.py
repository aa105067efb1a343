"""The worker process that canonicalizes unseen credentials: answers, errors, bounds, restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from didvc.errors import CanonicalizationLimitError, DidvcError, VerifierBusyError
from didvc.proofs import TransformJob
from didvc.worker import TransformWorker
from tests.helpers import AGENT_CONTEXT, Party, agent_credential


def _job(document: dict[str, Any], factor: float = 1) -> TransformJob:
    config = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "@context": document["@context"],
    }
    return TransformJob("eddsa-rdfc-2022", document, config, "Ed25519", factor)


def _poison(n: int) -> dict[str, Any]:
    context = {"link": {"@id": "https://example.org/link", "@type": "@id"}}
    nodes = [{"@id": f"_:n{i}", "link": [f"_:n{j}" for j in range(n) if j != i]} for i in range(n)]
    return {"@context": context, "@graph": nodes}


@pytest.fixture
async def worker() -> Any:
    started = TransformWorker(max_pending=2)
    yield started
    started.close()


async def test_the_worker_says_when_it_has_started(worker: TransformWorker) -> None:
    assert not worker.ready  # not even asked to start
    worker.start()
    for _ in range(200):
        if worker.ready:
            break
        await asyncio.sleep(0.05)
    assert worker.ready
    worker.close()
    assert not worker.ready


async def test_the_worker_computes_what_the_job_computes_here(worker: TransformWorker) -> None:
    document = agent_credential(Party(), "did:example:agent", ["orders:read"])
    assert document["@context"][1] == AGENT_CONTEXT
    assert await worker.run(_job(document)) == _job(document).compute()


def test_the_warm_up_job_is_a_job_that_computes() -> None:
    """The worker runs it before it is ready, so that no request pays for the first
    canonicalization of a process; a document that failed would warm up nothing, silently."""
    from didvc.worker import _WARM_UP

    assert len(_WARM_UP.compute()) == 64  # two SHA-256 digests
    assert _WARM_UP.document["@context"] == agent_credential(Party(), "did:example:a", [])["@context"]


async def test_errors_come_back_as_themselves(worker: TransformWorker) -> None:
    with pytest.raises(CanonicalizationLimitError) as info:
        await worker.run(_job(_poison(8)))
    assert info.value.code == "CANONICALIZATION_LIMIT_ERROR"
    with pytest.raises(DidvcError) as unknown:
        await worker.run(_job({"@context": "https://unknown.example/ctx", "name": "x"}))
    assert unknown.value.code == "UNKNOWN_CONTEXT_ERROR"


async def test_beyond_the_pending_bound_the_verifier_is_busy(worker: TransformWorker) -> None:
    document = agent_credential(Party(), "did:example:agent", ["orders:read"])
    jobs = [worker.run(_job(document)) for _ in range(4)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    busy = [r for r in results if isinstance(r, VerifierBusyError)]
    assert len(busy) == 2 and all(b.could_not_check for b in busy)
    assert all(isinstance(r, bytes) for r in results if not isinstance(r, VerifierBusyError))


async def test_a_worker_that_dies_fails_its_jobs_and_is_started_again(worker: TransformWorker) -> None:
    large = agent_credential(Party(), "did:example:agent", ["orders:read"])
    large["evidence"] = [{"id": f"urn:evidence:{i}", "name": f"item {i}"} for i in range(20_000)]
    slow = asyncio.ensure_future(worker.run(_job(large)))
    await asyncio.sleep(0.3)  # the job is in the worker, for a second or so
    channel = worker._channel
    assert channel is not None
    channel.process.kill()
    with pytest.raises(VerifierBusyError):
        await slow
    document = agent_credential(Party(), "did:example:agent", ["orders:read"])
    assert await worker.run(_job(document)) == _job(document).compute()


async def test_contexts_registered_here_reach_the_worker_once_and_again_after_a_restart(
    worker: TransformWorker,
) -> None:
    from didvc import jsonld
    from didvc.credentials import CREDENTIALS_V2

    url = "https://didvc.test/worker-context/v1"
    jsonld.register_context(url, {"@context": {"role": "https://didvc.test/worker#role"}})
    document = {"@context": [CREDENTIALS_V2, url], "@id": "urn:example:1", "role": "auditor"}
    expected = _job(document).compute()
    assert await worker.run(_job(document)) == expected
    assert await worker.run(_job(document)) == expected  # sent with the first job only
    worker.close()  # the next job starts a fresh worker, which is sent the context again
    assert await worker.run(_job(document)) == expected
