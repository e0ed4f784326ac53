"""One migration at a time per database, across processes.

PostgreSQL: a session advisory lock; MySQL/MariaDB: ``GET_LOCK``; SQLite: an exclusive
``flock`` on a file beside the database (Alembic commits after every migration, so a
SQLite write transaction could not stay open across a whole upgrade). The lock is held
on the very connection the migration runs on and released at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Connection

from ..errors import LockTimeoutError

__all__ = ["LockTimeoutError", "advisory_key", "lock_name", "migration_lock"]

_POLL = 0.1


# Session-level locks: they survive the commit Alembic makes after every migration.
_PG_TAKE = sqlalchemy.text("SELECT pg_try_advisory_lock(:k)")
_PG_GIVE = sqlalchemy.text("SELECT pg_advisory_unlock(:k)")
_MYSQL_TAKE = sqlalchemy.text("SELECT GET_LOCK(:k, 0)")
_MYSQL_GIVE = sqlalchemy.text("SELECT RELEASE_LOCK(:k)")


def lock_name(database: str) -> str:
    """The lock's name for a database (MySQL's GET_LOCK names are server-wide)."""
    return "nxo_migrate_" + hashlib.sha1(database.encode()).hexdigest()[:16]


def advisory_key(name: str) -> int:
    """PostgreSQL's advisory lock key for a lock name."""
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big", signed=True)


def _busy(timeout: float) -> LockTimeoutError:
    waited = f" after waiting {timeout:g} s" if timeout > 0 else ""
    return LockTimeoutError(
        f"busy: another process is migrating this database{waited}; try again when it is done"
    )


def _wait(try_once: Callable[[], bool], timeout: float, on_wait: Callable[[], None] | None) -> None:
    deadline = time.monotonic() + max(timeout, 0.0)
    told = False
    while not try_once():
        if time.monotonic() >= deadline:
            raise _busy(timeout)
        if on_wait is not None and not told:
            on_wait()
            told = True
        time.sleep(_POLL)


@contextlib.contextmanager
def migration_lock(
    conn: Connection, *, timeout: float, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the database's migration lock on ``conn`` for the ``with`` block.

    Waits up to ``timeout`` seconds (0: try once), calling ``on_wait`` once if it has to
    wait; raises :class:`LockTimeoutError` when the lock stays taken.
    """
    dialect = conn.dialect.name
    name = lock_name(conn.engine.url.database or "")
    if dialect == "sqlite":
        with _file_lock(conn, timeout, on_wait):
            yield
        return
    key: int | str
    if dialect == "postgresql":
        take, give, key = _PG_TAKE, _PG_GIVE, advisory_key(name)
    else:  # MySQL and MariaDB (the only other supported databases)
        take, give, key = _MYSQL_TAKE, _MYSQL_GIVE, name

    def try_once() -> bool:
        # PostgreSQL answers true/false, MySQL 1/0 (NULL on error): both compare to 1.
        ok = conn.execute(take, {"k": key}).scalar() == 1
        conn.commit()
        return ok

    _wait(try_once, timeout, on_wait)
    try:
        yield
    finally:
        _rollback_quietly(conn)
        conn.execute(give, {"k": key})
        conn.commit()


def _rollback_quietly(conn: Connection) -> None:
    if conn.in_transaction():
        with contextlib.suppress(Exception):
            conn.rollback()


@contextlib.contextmanager
def _file_lock(
    conn: Connection, timeout: float, on_wait: Callable[[], None] | None
) -> Iterator[None]:
    import fcntl

    database = conn.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # an in-memory database belongs to this process alone
        return
    path = Path(database).resolve()
    lock_path = path.with_name(path.name + ".nxo-lock")
    handle: Any = open(lock_path, "a+")  # noqa: SIM115 - kept open while the lock is held
    try:

        def try_file() -> bool:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait(try_file, timeout, on_wait)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
