"""Where an app stands: what is applied, pending, edited after it ran, or not migrated yet."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import produce_migrations
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from . import ledger
from .environment import ATTRIBUTE
from .operations import describe_operations
from .owned import removed_tables
from .results import AppStatus
from .scripts import AppScripts

__all__ = ["app_status", "diff_if_current", "model_diff"]


def app_status(conn: Connection, scripts: AppScripts, compare: bool) -> AppStatus:
    """Where one app stands: applied revision, heads, pending and tampered scripts, changes."""
    app = scripts.snapshot
    current = scripts.current(conn)
    known = scripts.known()
    heads = scripts.heads()
    unknown_current = current is not None and current not in known
    pending = (
        [scripts.info(s) for s in scripts.path_between(current, heads[0])]
        if heads and not unknown_current
        else []
    )
    recorded = ledger.recorded(conn, app.name)
    chain = known[: known.index(current) + 1] if current in known else []
    tampered = [
        rev
        for rev, script in zip(chain, scripts.revisions(), strict=False)
        if rev in recorded and recorded[rev] != ledger.checksum(Path(script.path))
    ]
    differs: bool | None = None
    changes = []
    if compare:
        upgrade_ops = model_diff(conn, scripts)
        changes = describe_operations(upgrade_ops)
        differs = bool(changes)
    return AppStatus(
        app=app.name,
        current=current,
        heads=heads,
        pending=pending,
        differs=differs,
        changes=changes,
        migrations_path=scripts.folder,
        unknown_current=unknown_current,
        tampered=tampered,
    )


def model_diff(conn: Connection, scripts: AppScripts) -> ops.UpgradeOps:
    """Alembic's comparison of the app's models (as ``scripts``' snapshot holds them) with
    the database."""
    removed = removed_tables(scripts)
    options = scripts.config(removed_tables=removed).attributes[ATTRIBUTE].options()
    context = MigrationContext.configure(connection=conn, opts=options)
    upgrade_ops = produce_migrations(context, scripts.snapshot.metadata).upgrade_ops
    assert upgrade_ops is not None
    return upgrade_ops


def diff_if_current(conn: Connection, scripts: AppScripts) -> ops.UpgradeOps | None:
    """The app's changes, if its database is at its head (else make will refuse)."""
    heads = scripts.heads()
    current = not heads or scripts.current(conn) in heads
    return model_diff(conn, scripts) if current else None
