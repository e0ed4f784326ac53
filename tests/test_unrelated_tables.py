"""Tables no app owns cost ``make`` nothing it can avoid: its own checks ask by name.

``make`` used to list every table of the database twice (looking for nextcord-ormar 0.3
traces, and Alembic's comparison); the 0.3 check now asks for the app's version table by
name, so only Alembic's comparison lists the database's tables, and only the app's own
tables are reflected. The statements each
database receives are recorded (every engine, including the worker thread's own).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.migrations.locking import migration_lock
from tests.conftest import CogProject
from tests.sample_cogs import change_wallet, write_cogs


def lists_every_table(backend: str, statement: str) -> bool:
    """Whether ``statement`` is SQLAlchemy's listing of all the tables of a schema."""
    statement = " ".join(statement.split())
    if backend == "sqlite":
        return "FROM sqlite_master WHERE type='table'" in statement
    if backend == "mysql":
        return statement.startswith("SHOW FULL TABLES") and " LIKE " not in statement
    return statement.startswith("SELECT pg_catalog.pg_class.relname FROM") and (
        "pg_class.relname IN" not in statement and "pg_class.relname =" not in statement
    )


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append(f"{statement} {params}")

    sqlalchemy.event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sqlalchemy.event.remove(Engine, "before_cursor_execute", record)


async def add_junk_tables(bot: Bot, count: int = 30) -> None:
    """Tables no app owns (``junk_0`` ...), made with plain SQL."""
    async with bot.database.engine.begin() as conn:
        for number in range(count):
            await conn.execute(sqlalchemy.text(f"CREATE TABLE junk_{number} (id INTEGER)"))


async def test_make_lists_the_database_once_and_reads_only_the_apps_tables(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot)  # the default: a worker thread, its own engine
    try:
        await bot.connect_database()
        await add_junk_tables(bot)
        await engine.make("economy")
        await engine.upgrade()
        change_wallet(cog_project, "note: str = ormar.String(max_length=20, nullable=True)")
        bot.reload_extension("cogs.economy")

        with statements() as seen:
            made = await engine.make("economy")
        assert made.written
        listings = [s for s in seen if lists_every_table(backend, s)]
        assert len(listings) == 1, listings  # Alembic's comparison; nothing else lists
        assert not [s for s in seen if "junk_" in s]
    finally:
        await bot.close()


# -- round 2 (issue 17): a first make asks by name, creates nothing, and the worker keeps ---
# -- its SQLite connection (whose first statement parses the whole schema) ------------------


async def test_first_make_lists_once_creates_nothing_and_reads_no_other_table(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    """Before the app has a version table, the 0.3 check asks for ``economy.*`` by name
    (it used to list the database), and Alembic is not let create the version table (it
    did, then the make rolled it back: SQLite then parses the whole schema again; MySQL
    cannot roll DDL back and kept an empty version table)."""
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot)
    try:
        await bot.connect_database()
        await add_junk_tables(bot)
        first = await engine.make("economy")  # also creates the engine's ledger table once
        assert first.path is not None
        first.path.unlink()

        with statements() as seen:
            made = await engine.make("economy")
        assert made.written
        listings = [s for s in seen if lists_every_table(backend, s)]
        assert len(listings) == 1, listings  # Alembic's comparison; nothing else lists
        assert not [s for s in seen if "junk_" in s]
        assert not [s for s in seen if s.lstrip().upper().startswith("CREATE")], seen
        async with bot.database.engine.connect() as conn:
            names = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_table_names())
        assert "alembic_version_economy" not in names
    finally:
        await bot.close()


@contextmanager
def connections_opened() -> Iterator[list[object]]:
    opened: list[object] = []

    def record(dbapi_connection: Any, record: Any) -> None:
        opened.append(dbapi_connection)

    sqlalchemy.event.listen(sqlalchemy.pool.Pool, "connect", record)
    try:
        yield opened
    finally:
        sqlalchemy.event.remove(sqlalchemy.pool.Pool, "connect", record)


@pytest.mark.parametrize("backend", ["sqlite", "mysql"], indirect=True)
async def test_the_worker_opens_one_connection_for_many_operations(
    db_url: str, cog_project: CogProject
) -> None:
    """Each new SQLite connection parses the whole schema on its first statement; the worker
    keeps one from an operation to the next (it opened one per operation). MySQL's worker
    keeps its (PyMySQL) connection too."""
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot, backups=False)
    try:
        with connections_opened() as opened:
            await engine.make("economy")
            await engine.upgrade()
            await engine.current()
            await engine.status()
            await engine.make("economy")
        assert len(opened) == 1, opened
        engine.close()
        with connections_opened() as opened:
            await engine.current()  # a closed engine opens a new one when asked again
        assert len(opened) == 1
    finally:
        engine.close()
        await bot.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_postgresql_worker_keeps_one_engine_for_many_operations(
    db_url: str, cog_project: CogProject
) -> None:
    """asyncpg connections belong to their loop, so each operation opens its own, but over one
    engine and dialect: an engine per operation left its dialect in SQLAlchemy's class-wide
    caches of PostgreSQL catalogue queries, a heap that grew with each operation and that
    every full garbage collection scanned (issue 17, round 3)."""
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot, backups=False)
    first_connects: list[object] = []

    def record(dbapi_connection: Any, record: Any) -> None:
        first_connects.append(dbapi_connection)

    def dialects() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, PGDialect))

    sqlalchemy.event.listen(sqlalchemy.pool.Pool, "first_connect", record)
    try:
        await engine.make("economy")
        await engine.upgrade()
        before = dialects()
        for _ in range(6):
            await engine.status()
            await engine.current()
        assert dialects() == before
        assert len(first_connects) == 1, first_connects  # one engine for every operation
    finally:
        sqlalchemy.event.remove(sqlalchemy.pool.Pool, "first_connect", record)
        engine.close()
        await bot.close()


async def test_no_lock_or_transaction_is_kept_between_operations(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    """Right after the engine's writes, another connection (another process's, for the
    lock) takes the migration lock at once, and sees what they committed."""
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot, backups=False)
    other = create_async_engine(bot.database.sa_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        await engine.make("economy")
        await engine.upgrade()
        await engine.current()

        def take_lock(conn: Connection) -> list[str]:
            with migration_lock(conn, timeout=0):
                return sqlalchemy.inspect(conn).get_table_names()

        async with other.connect() as conn:
            names = await conn.run_sync(take_lock)
        assert "alembic_version_economy" in names
    finally:
        await other.dispose()
        engine.close()
        await bot.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_make_after_a_restore_sees_the_restored_file(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot, backups=False)
    try:
        first = await engine.make("economy")
        await engine.upgrade()
        saved = await engine.backup()
        change_wallet(cog_project, "note: str = ormar.String(max_length=20, nullable=True)")
        bot.reload_extension("cogs.economy")
        second = await engine.make("economy")
        await engine.upgrade()
        assert (await engine.current())["economy"] == second.revision

        await engine.restore(saved.path)
        assert (await engine.current())["economy"] == first.revision
        again = await engine.make("economy")
        assert again.outcome == "not_up_to_date"  # the restored file is one migration behind
    finally:
        engine.close()
        await bot.close()


_OTHERS = {
    "postgresql": (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ),
    "mysql": (
        "SELECT id FROM information_schema.processlist "
        "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
    ),
}


@pytest.mark.parametrize("backend", ["postgresql", "mysql"], indirect=True)
async def test_a_connection_killed_between_operations_does_not_fail_the_next(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    """A server restart (here: every other session of the database killed) between two
    operations costs the next one nothing."""
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot, backups=False)
    killer = create_async_engine(bot.database.sa_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        await bot.connect_database()
        made = await engine.make("economy")
        await engine.upgrade()
        async with killer.connect() as conn:
            found = await conn.execute(sqlalchemy.text(_OTHERS[backend]))
            if backend == "mysql":
                for (session,) in found.all():
                    await conn.execute(sqlalchemy.text(f"KILL {int(session)}"))
        assert (await engine.current())["economy"] == made.revision
        assert (await engine.status())[0].current == made.revision
    finally:
        await killer.dispose()
        engine.close()
        await bot.close()
