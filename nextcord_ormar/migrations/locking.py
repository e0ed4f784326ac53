"""One migration at a time per database, across processes.

PostgreSQL: a session advisory lock; MySQL/MariaDB: ``GET_LOCK``; SQLite: an exclusive
``flock`` (``msvcrt.locking`` on Windows) on a file beside the database, also for a
``file:`` URI (Alembic commits after every migration, so a SQLite write transaction could
not stay open across a whole upgrade). The lock is held
on the very connection the migration runs on and released at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy
from sqlalchemy.engine import URL, Connection

from ..errors import LockTimeoutError, MigrationError

__all__ = ["LockTimeoutError", "advisory_key", "lock_name", "migration_lock", "sqlite_file"]

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


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL opens, or ``None`` when the database lives in memory.

    A ``file:`` URI (with ``?uri=true``) names a real file unless it says ``mode=memory``
    or ``:memory:``; without ``uri=true`` SQLite takes ``file:...`` as a plain file name.
    """
    database = url.database
    if not database or database == ":memory:":
        return None
    if not (database.startswith("file:") and str(url.query.get("uri", "")).lower() == "true"):
        return Path(database).resolve()
    target, _, params = database[len("file:") :].partition("?")
    options = dict(urllib.parse.parse_qsl(params))
    options.update({k: str(v) for k, v in url.query.items()})
    target = urllib.parse.unquote(target)
    if target.startswith("//"):  # file://host/path: only an empty host or localhost
        target = "/" + target[2:].partition("/")[2]
    if options.get("mode") == "memory" or target in ("", ":memory:"):
        return None
    return Path(target).resolve()


class _Platform(Protocol):
    def __call__(self, fd: int, *, take: bool) -> bool: ...


def _platform_lock() -> _Platform:
    """Non-blocking exclusive lock on an open file: ``flock`` (POSIX) or ``msvcrt`` (Windows)."""
    try:
        import fcntl
    except ImportError:
        pass
    else:

        def posix(fd: int, *, take: bool) -> bool:
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX | fcntl.LOCK_NB) if take else fcntl.LOCK_UN)
            except BlockingIOError:
                return False
            return True

        return posix
    try:
        import msvcrt
    except ImportError:
        raise MigrationError(
            "cannot lock a SQLite database on this platform (neither fcntl nor msvcrt is "
            "available); supported: Linux, macOS, BSD and Windows"
        ) from None

    def windows(fd: int, *, take: bool) -> bool:  # pragma: no cover - Windows only
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK if take else msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    return windows


@contextlib.contextmanager
def _file_lock(
    conn: Connection, timeout: float, on_wait: Callable[[], None] | None
) -> Iterator[None]:
    path = sqlite_file(conn.engine.url)
    if path is None:
        yield  # an in-memory database belongs to this process alone
        return
    lock = _platform_lock()
    lock_path = path.with_name(path.name + ".nxo-lock")
    handle: Any = open(lock_path, "a+")  # noqa: SIM115 - kept open while the lock is held
    try:
        _wait(lambda: lock(handle.fileno(), take=True), timeout, on_wait)
        try:
            yield
        finally:
            lock(handle.fileno(), take=False)
    finally:
        handle.close()
