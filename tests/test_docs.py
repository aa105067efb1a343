"""The documentation cannot drift from the commands: every ``didvc`` command line in the README
and docs/*.md names commands and options that exist (parsed by the command line itself, nothing
run), and every Python block compiles: a fast first check. Every block also runs, on a
loopback stage, in tests/e2e/test_docs_run.py; docs/cli.md is checked in tests/test_cli.py."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import click
import pytest

from didvc_cli.main import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "<<<"}


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def _command_lines(block: str) -> list[list[str]]:
    """Each ``didvc ...`` invocation of a shell block, as its arguments."""
    found = []
    for line in block.replace("\\\n", " ").splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for n, token in enumerate(tokens):
            if (
                token == "didvc"
                or token.endswith("$(didvc")
                or (token.endswith("/didvc") and "://" not in token)
            ):
                args = []
                for arg in tokens[n + 1 :]:
                    if arg in _OPERATORS:
                        break
                    args.append(arg.removesuffix(")"))
                    if arg.endswith(")"):
                        break
                found.append(args)
    return found


def _parse(args: list[str]) -> str:
    """The command ``args`` name, parsed as the command line would (no callback of a command
    runs); a missing file or argument is fine in a document, an unknown command or option not."""
    ctx = main.make_context("didvc", list(args))
    command: click.Command = main
    while isinstance(command, click.Group):
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            break
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        with contextlib.suppress(click.BadParameter, click.MissingParameter):
            ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return command.name or ""


CASES = [
    (path.name, args)
    for path in DOCS
    for block in _blocks(path, "sh")
    for args in _command_lines(block)
    if args and not {"--help", "--version"} & set(args)
]


def test_the_documents_show_many_commands() -> None:
    assert len(CASES) > 40 and {a[0] for _, a in CASES} >= {"issuer", "wallet", "verify", "demo"}


@pytest.mark.parametrize(
    ("document", "args"), CASES, ids=[f"{d}: didvc {' '.join(a)[:60]}" for d, a in CASES]
)
def test_each_documented_command_exists_with_its_options(document: str, args: list[str]) -> None:
    try:
        _parse(args)
    except (click.BadParameter, click.MissingParameter):
        pass  # a placeholder path or an argument the document leaves to the reader
    except click.UsageError as error:
        pytest.fail(f"{document}: didvc {' '.join(args)}: {error}")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_each_python_block_compiles(path: Path) -> None:
    for number, block in enumerate(_blocks(path, "python")):
        doctest = ">>>" in block  # its prompts go; elsewhere ``...`` is Python's Ellipsis
        source = re.sub(r"^(\s*)(>>>|\.\.\.) ?", r"\1", block, flags=re.M) if doctest else block
        try:
            compile(source, f"{path.name} block {number}", "exec", flags=0x2000)  # top-level await
        except SyntaxError as error:
            pytest.fail(f"{path.name}, Python block {number}: {error}")
