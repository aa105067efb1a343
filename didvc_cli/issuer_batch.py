"""``didvc issuer batch`` and ``didvc issuer export``: many credentials at once, and stored
credentials written out again.

A batch issues its rows in groups, one transaction each, under the batch's name; a row already
issued under that name (same agent, claims and lifetime: its content, not its place in the
file) is skipped. The output is written last, from the store, replacing the file whole: after a
crash at any point, running the same command again issues what is missing and leaves in
``--out`` every credential of the batch exactly once.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from didvc.errors import DidvcError
from didvc.storage import write_atomically
from didvc_cli.issuer_common import SUITE, Options, emit_result, with_issuer
from didvc_cli.support import Progress, fail, parse_duration

if TYPE_CHECKING:  # the component loads when a command runs: --help stays fast
    from issuer import BatchRow, Issuer, Securing

__all__ = ["batch", "export"]

#: Credentials per transaction: one durable commit each, and at most this many to redo after a crash
#: (a 2,000-row batch on two cores: 1.29 s in groups of 100, 1.39 s in groups of 50; 200 gains nothing).
GROUP = 100

_OUT = click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the credentials to one JSONL file (replaced whole).",
)
_OUT_DIR = click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Write one file per credential."
)


@click.command("batch")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch",
    "name",
    default="default",
    show_default=True,
    help="The batch's name: a row already issued under it is not issued again (renewal: a new name).",
)
@_OUT
@_OUT_DIR
@SUITE
@click.pass_obj
def batch(
    options: Options, source: Path, name: str, out_file: Path | None, out_dir: Path | None, suite: Securing
) -> None:
    """Issue a credential for every row of a CSV or JSONL file (re-run to resume)."""
    from issuer import batch_key, read_rows

    try:
        rows = list(read_rows(source))
    except (UnicodeDecodeError, csv.Error) as error:
        fail(
            DidvcError(f"{source.name} is not a UTF-8 CSV or JSONL file: {error}", code="PARSING_ERROR"),
            options.as_json,
        )

    async def work(issuer: Issuer) -> dict[str, Any]:
        failed: list[dict[str, Any]] = []
        known = await issuer.batch_keys([batch_key(name, row) for row in rows if row.error is None])
        todo: dict[str, tuple[BatchRow, Any]] = {}
        skipped = 0
        for row in rows:
            key = batch_key(name, row)
            if row.error is not None or row.agent is None:
                failed.append({"line": row.line, "error": row.error})
            elif key in known or key in todo:  # issued before, or the same row twice in the file
                skipped += 1
            else:
                try:
                    valid_for = parse_duration(row.valid_for) if row.valid_for else None
                except click.BadParameter as error:
                    failed.append({"line": row.line, "error": f"[BAD_PARAMETER] {error}"})
                    continue
                request = issuer.request(
                    row.agent, claims=row.claims, valid_for=valid_for, securing=suite, batch_key=key
                )
                todo[key] = (row, request)
        progress = Progress(len(todo), quiet=options.as_json)
        pending = list(todo.values())
        groups = [pending[start : start + GROUP] for start in range(0, len(pending), GROUP)]
        issued = 0
        results = issuer.issue_groups([[request for _, request in group] for group in groups])
        for group in groups:
            outcomes = await anext(results)
            for (row, _), outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, DidvcError):
                    failed.append({"line": row.line, "error": f"[{outcome.code}] {outcome}"})
                else:
                    issued += 1
            progress.step(len(group))
        progress.done()
        credentials = await issuer.stored_credentials(batch=name)
        _write(credentials, out_file, out_dir)
        return {
            "batch": name,
            "issued": issued,
            "skipped": skipped,
            "failed": failed,
            "stored": len(credentials),
        }

    # a second core for the proofs, when there is more than a group of them to transform
    parallel = suite.transforms and len(rows) > GROUP
    report = with_issuer(options, work, parallel=parallel)
    counts = (report["issued"], report["skipped"], len(report["failed"]))
    summary = "issued {}, skipped {} already issued, failed {}".format(*counts)
    lines = "".join(f"\n  line {f['line']}: {f['error']}" for f in report["failed"])
    emit_result(options, report, summary + lines)
    if report["failed"]:
        raise SystemExit(1)


@click.command("export")
@click.option("--id", "credential_id", help="One credential, by its id.")
@click.option("--agent", help="Every credential issued to this agent DID.")
@click.option("--batch", "name", help="Every credential of the batch of this name.")
@_OUT
@_OUT_DIR
@click.pass_obj
def export(
    options: Options,
    credential_id: str | None,
    agent: str | None,
    name: str | None,
    out_file: Path | None,
    out_dir: Path | None,
) -> None:
    """Write stored credentials again, as they were issued (by --id, --agent or --batch)."""
    if sum(x is not None for x in (credential_id, agent, name)) != 1:
        raise click.UsageError("name exactly one of --id, --agent or --batch")

    async def work(issuer: Issuer) -> list[Any]:
        if credential_id is not None:
            return [await issuer.credential(credential_id)]
        return await issuer.stored_credentials(batch=name, agent=agent)

    credentials = with_issuer(options, work)
    if out_file is None and out_dir is None:
        for credential in credentials:
            click.echo(_text(credential))
        return
    _write(credentials, out_file, out_dir)
    emit_result(options, {"exported": len(credentials)}, f"exported {len(credentials)} credential(s)")


def _text(credential: dict[str, Any] | str) -> str:
    return credential if isinstance(credential, str) else json.dumps(credential)


def _write(credentials: Sequence[dict[str, Any] | str], out_file: Path | None, out_dir: Path | None) -> None:
    """``out_file`` replaced whole by one line per credential; in ``out_dir`` one file each,
    named by its content (so a re-run writes the same names)."""
    if out_file is not None:
        write_atomically(out_file, "".join(_text(c) + "\n" for c in credentials).encode(), private=False)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for credential in credentials:
            text = _text(credential)
            name = hashlib.sha256(text.encode()).hexdigest()[:24]
            suffix = "jwt" if isinstance(credential, str) else "json"
            write_atomically(out_dir / f"{name}.{suffix}", text.encode(), private=False)
