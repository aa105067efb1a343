"""Groups of credentials issued back to back on two cores: the path of ``didvc issuer batch``.

:func:`issuer._issuance.issue_group` signs a group inside its transaction, so the worker process
(:class:`didvc.worker.TransformWorker`) waits whenever this process begins, allocates, records
and commits: a quarter of each group's time. Here a group takes two short transactions
instead, and the worker always has the next group in hand:

1. *reserve*: the group's status entries are placed and committed, and the worker's share of
   its transformations is queued (:func:`issuer._issuance.securing`);
2. the next group is reserved and its worker share queued the same way, behind this one's;
3. this process secures the rest of this group, and once the group is signed, one
   transaction records it and commits.

The write lock is no longer held while a group is signed. A reservation only advances a
list's counter: a process killed between the two transactions leaves its reserved indexes
unused (no credential names them, their bits stay 0) and a re-run issues those rows on new
ones. The record transaction looks at the batch keys again, so a row another process issued
meanwhile is given back, not issued twice; anything failing there issues the group one by
one, as :func:`~issuer._issuance.issue_group` does (docs/decisions.md, "Batches in two
transactions").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

from didvc import jsonld
from didvc.errors import DidvcError, IssuerError
from didvc.keys import KeySigner
from didvc.worker import TransformWorker
from issuer._inventory import stored_credential
from issuer._issuance import (
    Draft,
    Outcome,
    Request,
    all_secured,
    drafts_of,
    issue_group,
    made_before,
    one_by_one,
    prepare,
    record,
    securing,
    worker_share,
)
from issuer._keys import IssuerKeys
from issuer._lists import StatusLists
from issuer._store import Store

__all__ = ["issue_groups", "new_worker"]

#: The worker's share of a group's transformations. This process also reserves, signs,
#: records and commits every group, and the worker no longer waits while it does.
WORKER_SHARE: Final = 0.85


def new_worker() -> TransformWorker:
    """An issuer's worker, started (it may hold two groups' jobs at once). Called in a coroutine,
    it also has this process load the JSON-LD processor at the event loop's next turn: while
    the passphrase's key derivation runs in its thread (:meth:`issuer.Issuer.open`), not in
    the first group (2,000 credentials: 1.12 s → 1.05 s)."""
    worker = TransformWorker(max_pending=1024, busy_error=IssuerError)
    worker.start()
    with contextlib.suppress(RuntimeError):  # no running loop: it loads at the first group
        asyncio.get_running_loop().call_soon(jsonld.load)
    return worker


class _Started(NamedTuple):
    """A group reserved, being secured."""

    requests: Sequence[Request]
    outcomes: list[Outcome]  # refusals and credentials made before are already in place
    drafts: list[Draft]
    signer: KeySigner
    worker_tasks: list[asyncio.Future[dict[str, Any] | str]]  # the first drafts', in the worker


async def issue_groups(
    store: Store,
    keys: IssuerKeys,
    lists: StatusLists,
    groups: Sequence[Sequence[Request]],
    *,
    clock: Callable[[], datetime],
    worker: TransformWorker | None,
) -> AsyncIterator[list[Outcome]]:
    """Each of ``groups`` issued, its outcomes yielded as :func:`issue_group` returns them, one
    durable commit per group. Without a ready worker a group is issued by ``issue_group``."""
    ahead: _Started | None = None
    try:
        for n, requests in enumerate(groups):
            current, ahead = ahead, None
            if current is None and worker is not None and worker.ready:
                current = await _start(store, keys, lists, requests, worker)
            if current is not None and worker is not None and n + 1 < len(groups):
                ahead = await _start(store, keys, lists, groups[n + 1], worker)
            if current is None:
                yield await issue_group(store, keys, lists, requests, issued=clock(), worker=worker)
            else:
                yield await _finish(store, keys, lists, current, clock())
    finally:
        if ahead is not None:  # the caller stopped early: what was started for nothing stops
            for task in ahead.worker_tasks:
                task.cancel()


async def _start(
    store: Store, keys: IssuerKeys, lists: StatusLists, requests: Sequence[Request], worker: TransformWorker
) -> _Started | None:
    """The group reserved and the worker's share of it queued; None if the reservation failed
    (the group is then issued as :func:`issue_group` issues one)."""
    outcomes, bodies, signer = await prepare(keys, requests)
    try:
        async with store.transaction() as tx:
            drafts = await drafts_of(tx, lists, bodies, outcomes)
    except DidvcError:
        return None
    cut = worker_share(len(drafts), WORKER_SHARE, worker)
    return _Started(requests, outcomes, drafts, signer, securing(drafts[:cut], signer, worker.run))


async def _finish(
    store: Store, keys: IssuerKeys, lists: StatusLists, group: _Started, issued: datetime
) -> list[Outcome]:
    """The started ``group`` signed and recorded in one transaction."""
    outcomes = group.outcomes
    try:
        own = securing(group.drafts[len(group.worker_tasks) :], group.signer)
        secured = await all_secured([*group.worker_tasks, *own])
        async with store.transaction() as tx:
            made = await made_before(tx, [d.request for d in group.drafts])
            for draft, credential in zip(group.drafts, secured, strict=True):
                key = draft.request.batch_key
                if key in made:  # issued meanwhile by another process: that one, not a second
                    outcomes[draft.position] = stored_credential(*made[key])
                    continue
                await record(tx, draft, credential, issued)
                outcomes[draft.position] = credential
    except DidvcError as error:
        return await one_by_one(store, keys, lists, group.requests, issued, error)
    return outcomes
