"""The SQL of pending migrations on SQLite, where Alembic's offline mode cannot render batches.

On SQLite nearly every ALTER is a batch ("move and copy": create ``_alembic_tmp_<table>``,
copy the rows, drop, rename), and a batch needs the table as it is when the migration runs,
which Alembic's ``--sql`` mode cannot reflect. So the preview replays the migrations
*online* on a throw-away in-memory database holding a copy of the live schema (no rows, the
app's version row) and prints the statements they executed there. Each migration then sees
its table exactly as the previous one left it, and the live database is only read.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy
from alembic import command
from sqlalchemy import event
from sqlalchemy.engine import Connection

from ..errors import MigrationError, first_line
from .scripts import AppScripts

__all__ = ["replay_sql"]

#: Where Alembic looks around during the replay (reflection for batches); a SELECT that reads
#: one of these, or the app's version table, is the replay's own, not the migration's.
_CATALOGS = ("sqlite_master", "sqlite_temp_master", "sqlite_schema")


def _is_look(statement: str, version_table: str) -> bool:
    """Whether ``statement`` is the replay looking around, not SQL the migration runs."""
    text = statement.lstrip()
    head = text[:6].upper()
    if head == "PRAGMA":
        return True
    if head != "SELECT":
        return False
    lowered = text.lower()
    return version_table.lower() in lowered or any(name in lowered for name in _CATALOGS)


_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}


def _schema(conn: Connection) -> list[str]:
    """The live SQLite database's schema as ``CREATE`` statements, tables first."""
    rows = conn.exec_driver_sql(
        "SELECT type, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
    ).all()
    return [sql for kind, sql in sorted(rows, key=lambda row: _ORDER.get(row[0], 9))]


def _versions(conn: Connection, table: str) -> list[str]:
    """The rows of the app's version table (none: the table does not exist yet)."""
    if not sqlalchemy.inspect(conn).has_table(table):
        return []
    query: Any = sqlalchemy.select(sqlalchemy.column("version_num")).select_from(
        sqlalchemy.table(table)
    )
    return [str(version) for version in conn.execute(query).scalars()]


def _literal(conn: Connection, statement: str, parameters: Any, context: Any) -> str:
    """``statement`` with its parameters written in, as ``--sql`` shows them."""
    compiled = getattr(context, "compiled", None)
    if parameters and compiled is not None and getattr(compiled, "statement", None) is not None:
        return str(
            compiled.statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        )
    return statement


def replay_sql(
    conn: Connection,
    scripts: AppScripts,
    direction: Literal["up", "down"],
    destination: str,
    pending: list[str],
) -> str:
    """The SQL that moving the app to ``destination`` runs, replayed on a copy of the schema.

    ``pending`` are the revisions that will run, in order (to say which one failed).
    """
    schema = _schema(conn)
    version_table = scripts.app.version_table
    versions = _versions(conn, version_table)
    engine = sqlalchemy.create_engine("sqlite://")
    statements: list[str] = []
    try:
        with engine.connect() as copy:
            for create in schema:
                copy.exec_driver_sql(create)
            for version in versions:
                copy.execute(
                    sqlalchemy.table(version_table, sqlalchemy.column("version_num"))
                    .insert()
                    .values(version_num=version)
                )
            copy.commit()

            def capture(
                c: Connection,
                cursor: Any,
                statement: str,
                parameters: Any,
                context: Any,
                many: bool,
            ) -> None:
                if not _is_look(statement, version_table):
                    statements.append(_literal(c, statement, parameters, context).strip())

            done: list[str] = []

            def applied(*, step: Any, **_: Any) -> None:
                done.append(str(step.up_revision_id))

            event.listen(copy, "before_cursor_execute", capture)
            cfg = scripts.config(connection=copy, on_version_apply=applied)
            move = command.upgrade if direction == "up" else command.downgrade
            try:
                move(cfg, destination)
            except Exception as exc:
                failed = pending[len(done)] if len(done) < len(pending) else "a migration"
                raise MigrationError(
                    f"cannot preview the SQL: {failed} failed on a copy of the schema "
                    f"({type(exc).__name__}: {first_line(exc)})"
                ) from None
            copy.rollback()
    finally:
        engine.dispose()
    return "".join(f"{s};\n\n" for s in statements)
