"""The ``didvc`` command: the composition root that joins every component's command group.

Its own top-level package, above the components, so that the core and the components import
nothing of it. ``didvc_cli.support`` holds what the command groups share.
"""

from didvc_cli.main import main

__all__ = ["main"]
