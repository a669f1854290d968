"""The ``kernpunt`` command line (entry point ``backend.cli:main``).

Commands live in the modules of this package and register themselves on the root
group in ``backend.cli.base``; importing them here is what makes them exist.
"""

from __future__ import annotations

from backend.cli import expiry, housekeeping, ledger, people, reports, server  # noqa: F401  (registers the commands)
from backend.cli.base import CliError, cli  # noqa: F401  (public)


def main() -> None:
    """Console-script entry point (``kernpunt``)."""
    cli(prog_name="kernpunt")
