"""The command-line reference (docs/cli.md), written from the commands themselves.

``python -m didvc_cli.reference > docs/cli.md`` writes it; a test checks the file is what this
writes, so the reference cannot drift from the code.
"""

from __future__ import annotations

import click

from didvc_cli.main import main

__all__ = ["reference"]

_WIDTH = 100


def reference() -> str:
    """Every command's ``--help``, the groups first, as Markdown."""
    root = click.Context(main, info_name="didvc", terminal_width=_WIDTH, max_content_width=_WIDTH)
    parts = [
        "# Command-line reference",
        "",
        "Written by `python -m didvc_cli.reference > docs/cli.md` from the commands themselves (a",
        "test keeps it current). Every option's default can also come from a configuration file",
        "(`--config`, see `didvc --help`); a group's options go before or after its subcommand.",
        "",
        "Shell completion (commands, options, choices), from click: add one line to your shell's",
        "start-up file.",
        "",
        "```sh",
        'eval "$(_DIDVC_COMPLETE=bash_source didvc)"                                 # ~/.bashrc',
        'eval "$(_DIDVC_COMPLETE=zsh_source didvc)"                                  # ~/.zshrc',
        "_DIDVC_COMPLETE=fish_source didvc > ~/.config/fish/completions/didvc.fish   # fish",
        "```",
        "",
    ]
    _describe(root, main, ["didvc"], parts)
    return "\n".join(parts).rstrip() + "\n"


def _describe(ctx: click.Context, command: click.Command, path: list[str], parts: list[str]) -> None:
    parts += [
        f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`",
        "",
        "```text",
        command.get_help(ctx),
        "```",
        "",
    ]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            sub_ctx = click.Context(
                sub, info_name=name, parent=ctx, terminal_width=_WIDTH, max_content_width=_WIDTH
            )
            _describe(sub_ctx, sub, [*path, name], parts)


if __name__ == "__main__":
    click.echo(reference(), nl=False)
