"""``nxalembic backup`` and ``nxalembic restore``, and the backup options of every write.

The engine makes and restores backups (:mod:`nextcord_ormar.migrations.backup`); this module
turns the command line into its settings, asks before a restore, and prints what happened.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..migrations import Backups, MigrationEngine
from . import output
from .commands import EXIT_OK, CommandBase

__all__ = ["BackupCommands", "backup_settings"]


def backup_settings(args: argparse.Namespace, bot: Any) -> Backups:
    """The bot's backup policy with ``--backup/--no-backup``, ``--backup-dir`` and
    ``--keep-backups`` laid over it."""
    settings = Backups.of(getattr(bot, "backups", None))
    changes: dict[str, Any] = {}
    if getattr(args, "backup", None) is not None:
        changes["enabled"] = args.backup
    if getattr(args, "backup_dir", None):
        changes["folder"] = Path(args.backup_dir)
    if getattr(args, "keep_backups", None) is not None:
        changes["keep"] = args.keep_backups if args.keep_backups > 0 else None
    return dataclasses.replace(settings, **changes)


class BackupCommands(CommandBase):
    """The ``backup`` and ``restore`` commands of :class:`~.cli.Cli`."""

    async def cmd_backup(self, engine: MigrationEngine) -> int:
        apps = [self.args.app] if self.args.app else None
        self.say(output.backup_lines(await engine.backup(apps)))
        return EXIT_OK

    async def cmd_restore(self, engine: MigrationEngine) -> int:
        path = Path(self.args.file)
        if not path.is_file():
            raise UsageError(f"nothing restored: no file {path}")
        result = await engine.restore(path, questioner=self.prompt())
        self.say(output.backup_lines(result.backup))
        self.say([f"restored {output.display_path(result.path)} (with {result.tool})"])
        return EXIT_OK
