"""Checksums of applied migration files, to notice a script edited after it ran.

One small table, ``nextcord_ormar_history``, records (app, revision, sha256) when a
migration is applied and forgets the row when it is undone. No app owns it, so no app's
autogenerate ever reflects or touches it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import Connection

__all__ = ["LEDGER_TABLE", "checksum", "forget", "record", "recorded", "recorded_apps"]

LEDGER_TABLE = "nextcord_ormar_history"

_metadata = sqlalchemy.MetaData()
_ledger = sqlalchemy.Table(
    LEDGER_TABLE,
    _metadata,
    sqlalchemy.Column("app", sqlalchemy.String(64), primary_key=True),
    sqlalchemy.Column("revision", sqlalchemy.String(64), primary_key=True),
    sqlalchemy.Column("checksum", sqlalchemy.String(64), nullable=False),
    sqlalchemy.Column("applied_at", sqlalchemy.DateTime, nullable=False),
)


def checksum(path: Path) -> str:
    """SHA-256 of a script file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure(conn: Connection) -> None:
    """Create the ledger table if it is missing (idempotent)."""
    _metadata.create_all(conn, checkfirst=True)


def record(conn: Connection, app: str, revision: str, path: Path) -> None:
    """Remember that ``revision`` of ``app`` was applied from the file at ``path``."""
    conn.execute(_ledger.delete().where(_ledger.c.app == app, _ledger.c.revision == revision))
    conn.execute(
        _ledger.insert().values(
            app=app,
            revision=revision,
            checksum=checksum(path),
            applied_at=datetime.now(UTC).replace(tzinfo=None),
        )
    )


def forget(conn: Connection, app: str, revision: str) -> None:
    """Forget ``revision`` of ``app`` (it was undone)."""
    conn.execute(_ledger.delete().where(_ledger.c.app == app, _ledger.c.revision == revision))


def recorded(conn: Connection, app: str) -> dict[str, str]:
    """Revision → checksum for every applied migration of ``app`` the ledger knows."""
    if not sqlalchemy.inspect(conn).has_table(LEDGER_TABLE):
        return {}
    rows = conn.execute(
        sqlalchemy.select(_ledger.c.revision, _ledger.c.checksum).where(_ledger.c.app == app)
    )
    return {str(r.revision): str(r.checksum) for r in rows}


def recorded_apps(conn: Connection, apps: list[str]) -> dict[str, dict[str, str]]:
    """:func:`recorded` for several apps in one statement (the caller knows the table exists):
    app → revision → checksum."""
    rows = conn.execute(
        sqlalchemy.select(_ledger.c.app, _ledger.c.revision, _ledger.c.checksum).where(
            _ledger.c.app.in_(apps)
        )
    )
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(str(row.app), {})[str(row.revision)] = str(row.checksum)
    return found
