"""The options of ``migrate`` and ``check`` that concern the history: ``--replay``,
``--replay-url`` (or ``replay_url`` in ``nxalembic.ini``), ``--rename`` and ``--rename-table``.
"""

from __future__ import annotations

import argparse
import contextlib

from ..apps import OrmarApp, Registry
from ..errors import UsageError
from ..migrations import MigrationEngine
from ..migrations.renames import Rename, RenameColumn, parse_rename
from ..migrations.replay import replayed
from .project import ProjectConfig

__all__ = ["compared_with", "renames", "wants_replay"]


def wants_replay(args: argparse.Namespace) -> bool:
    """Whether to compare with the replayed history instead of the live database."""
    return bool(getattr(args, "replay", False) or getattr(args, "replay_url", None))


def compared_with(
    engine: MigrationEngine,
    apps: list[OrmarApp],
    args: argparse.Namespace,
    config: ProjectConfig | None,
) -> contextlib.AbstractAsyncContextManager[MigrationEngine]:
    """The engine to compare with: the live database's, or (``--replay``) one over the
    history replayed into a scratch database, dropped when the block ends."""
    if not wants_replay(args):
        return contextlib.nullcontext(engine)
    url = getattr(args, "replay_url", None) or (config.replay_url if config else None)
    return replayed(engine, apps, url)


def renames(args: argparse.Namespace, registry: Registry) -> list[Rename]:
    """``--rename`` and ``--rename-table``; each must name a table of a loaded app."""
    given = [parse_rename(text) for text in args.rename]
    given += [parse_rename(text, table=True) for text in args.rename_table]
    for rename in given:
        table = rename.table if isinstance(rename, RenameColumn) else rename.new
        if registry.table_owner(table) is None:
            raise UsageError(f"--rename: no loaded app has a table {table!r}")
    return given
