"""What a migration step destroys, read from its operations rather than from its text.

The step's ``upgrade()`` (or ``downgrade()``) runs against a recording ``op`` that keeps
every operation and executes none: ``op.drop_table``, batch aliases
(``with op.batch_alter_table(...) as b: b.drop_column(...)``), raw ``op.execute("DROP ...")``,
``TRUNCATE`` and ``DELETE``, and type narrowing all show up, whatever the script calls its
variables. A script that cannot be recorded (it reads the database through
``op.get_bind()``, say) counts as destructive: the engine asks rather than guesses.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, Literal

import sqlalchemy
from alembic.operations import BatchOperations, Operations, ops
from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from sqlalchemy.engine import Connection

from ..errors import first_line
from .operations import flatten, is_narrowing
from .results import Loss

__all__ = ["count_rows", "losses_of"]

# Raw SQL that removes rows or stored values (a DROP TYPE or DROP INDEX alone loses no data).
_DESTRUCTIVE_SQL = re.compile(
    r"^\s*(TRUNCATE|DELETE)\b|\bDROP\s+(TABLE|COLUMN|SCHEMA|DATABASE)\b", re.IGNORECASE
)
# Alembic's ``op`` is one module-level proxy: record one script at a time.
_RECORDING = threading.Lock()


def _recording_op(context: MigrationContext, recorded: list[Any]) -> Operations:
    """An ``op`` that remembers each operation instead of running it.

    A plain :class:`Operations` whose ``invoke`` (and whose batches' ``invoke``) records:
    Alembic installs its module proxy per exact class, so a subclass would not do.
    """
    op = Operations(context)

    def invoke(operation: Any) -> None:
        recorded.append(operation)

    @contextlib.contextmanager
    def batch_alter_table(
        table_name: str, schema: str | None = None, **kw: Any
    ) -> Iterator[BatchOperations]:
        batch = BatchOperations(context, impl=SimpleNamespace(table_name=table_name, schema=schema))  # type: ignore[arg-type]
        setattr(batch, "invoke", invoke)  # noqa: B010 - an instance's own recording invoke
        yield batch

    setattr(op, "invoke", invoke)  # noqa: B010
    setattr(op, "batch_alter_table", batch_alter_table)  # noqa: B010
    return op


def _record(script: Script, direction: Literal["up", "down"], dialect: str) -> list[Any]:
    context = MigrationContext.configure(
        dialect_name=dialect, opts={"as_sql": True, "output_buffer": io.StringIO()}
    )
    recorded: list[Any] = []
    recorder = _recording_op(context, recorded)
    function = getattr(script.module, "upgrade" if direction == "up" else "downgrade")
    with _RECORDING:
        recorder._install_proxy()  # what Operations.context does, with our ``op``
        try:
            function()
        finally:
            recorder._remove_proxy()
    return recorded


def _loss(op: Any) -> Loss | None:
    if isinstance(op, ops.DropTableOp):
        return Loss("table", op.table_name)
    if isinstance(op, ops.DropColumnOp):
        return Loss("column", op.table_name, op.column_name)
    if isinstance(op, ops.DropIndexOp):
        return Loss("index", op.table_name, str(op.index_name))
    if isinstance(op, ops.DropConstraintOp):
        return Loss("constraint", op.table_name, str(op.constraint_name))
    if (
        isinstance(op, ops.AlterColumnOp)
        and op.modify_type is not None
        and (op.existing_type is None or is_narrowing(op.existing_type, op.modify_type))
    ):
        return Loss("narrowing", op.table_name, op.column_name, detail=str(op.modify_type))
    if isinstance(op, ops.ExecuteSQLOp):
        text = str(op.sqltext)
        if _DESTRUCTIVE_SQL.search(text):
            return Loss("sql", None, detail=" ".join(text.split())[:120])
    return None


def losses_of(script: Script, direction: Literal["up", "down"], dialect: str) -> list[Loss]:
    """What running the script in ``direction`` drops or may damage (no row counts yet)."""
    try:
        recorded = _record(script, direction, dialect)
    except Exception as exc:
        return [Loss("unknown", None, detail=f"{type(exc).__name__}: {first_line(exc)}")]
    found: list[Loss] = []
    for op in recorded:
        leaves = flatten(op) if isinstance(op, ops.OpContainer) else [op]
        found += [loss for loss in map(_loss, leaves) if loss is not None]
    return found


def count_rows(conn: Connection, losses: list[Loss]) -> list[Loss]:
    """The losses with the current row count of each table that exists (others unchanged)."""
    counted: dict[str, int | None] = {}
    inspector = sqlalchemy.inspect(conn)
    out = []
    for loss in losses:
        table = loss.table
        if table is None or loss.kind not in ("table", "column", "narrowing"):
            out.append(loss)
            continue
        if table not in counted:
            counted[table] = (
                conn.execute(
                    sqlalchemy.select(sqlalchemy.func.count()).select_from(sqlalchemy.table(table))
                ).scalar()
                if inspector.has_table(table)
                else None
            )
        out.append(Loss(loss.kind, table, loss.name, loss.detail, counted[table]))
    if conn.in_transaction():
        conn.rollback()
    return out
