"""What every command group shares: running a coroutine and reporting failures."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from didvc.errors import DidvcError

__all__ = ["fail", "run"]

T = TypeVar("T")


def fail(error: DidvcError, as_json: bool) -> NoReturn:
    """Print ``error [CODE]: message`` (or a JSON error object) and exit with status 1."""
    if as_json:
        click.echo(json.dumps({"error": {"code": error.code, "message": str(error)}}))
    else:
        click.echo(f"error [{error.code}]: {error}", err=True)
    sys.exit(1)


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]], as_json: bool) -> T:
    """Run a coroutine; a :class:`DidvcError` becomes a clean message and exit status 1."""
    try:
        return asyncio.run(coro_fn())
    except DidvcError as error:
        fail(error, as_json)
    except OSError as error:
        fail(DidvcError(str(error), code="IO_ERROR"), as_json)
