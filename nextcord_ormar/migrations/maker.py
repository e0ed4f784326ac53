"""Make an app's next migration: autogenerate against the live database, or a blank one.

Alembic writes the file; we name it ``<id>_<slug>.py`` without ever overwriting one, and
return what it holds as data (operations, warnings, the script text read once).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy
from alembic import command
from alembic.operations import ops
from sqlalchemy.engine import Connection

from ..errors import MigrationError
from . import bytecode
from .naming import next_revision_id, slugify
from .operations import describe_operations, flatten, name_from_operations, warnings_for
from .owned import order_drops, removed_tables
from .renames import Rename, apply_renames, unanswered_warnings
from .results import MakeResult
from .script_check import ScriptCheckError, verify_script
from .scripts import AppScripts

__all__ = ["make_migration"]


def make_migration(
    conn: Connection,
    scripts: AppScripts,
    message: str | None,
    empty: bool,
    renames: Sequence[Rename] = (),
) -> MakeResult:
    """Write the app's next migration (call it holding the migration lock), comparing the
    database with the app as ``scripts``' snapshot holds it.

    ``renames`` turn dropped + added pairs into renames (see :mod:`.renames`).
    """
    app = scripts.snapshot
    current = scripts.current(conn)
    heads = scripts.heads()
    # An empty migration needs no comparison, so it may follow unapplied ones.
    if heads and current not in heads and not empty:
        pending = [s.revision for s in scripts.path_between(current, heads[0])]
        return MakeResult(app=app.name, outcome="not_up_to_date", pending=pending)
    conn.commit()
    folder = scripts.folder
    folder.mkdir(parents=True, exist_ok=True)
    rev_id = next_revision_id(folder, set(scripts.known()))
    captured: dict[str, Any] = {}

    def directives(context: Any, revision: Any, found: list[Any]) -> None:
        script = found[0]
        upgrade_ops = script.upgrade_ops
        captured["ops"] = upgrade_ops
        if upgrade_ops.is_empty():
            found[:] = []
            return
        order_drops(script)
        apply_renames(script, renames, app.name)
        # The operations as they are now are the ones written (rendering reads, never
        # changes them): described once, for the name and for the result.
        described = captured["operations"] = describe_operations(upgrade_ops)
        name = message or name_from_operations(described, app.name)
        captured["message"] = name
        script.message = name
        if _estimated_size(script) >= bytecode.THRESHOLD // 2:
            bytecode.compile_after_write(context.environment_context.script)

    cfg = scripts.config(connection=conn, removed_tables=removed_tables(scripts), read_only=True)
    if empty:
        name = message or "empty"
        captured["message"] = name
        generated = command.revision(cfg, message=name, rev_id=rev_id)
    else:
        generated = command.revision(
            cfg,
            message=message,
            autogenerate=True,
            rev_id=rev_id,
            process_revision_directives=directives,
        )
    if conn.in_transaction():
        conn.rollback()
    upgrade_ops = captured.get("ops")
    operations = captured.get("operations")
    if operations is None:  # nothing to write, or a blank migration
        operations = describe_operations(upgrade_ops)
    if not generated:
        return MakeResult(app=app.name, outcome="no_changes", operations=operations)
    script_obj = generated[0] if isinstance(generated, list) else generated
    assert script_obj is not None
    path = Path(script_obj.path)
    _refuse_unrunnable(path, script_obj.module, app.name)
    name = captured["message"]
    path = _rename_safely(path, f"{rev_id}_{slugify(name) or 'migration'}.py")
    return MakeResult(
        app=app.name,
        outcome="written",
        revision=rev_id,
        message=name,
        path=path,
        script=path.read_text(encoding="utf-8"),
        operations=operations,
        warnings=warnings_for(upgrade_ops, _tables_with_rows(conn, upgrade_ops))
        + unanswered_warnings(upgrade_ops),
        empty=empty,
    )


def _estimated_size(script: ops.MigrationScript) -> int:
    """A rough size in bytes of the script Alembic will render (bytecode.THRESHOLD's scale).

    About 100 bytes an operation and 80 a column of a created table, both directions.
    """
    size = 0
    for container in (*script.upgrade_ops_list, *script.downgrade_ops_list):
        for op in flatten(container):
            size += 100
            if isinstance(op, ops.CreateTableOp):
                size += 80 * len(op.columns)
    return size


def _refuse_unrunnable(path: Path, module: ModuleType, app: str) -> None:
    """Delete a just-written script that could not run, and say why (see :mod:`.script_check`)."""
    try:
        verify_script(path, module)
    except ScriptCheckError as exc:
        path.unlink(missing_ok=True)
        bytecode.forget(path)
        raise MigrationError(
            f"app {app!r}: the generated migration would fail at upgrade, so nothing was "
            f"written: {exc}"
        ) from None


def _rename_safely(path: Path, wanted_name: str) -> Path:
    """Give Alembic's file our name, unless a file of that name exists (never overwrite)."""
    target = path.with_name(wanted_name)
    if target == path or target.exists():
        return path
    os.rename(path, target)
    bytecode.follow_rename(path, target)  # or a later reading would compile it again
    return target


def _tables_with_rows(conn: Connection, upgrade_ops: ops.UpgradeOps | None) -> set[str]:
    """Which tables touched by column additions or NOT NULL changes already hold rows."""
    if upgrade_ops is None:
        return set()
    names = {
        op.table_name
        for op in flatten(upgrade_ops)
        if isinstance(op, ops.AddColumnOp | ops.AlterColumnOp)
    }
    found = set()
    for name in names:
        try:
            row = conn.execute(
                sqlalchemy.select(sqlalchemy.literal(1))
                .select_from(sqlalchemy.table(name))
                .limit(1)
            ).first()
        except sqlalchemy.exc.DBAPIError:
            conn.rollback()
            continue
        if row is not None:
            found.add(name)
    if conn.in_transaction():
        conn.rollback()
    return found
