"""What the command groups of :class:`~.cli.Cli` (mixins) rely on, and the exit statuses.

Commands are grouped by what they do: the ones that move or record revisions in
:mod:`.writes`, ``backup``/``restore`` in :mod:`.backups`, the history options of
``migrate``/``check`` in :mod:`.history`, and reading and making in :mod:`.cli` itself. A
group is a mixin of :class:`CommandBase`; ``Cli`` supplies the members declared here.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from ..apps import OrmarApp
from ..migrations.questions import Questioner

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "CommandBase"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandBase:
    """The parts of one ``nxalembic`` run that every command group uses (given by ``Cli``)."""

    args: argparse.Namespace
    verbose: bool

    def say(self, lines: Iterable[str]) -> None:
        """Print ``lines`` on stdout, passwords scrubbed."""
        raise NotImplementedError

    def prompt(self) -> Questioner:
        """The terminal's questioner (``--yes``, ``[y/N]``, or a refusal)."""
        raise NotImplementedError

    def _apps(self) -> list[OrmarApp]:
        """The app given on the command line, or every app in dependency order."""
        raise NotImplementedError
