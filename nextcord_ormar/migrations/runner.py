"""Where the engine's Alembic work runs: a worker thread, or the bot's loop.

Alembic's comparing, rendering and script imports are CPU work that would hold the bot's
loop (and its gateway heartbeat), so by default each operation runs in a worker thread, on
an engine built from the bot's URL and engine options (measured in ``bench/``).

SQLite and MySQL/MariaDB need no event loop there: the worker uses a synchronous driver
(the standard library's, which reflects a table several times faster than aiosqlite's hop
to its own thread for every statement; PyMySQL, which aiomysql is built on and the
``mysql`` extra installs) on an engine it keeps from one operation to the next, until
:meth:`Runner.close`. SQLite parses the whole schema of the file on a connection's first
statement (3.3 ms of CPU with 2,000 tables no app owns, 0.04 ms with none), so a connection
per operation made every operation pay for tables it never reads; a server connection costs
a handshake and an engine (about 2.6 ms of CPU for MySQL). Between operations a kept
connection holds no transaction (the pool rolls back on return) and no migration lock
(released at the end of its ``with`` block); a connection whose operation failed is closed
rather than pooled, and the pool pre-pings a server connection before reusing it.

asyncpg connections belong to the loop that opened them, so for PostgreSQL each operation
runs its own loop in the worker, over one engine kept from one operation to the next that
pools nothing (``NullPool``: a connection is opened on the operation's loop and closed at its
end, the way SQLAlchemy says an engine may serve several loops). An engine per operation
cost about 5 ms of CPU, and each left its dialect behind in the class-wide ``lru_cache`` of
SQLAlchemy's PostgreSQL catalogue queries (a few thousand objects each, up to 128 dialects):
the heap the full garbage collections scanned grew with every operation, to 150-190 ms pauses
of the bot's loop over 80 operations (bench/README, issue 17 round 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ..errors import MigrationError, NextcordOrmarError, first_line
from ..redact import scrub
from .locking import sqlite_file

if TYPE_CHECKING:
    from ..connection import PlainDatabase
    from ..database import BotDatabase

__all__ = ["GIL_SWITCH_INTERVAL", "Runner"]

T = TypeVar("T")


class Runner:
    """Runs ``fn(connection)`` for the engine, in a worker thread or through ``run_sync``."""

    def __init__(self, database: BotDatabase | PlainDatabase, in_thread: bool | None) -> None:
        self.database = database
        self._in_thread = in_thread
        self._sync: sqlalchemy.engine.Engine | None = None
        self._sync_url: sqlalchemy.engine.URL | None = None
        self._loopless: AsyncEngine | None = None
        self._loopless_url: sqlalchemy.engine.URL | None = None
        self._guard = threading.Lock()
        # The kept engine, for the finalizer: a runner dropped without close() (a bot's
        # start-up check, a discarded engine) still closes its connections.
        self._kept: list[sqlalchemy.engine.Engine] = []
        weakref.finalize(self, _dispose_all, self._kept)

    @property
    def in_thread(self) -> bool:
        """Whether work runs in a worker thread (not for in-memory SQLite)."""
        if self._in_thread is not None:
            return self._in_thread
        url = self.database.sa_url
        return url.get_backend_name() != "sqlite" or sqlite_file(url) is not None

    @property
    def transactional_ddl(self) -> bool:
        """Whether a failed migration's DDL is rolled back (PostgreSQL; SQLite in a thread)."""
        name = self.database.dialect_name
        return name == "postgresql" or (name == "sqlite" and self.in_thread)

    def scrub(self, text: str) -> str:
        """``text`` without the database password."""
        return scrub(text, self.database.sa_url)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(connection)`` where it cannot stall the caller's loop; commit at the end."""

        def wrapped(conn: Connection) -> T:
            result = fn(conn)
            if conn.in_transaction():
                conn.commit()
            return result

        try:
            if self.in_thread:
                with _worker_mode():
                    return await asyncio.to_thread(self._in_private_loop, wrapped)
            if not self.database.is_connected:
                await self.database.connect()
            async with self.database.engine.connect() as conn:
                return await conn.run_sync(wrapped)
        except NextcordOrmarError:
            raise  # already a message for the user (LockTimeoutError is an OSError too)
        except (OSError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
            raise MigrationError(
                f"database error on {self.database.url}: {self.scrub(first_line(exc))}"
            ) from None
        except CommandError as exc:
            raise MigrationError(self.scrub(first_line(exc))) from None

    def close(self) -> None:
        """Close the worker's kept connections (the next operation opens new ones)."""
        with self._guard:
            self._sync, self._sync_url = None, None
            self._loopless, self._loopless_url = None, None
            kept, self._kept[:] = list(self._kept), []
        _dispose_all(kept)

    def _sync_engine(self, url: sqlalchemy.engine.URL) -> sqlalchemy.engine.Engine:
        """The worker's engine over a synchronous driver, made once per URL and kept."""
        with self._guard:
            if self._sync is not None and self._sync_url == url:
                return self._sync
            stale, self._sync_url = self._sync, url
            backend = url.get_backend_name()
            options = self.database.engine_options
            if backend != "sqlite":
                options["pool_pre_ping"] = True  # a session killed in between is replaced
            self._sync = sync = sqlalchemy.create_engine(
                url.set(drivername=_SYNC_DRIVERS[backend]), **options
            )
            if backend == "sqlite":
                _transactional_sqlite(sync)
            self._kept.append(sync)
            if stale is not None:  # the bot was pointed at another database
                self._kept.remove(stale)
        if stale is not None:
            stale.dispose()
        return sync

    def _in_private_loop(self, fn: Callable[[Connection], T]) -> T:
        url = self.database.sa_url
        if url.get_backend_name() in _SYNC_DRIVERS:
            # No loop needed: a synchronous driver straight from this thread (SQLite: without
            # aiosqlite's hop to its own thread for each of the dozens of statements that
            # reflecting one table takes, 5x faster comparisons; bench/startup.py).
            conn = self._sync_engine(url).connect()
            try:
                result = fn(conn)
            except BaseException:
                conn.invalidate()  # whatever state a failure left, it is not pooled
                raise
            finally:
                conn.close()
            return result

        engine = self._loopless_engine(url)

        async def main() -> T:
            async with engine.connect() as conn:  # opened on this loop, closed at the end
                return await conn.run_sync(fn)

        return asyncio.run(main())

    def _loopless_engine(self, url: sqlalchemy.engine.URL) -> AsyncEngine:
        """The worker's async engine that keeps no connection (each operation's loop opens
        and closes its own), made once per URL and kept with its dialect."""
        with self._guard:
            if self._loopless is not None and self._loopless_url == url:
                return self._loopless
            options = {
                key: value
                for key, value in self.database.engine_options.items()
                if not key.startswith("pool") and key != "max_overflow"
            }
            if self._loopless is not None:  # the bot was pointed at another database
                self._kept.remove(self._loopless.sync_engine)
            self._loopless = engine = create_async_engine(url, poolclass=NullPool, **options)
            self._loopless_url = url
            # nothing pooled, so disposing of it (close()) needs no loop
            self._kept.append(engine.sync_engine)
        return engine


#: The synchronous driver the worker uses in place of the bot's async one, per database:
#: the standard library's for SQLite, PyMySQL (which aiomysql is built on, and which the
#: ``mysql`` extra installs) for MySQL and MariaDB.
_SYNC_DRIVERS = {"sqlite": "sqlite", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}

_WORKERS = 0
_SAVED_INTERVAL = 0.005
#: While migration work runs in a worker thread, the interpreter hands the GIL over every
#: millisecond instead of every 5: the bot's loop thread then waits at most that long each
#: time it needs the GIL back from CPU-bound Alembic work (see bench/, ``ack_time``).
GIL_SWITCH_INTERVAL = 0.001


@contextlib.contextmanager
def _worker_mode() -> Iterator[None]:
    """Settings that keep the bot's loop responsive while a worker does migration work: a
    shorter GIL switch interval (above).

    Full garbage collections are *not* deferred during the work. Deferring them (as this
    runner once did) only moved the pause: what the work left in the oldest generation was
    scanned by the next full collection after the work, on the loop, 415-440 ms after
    ``make`` + ``upgrade`` of 40 cogs, against 15-57 ms for each collection when they run
    as they come (``gc_after_work_ms`` in bench/, issue 17 round 2). Round 3 took away what
    made those collections long (each operation's copy of every app's tables, and on
    PostgreSQL a dialect kept alive per operation): 11-22 ms now. ``gc.freeze()`` at the
    bot's login keeps what the bot holds out of them.
    """
    global _WORKERS, _SAVED_INTERVAL
    if _WORKERS == 0:
        _SAVED_INTERVAL = sys.getswitchinterval()
        sys.setswitchinterval(min(_SAVED_INTERVAL, GIL_SWITCH_INTERVAL))
    _WORKERS += 1
    try:
        yield
    finally:
        _WORKERS -= 1
        if _WORKERS == 0:
            sys.setswitchinterval(_SAVED_INTERVAL)


def _dispose_all(engines: list[sqlalchemy.engine.Engine]) -> None:
    for engine in engines:
        engine.dispose()


def _transactional_sqlite(engine: sqlalchemy.engine.Engine) -> None:
    """Make SQLite run DDL inside transactions (its driver would otherwise autocommit it)."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")
