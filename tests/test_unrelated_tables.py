"""Tables no app owns cost ``make`` nothing it can avoid: its own checks ask by name.

``make`` used to list every table of the database twice (looking for nextcord-ormar 0.3
traces, and Alembic's comparison); the 0.3 check now asks for the app's version table by
name, and Alembic's comparison is given a listing that asks for the app's tables by name
(``nextcord_ormar.migrations.listing``), so ``make`` lists nothing and reflects only the
app's own tables. The statements each database receives are recorded (every engine,
including the worker thread's own).
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
        return "FROM sqlite_master WHERE type='table'" in statement and " IN (" not in statement
    if backend == "mysql":
        return statement.startswith("SHOW FULL TABLES") and not (
            " LIKE " in statement or " WHERE " in statement
        )
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


@pytest.mark.parametrize("in_thread", [True, False], ids=["thread", "on_loop"])
async def test_make_never_lists_the_database_and_reads_only_the_apps_tables(
    db_url: str, backend: str, cog_project: CogProject, in_thread: bool
) -> None:
    """Default: a worker thread with its own engine; ``in_thread=False``: the bot's engine
    through ``run_sync``, whose connection lists every table again after the make."""
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot, in_thread=in_thread)
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
        assert listings == []  # Alembic's comparison asks only for the app's tables, by name
        assert not [s for s in seen if "junk_" in s]
        async with bot.database.engine.connect() as conn:  # the scope ended with the make
            names = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_table_names())
        assert {"junk_0", "junk_29", "economy_wallets"} <= set(names)
    finally:
        engine.close()
        await bot.close()


# -- round 2 (issue 17): a first make asks by name, creates nothing, and the worker keeps ---
# -- its SQLite connection (whose first statement parses the whole schema) ------------------


async def test_first_make_lists_nothing_creates_nothing_and_reads_no_other_table(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    """Before the app has a version table, the 0.3 check asks for ``economy.*`` by name
    (it used to list the database), the comparison asks for the app's tables by name (round
    3), and Alembic is not let create the version table (it
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
        assert listings == []  # Alembic's comparison asks only for the app's tables, by name
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


# -- round 3 (issue 17): the comparison asks the database only for the tables the apps' ---
# -- filters accept, by name, and finds the same migration ----------------------------------

SHOP = """
import enum
from typing import Optional

import ormar
from nextcord.ext import commands
from nextcord_ormar import AppModel, OrmarApp

app = OrmarApp.create_app("shop")


class Status(enum.Enum):
{members}

class Item(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    name: str = ormar.String(max_length=40)
    status: Status = ormar.Enum(enum_class=Status)
{item_extra}

class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Basket(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    item: Optional[Item] = ormar.ForeignKey(Item)
{basket_extra}
{coupon}

class Shop(commands.Cog):
    pass


def setup(bot):
    bot.add_cog(Shop())
"""

COUPON = """
class Coupon(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    code: str = ormar.String(max_length=20)
"""


def write_shop(project: CogProject, values: tuple[str, ...], *, changed: bool) -> None:
    """The ``shop`` cog; ``changed``: ``Coupon`` removed, a column added to ``Item``, and one
    of a new enum type to ``Basket``."""
    project.write("cogs/__init__.py", "")
    project.write(
        "cogs/shop.py",
        SHOP.format(
            members="".join(f"    {v} = {v.lower()!r}\n" for v in values),
            item_extra="    price: int = ormar.Integer(default=0)" if changed else "",
            basket_extra="    size: Size = ormar.Enum(enum_class=Size, nullable=True)"
            if changed
            else "",
            coupon="" if changed else COUPON,
        ),
    )


def body(script: str | None) -> str:
    """A generated script without the lines that differ from one make to the next."""
    assert script is not None
    return "\n".join(
        line
        for line in script.splitlines()
        if not line.startswith(("Revision ID:", "Create Date:", "revision = "))
    )


async def add_lookalike_tables(bot: Bot, backend: str) -> None:
    """Tables no app owns whose names only differ from the app's in case, a view, and (on
    PostgreSQL) a table using an enum type of its own."""
    q = '"' if backend != "mysql" else "`"
    async with bot.database.engine.begin() as conn:
        if backend != "sqlite":  # SQLite's table names ignore case: one would be the app's
            await conn.execute(sqlalchemy.text(f"CREATE TABLE {q}Shop_items{q} (id INTEGER)"))
        await conn.execute(sqlalchemy.text("CREATE VIEW junk_view AS SELECT 1 AS one"))
        if backend == "postgresql":
            await conn.execute(sqlalchemy.text("CREATE TYPE junk_mood AS ENUM ('a', 'b')"))
            await conn.execute(sqlalchemy.text("CREATE TABLE junk_moods (mood junk_mood)"))


async def test_the_same_migration_and_status_with_unrelated_tables_asked_by_name(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    """With unrelated tables (and lookalikes) present, ``make`` writes the same migration
    (a removed model's table dropped, a column added, an enum type altered and, on
    PostgreSQL, an enum type created) and ``status`` finds the same changes, while neither
    lists the database's tables."""
    write_shop(cog_project, ("NEW", "SOLD"), changed=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.shop")
    engine = MigrationEngine.for_bot(bot, backups=False)
    try:
        await bot.connect_database()
        assert (await engine.make("shop")).written
        await engine.upgrade()
        write_shop(cog_project, ("NEW", "SOLD", "LOST"), changed=True)
        bot.reload_extension("cogs.shop")

        alone = await engine.make("shop")
        assert alone.path is not None
        alone.path.unlink()
        status_alone = (await engine.status())[0].changes
        described = "\n".join(op.describe() for op in alone.operations)
        assert "coupons" in described, described  # the removed model's table is dropped
        assert "price" in described, described
        if backend == "postgresql":
            assert "LOST" in described, described  # the enum type gains a value
            assert "create enum" in described, described

        await add_junk_tables(bot)
        await add_lookalike_tables(bot, backend)
        with statements() as seen:
            crowded = await engine.make("shop")
        assert crowded.operations == alone.operations
        assert body(crowded.script) == body(alone.script)
        assert [s for s in seen if lists_every_table(backend, s)] == []
        assert not [s for s in seen if "junk_" in s]
        assert crowded.path is not None
        crowded.path.unlink()

        with statements() as seen:
            status_crowded = (await engine.status())[0].changes
        assert status_crowded == status_alone
        assert [s for s in seen if lists_every_table(backend, s)] == []  # main: two
        assert not [s for s in seen if "junk_" in s]
    finally:
        engine.close()
        await bot.close()


async def make_relations(conn: Any, backend: str) -> None:
    """Tables, lookalikes and relations of other kinds for the exactness test."""
    q = "`" if backend == "mysql" else '"'
    statements = [
        "CREATE TABLE t_plain (id INTEGER)",
        "CREATE TABLE t_other (id INTEGER)",
        "CREATE VIEW t_view AS SELECT 1 AS one",
        "CREATE TEMPORARY TABLE t_temp (id INTEGER)",
    ]
    if backend != "sqlite":
        statements.append(f"CREATE TABLE {q}T_Plain{q} (id INTEGER)")
    if backend == "postgresql":
        statements += [
            "CREATE TABLE t_parted (id INTEGER) PARTITION BY RANGE (id)",
            "CREATE TABLE t_part1 PARTITION OF t_parted FOR VALUES FROM (0) TO (10)",
            "CREATE SEQUENCE t_seq",
            "CREATE MATERIALIZED VIEW t_matview AS SELECT 1 AS one",
            "CREATE SCHEMA elsewhere",
            "CREATE TABLE elsewhere.t_away (id INTEGER)",
        ]
    if backend == "mysql" and conn.dialect.is_mariadb:  # listed as BASE TABLE; not a sequence
        statements += [
            "CREATE TABLE t_versioned (id INTEGER) WITH SYSTEM VERSIONING",
            "CREATE SEQUENCE t_seq",
        ]
    for statement in statements:
        await conn.execute(sqlalchemy.text(statement))


async def test_the_scoped_listing_is_the_full_listing_filtered(db_url: str, backend: str) -> None:
    """Inside :func:`listing_only`, ``get_table_names()`` answers exactly what the dialect's
    full listing filtered by the names would (same kinds of relation, exact case), asks by
    name, and reflecting "every table" reflects only those names; outside it, the same
    connection lists everything as before."""
    from nextcord_ormar.migrations.listing import listing_only

    # not "T_Plain": MariaDB's catalogue finds it for "T_PLAIN", and the answer must not
    scope = {"t_plain", "T_PLAIN", "t_view", "t_temp", "t_parted", "t_part1", "t_seq"}
    scope |= {"t_matview", "t_away", "t_versioned", "missing"}
    engine = create_async_engine(Bot(database_url=db_url).database.sa_url)
    try:
        async with engine.connect() as conn:
            await make_relations(conn, backend)

            def check(c: Connection, scope: set[str]) -> None:
                full = sqlalchemy.inspect(c).get_table_names()
                assert "t_other" in full
                with statements() as seen, listing_only(c, scope):
                    inspector = sqlalchemy.inspect(c)
                    scoped = inspector.get_table_names()
                    columns = inspector.get_multi_columns()
                assert scoped == [n for n in full if n in scope]
                assert "t_plain" in scoped
                assert ("t_versioned" in scoped) == (backend == "mysql" and c.dialect.is_mariadb)
                assert [s for s in seen if lists_every_table(backend, s)] == []
                assert not [s for s in seen if "t_other" in s]
                assert {name for _, name in columns} <= scope
                assert ((None, "t_plain") in columns) == ("t_plain" in full)
                assert sqlalchemy.inspect(c).get_table_names() == full  # the scope ended

            await conn.run_sync(check, scope)
            # many names: MySQL asks SHOW FULL TABLES instead of looking each one up
            await conn.run_sync(check, scope | {f"filler_{n}" for n in range(40)})
    finally:
        await engine.dispose()


async def test_status_finds_the_03_traces_without_listing_the_tables(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    """``status`` asks for the apps' version tables (their own and 0.3's) by name, and for
    the 0.3 ``<app>.*`` tables of the apps without a version table in one ``LIKE``
    statement; it finds what :func:`detect` finds for each app alone, lookalikes left out."""
    from nextcord_ormar.migrations.legacy import detect
    from tests.sample_cogs import many_tables

    cog_project.write("cogs/__init__.py", "")
    for app in ("tag", "tag_x", "plain"):
        cog_project.write(f"cogs/{app}.py", many_tables(app, 1))
    bot = Bot(database_url=db_url)
    for app in ("tag", "tag_x", "plain"):
        bot.load_extension(f"cogs.{app}")
    engine = MigrationEngine.for_bot(bot, backups=False)
    q = "`" if backend == "mysql" else '"'
    try:
        await bot.connect_database()
        await add_junk_tables(bot, 5)
        async with bot.database.engine.begin() as conn:
            for name in ("tag.items", "tag_x.things", "tagyx.lookalike", "alembic.tag_x"):
                await conn.execute(sqlalchemy.text(f"CREATE TABLE {q}{name}{q} (id INTEGER)"))
        with statements() as seen:
            statuses = await engine.status(compare=False)
        assert [s for s in seen if lists_every_table(backend, s)] == []  # main: one
        assert not [s for s in seen if "junk_" in s]
        alone = await engine.runner.run(lambda c: detect(c, engine.registry.ordered(None)))
        assert {s.app: s.legacy for s in statuses} == {
            app: alone.get(app) for app in ("tag", "tag_x", "plain")
        }
        assert alone["tag"].tables == ("tag.items",)
        assert alone["tag_x"].tables == ("tag_x.things",)
        assert alone["tag_x"].version_table == "alembic.tag_x"
        assert "plain" not in alone
    finally:
        engine.close()
        await bot.close()
