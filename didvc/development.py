"""Development switches, and the one rule that governs them: none is allowed when the
environment says this is production (``DIDVC_PRODUCTION=1``).

A development switch relaxes a safety rule so that everything can run on one machine or trust
anything in a test: plain http and loopback addresses for did:web and status lists
(``allow_http``, ``allow_loopback``, the CLI's ``--allow-loopback``), any issuer's credential
(``trust_any_issuer``), tokens signed before a server started (the in-memory replay cache's
``refuse_earlier_tokens=False``, for load tests). Each says so loudly when on; with
``DIDVC_PRODUCTION`` set, turning one on is refused outright (``POLICY_ERROR``), so a
development configuration cannot reach a production machine by mistake.
"""

from __future__ import annotations

import os
from typing import Final

from didvc.errors import PolicyError

__all__ = ["PRODUCTION_ENV", "in_production", "refuse_in_production"]

PRODUCTION_ENV: Final = "DIDVC_PRODUCTION"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})


def in_production() -> bool:
    """Whether ``DIDVC_PRODUCTION`` says this is production."""
    return os.environ.get(PRODUCTION_ENV, "").strip().lower() in _TRUE


def refuse_in_production(switch: str) -> None:
    """Raise :class:`PolicyError` when ``switch`` (a development switch being turned on) meets
    a production environment."""
    if in_production():
        raise PolicyError(f"{switch} is a development switch, refused: {PRODUCTION_ENV} is set")
