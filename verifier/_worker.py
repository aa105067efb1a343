"""The verifier's worker: canonicalization of unseen credentials at the lowest CPU priority.

See :mod:`didvc.worker`. One per process, shared by every verifier and event loop, at nice 19:
an attacker's cold credentials cost that process's time, not the API's event loop.
"""

from __future__ import annotations

import threading
from typing import Final

from didvc.errors import VerifierBusyError
from didvc.worker import TransformWorker

__all__ = ["shared_worker"]

_NICENESS: Final = 19
_shared: TransformWorker | None = None
_shared_lock = threading.Lock()


def shared_worker() -> TransformWorker:
    """The process's one verification worker, created on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TransformWorker(niceness=_NICENESS, busy_error=VerifierBusyError)
        return _shared
