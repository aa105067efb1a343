"""Proof transformations in a worker process: off the event loop, and on another core.

Canonicalizing a credential (RDFC-1.0) is the expensive step of a proof. Each
:class:`~didvc.proofs.TransformJob` goes, as one frame (job id, length, ``marshal`` of its JSON
fields: the same interpreter reads it back), to a worker process (``python -m didvc.worker``)
that answers with the hash or the problem. At most ``max_pending`` jobs wait; beyond that the
caller gets ``busy_error`` rather than a queue without end.

The verifier runs one at the lowest CPU priority (nice 19, :mod:`verifier._worker`): anyone can
send a credential that *claims* a trusted issuer, and an attacker's cold credentials then cost
that process's time while the API's event loop keeps answering. The issuer runs one at normal
priority to sign a batch on two cores (:mod:`issuer._groups`).

One worker serves every event loop of a process: a writer and a reader thread move frames
between the loops and the pipes. A worker that dies fails its pending jobs (``busy_error``) and
is started again on the next job.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import marshal
import os
import queue
import struct
import subprocess
import sys
import threading
from typing import Any, Final

from didvc import errors, jsonld
from didvc.credentials import CREDENTIALS_V2
from didvc.errors import DidvcError, ParsingError, VerifierBusyError
from didvc.proofs import TransformJob

__all__ = ["MAX_PENDING", "TransformWorker"]

#: Jobs that may wait for the worker; one more is refused as busy.
MAX_PENDING: Final = 64
_HEADER: Final = struct.Struct("!QI")  # job id, payload length
_READY: Final = (1 << 64) - 1  # the id of the frame a worker sends once it has started


def _frame(job_id: int, value: Any) -> bytes:
    payload = marshal.dumps(value, 2)
    return _HEADER.pack(job_id, len(payload)) + payload


def _read_frame(stream: Any) -> tuple[int, Any] | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    job_id, length = _HEADER.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        return None
    return job_id, marshal.loads(payload)  # noqa: S302 -- frames between our own two processes


class _Channel:
    """One running worker process, its outgoing lines and the jobs waiting for its answers."""

    def __init__(self, niceness: int) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- this interpreter, our module, an int
            [sys.executable, "-m", "didvc.worker", str(niceness)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        self.outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.contexts_sent: set[str] = set()  # registered contexts this process already has
        self.pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[bytes]]] = {}
        self.ready = threading.Event()  # set by its first frame, once its imports are done
        threading.Thread(target=self._write, daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _write(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        while (line := self.outbox.get()) is not None:
            try:
                stdin.write(line)
                stdin.flush()
            except OSError:
                break
        with contextlib.suppress(OSError):
            stdin.close()


class TransformWorker:
    """A worker process computing :class:`TransformJob` hashes, shared by every event loop;
    ``niceness`` is its CPU priority (0 normal, 19 lowest)."""

    def __init__(
        self,
        *,
        max_pending: int = MAX_PENDING,
        niceness: int = 0,
        busy_error: type[DidvcError] = VerifierBusyError,
    ) -> None:
        self.max_pending = max_pending
        self.niceness = niceness
        self.busy_error = busy_error
        self._lock = threading.Lock()
        self._channel: _Channel | None = None
        self._ids = itertools.count()

    @property
    def ready(self) -> bool:
        """Whether the worker has started and answers at once (a caller with a choice, such as
        an issuer with a group to sign, does the work itself until then)."""
        channel = self._channel
        return channel is not None and channel.alive and channel.ready.is_set()

    def start(self) -> None:
        """Start the worker now (it takes a few hundred milliseconds to import), not on the first
        job; a running worker is left as it is."""
        with self._lock:
            self._channel_locked()

    def _channel_locked(self) -> _Channel:
        channel = self._channel
        if channel is None or not channel.alive:
            channel = self._channel = _Channel(self.niceness)
            threading.Thread(target=self._read, args=(channel,), daemon=True).start()
        return channel

    async def run(self, job: TransformJob) -> bytes:
        """The job's hash, computed by the worker; raises the job's own error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        request = {
            "cryptosuite": job.cryptosuite,
            "document": job.document,
            "config": job.config,
            "key_type": job.key_type,
            "max_work_factor": job.max_work_factor,
        }
        with self._lock:
            channel = self._channel_locked()
            if len(channel.pending) >= self.max_pending:
                raise self.busy_error("too many proofs are waiting for the worker; try again shortly")
            # Contexts registered since the worker started travel once, ahead of the jobs that
            # need them (frames go out in order); a restarted worker gets them all again.
            contexts = {
                url: document
                for url, document in jsonld.registered_contexts().items()
                if url not in channel.contexts_sent
            }
            request["contexts"] = contexts
            job_id = next(self._ids)
            try:
                frame = _frame(job_id, request)
            except ValueError:  # not plain JSON values (a caller's object)
                raise ParsingError("the document is not plain JSON") from None
            channel.contexts_sent.update(contexts)
            channel.pending[job_id] = (loop, future)
        channel.outbox.put(frame)
        return await future

    def close(self) -> None:
        with self._lock:
            channel, self._channel = self._channel, None
        if channel is not None:
            channel.outbox.put(None)
            with contextlib.suppress(OSError):
                channel.process.terminate()

    def _read(self, channel: _Channel) -> None:
        stdout = channel.process.stdout
        assert stdout is not None
        while (frame := _read_frame(stdout)) is not None:
            job_id, answer = frame
            if job_id == _READY:
                channel.ready.set()
                continue
            with self._lock:
                waiting = channel.pending.pop(job_id, None)
            if waiting is not None:
                loop, future = waiting
                with contextlib.suppress(RuntimeError):  # a closed loop has no one waiting
                    loop.call_soon_threadsafe(_settle, future, answer)
        channel.process.wait()
        with self._lock:  # the worker is gone: what it had not answered could not be checked
            lost, channel.pending = channel.pending, {}
        busy = self.busy_error
        for loop, future in lost.values():
            answer = {"error": [busy.__name__, busy.code, "the transformation worker stopped"]}
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, answer)


def _settle(future: asyncio.Future[bytes], answer: dict[str, Any]) -> None:
    if future.done():
        return
    if "hash" in answer:
        future.set_result(answer["hash"])
        return
    name, code, message = answer["error"]
    error_class = getattr(errors, name, None)
    if not (isinstance(error_class, type) and issubclass(error_class, DidvcError)):
        error_class = VerifierBusyError
    future.set_exception(error_class(message, code=code))


_AGENT_CONTEXT: Final = "https://w3id.org/didvc/agent/v1"  # the issuer's (a floor above), bundled here
#: A credential and proof configuration of the shape most jobs have: an agent credential as the
#: issuer writes it (the VC 2.0 and agent contexts, a status entry, the context's digest).
_WARM_UP: Final = TransformJob(
    cryptosuite="eddsa-rdfc-2022",
    document={
        "@context": [CREDENTIALS_V2, _AGENT_CONTEXT],
        "type": ["VerifiableCredential", "AgentCredential"],
        "issuer": "did:example:worker",
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:agent", "agentName": "a", "owner": "o", "scope": ["s"]},
        "credentialStatus": {
            "id": "https://worker.example/status/1#0",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "0",
            "statusListCredential": "https://worker.example/status/1",
        },
        "relatedResource": [{"id": _AGENT_CONTEXT, "digestSRI": "sha384-0"}],
    },
    config={
        "@context": [CREDENTIALS_V2],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-01T00:00:00Z",
        "verificationMethod": "did:example:worker#key",
        "proofPurpose": "assertionMethod",
    },
    key_type="Ed25519",
    max_work_factor=1.0,
)


def _warm_up() -> None:
    """One small job before the worker is ready: a process's first canonicalization takes
    several times the next (pyld processes the contexts, the code runs for the first time),
    4.6 ms against 0.7 here, and a request would wait for it."""
    with contextlib.suppress(Exception):  # only a head start: the worker serves without it
        _WARM_UP.compute()


def _serve(niceness: int) -> None:
    """The worker's side: one frame per job in, one per answer out, until stdin closes."""
    if niceness:
        with contextlib.suppress(OSError, AttributeError):
            os.nice(niceness)
    source, out = sys.stdin.buffer, sys.stdout.buffer
    jsonld.load()  # before the worker is ready, not in its first job
    _warm_up()
    out.write(_frame(_READY, {}))
    out.flush()
    while (frame := _read_frame(source)) is not None:
        job_id, request = frame
        try:
            for url, document in request.pop("contexts").items():
                with contextlib.suppress(ValueError):
                    jsonld.register_context(url, document)
            answer: dict[str, Any] = {"hash": TransformJob(**request).compute()}
        except DidvcError as error:
            answer = {"error": [type(error).__name__, error.code, str(error)]}
        except Exception as error:
            failure = f"cannot transform ({type(error).__name__})"
            answer = {"error": ["ParsingError", "PARSING_ERROR", failure]}
        out.write(_frame(job_id, answer))
        out.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
