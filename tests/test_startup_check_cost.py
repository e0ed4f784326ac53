"""The start-up ``check`` on SQLite reads each kind of table definition once, not per table.

SQLAlchemy's SQLite dialect reflects a table with about twelve statements (its ``CREATE``
from ``sqlite_master`` three times, ``PRAGMA main.``/``temp.`` ``table_xinfo``,
``table_info``, ``index_list``, ``foreign_key_list``, ``index_info``): 3,855 statements for
the start-up check of 40 cogs of 8 tables. Inside a comparison's scope (``listing.py``) each
kind is asked once for every table of the scope. Here: the reflection inside the scope is
SQLAlchemy's own, for tables with every kind of constraint and index, temporary tables and
views; and the statements of ``engine.check()`` no longer grow with the apps' tables, while
it still finds what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeEngine

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.migrations.listing import listing_only
from tests.conftest import CogProject
from tests.databases import fresh_database
from tests.test_check_one_pass import statements

SCHEMA = [
    "CREATE TABLE parent (id INTEGER PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE, "
    "a INT, b INT, CONSTRAINT uq_parent_ab UNIQUE (a, b))",
    'CREATE TABLE "Mixed Case" ("Id" INTEGER NOT NULL, "we""ird" TEXT DEFAULT \'x\', '
    'CONSTRAINT pk_mixed PRIMARY KEY ("Id"))',
    "CREATE TABLE child (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "parent_id INT REFERENCES parent(id) ON DELETE CASCADE, pa INT, pb INT, "
    "amount NUMERIC(10, 2) CHECK (amount >= 0), status VARCHAR(8) DEFAULT 'a', "
    "CONSTRAINT fk_child_ab FOREIGN KEY (pa, pb) REFERENCES parent (a, b) "
    "ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED, "
    "CONSTRAINT ck_status CHECK (status IN ('a', 'b')), UNIQUE (pa, pb))",
    "CREATE INDEX ix_child_status ON child (status)",
    "CREATE UNIQUE INDEX ux_child_amount ON child (amount, status)",
    "CREATE INDEX ix_child_partial ON child (pa) WHERE pa > 0",
    'CREATE TABLE implicit (id INTEGER PRIMARY KEY, m INT REFERENCES "Mixed Case", '
    "n INT, CONSTRAINT uq_implicit_n UNIQUE (n))",
    "CREATE TABLE norowid (k TEXT PRIMARY KEY, v INT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE gen (a INT, b INT GENERATED ALWAYS AS (a * 2) STORED, "
    "c INT GENERATED ALWAYS AS (a + 1) VIRTUAL)",
    "CREATE TABLE plain (x INT)",
    'CREATE TABLE "old.members" (id INTEGER PRIMARY KEY, nick TEXT UNIQUE, '
    'boss INT REFERENCES "old.members")',  # 0.3's dotted names
    "CREATE VIEW v_parent AS SELECT id, code FROM parent",
    "CREATE TABLE shadow (s INT)",
    "CREATE TEMP TABLE shadow (t INT UNIQUE)",
    "CREATE TEMP TABLE only_temp (q INT REFERENCES parent(id), r INT)",
    "CREATE INDEX temp.ix_only_temp_r ON only_temp (r)",
]
TABLES = [
    "parent",
    "Mixed Case",
    "child",
    "implicit",
    "norowid",
    "gen",
    "plain",
    "old.members",
    "shadow",
    "only_temp",
]
#: In the scope, not in the database: the dialect raises as it always did.
MISSING = "not_there"
PER_TABLE: list[str] = [
    "get_columns",
    "get_pk_constraint",
    "get_foreign_keys",
    "get_indexes",
    "get_unique_constraints",
    "get_check_constraints",
    "get_table_options",
    "has_table",
]
MULTI = [
    "get_multi_columns",
    "get_multi_pk_constraint",
    "get_multi_foreign_keys",
    "get_multi_indexes",
    "get_multi_unique_constraints",
    "get_multi_check_constraints",
    "get_multi_table_options",
]


def plain(value: Any) -> Any:
    """``value`` with types and SQL expressions as text, so that two reflections compare."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, TypeEngine):
        return repr(value)
    if isinstance(value, ClauseElement):
        return str(value)
    return value


def reflect_all(conn: Connection, multi: bool = True) -> dict[str, Any]:
    """Everything the dialect reflects of :data:`TABLES`, :data:`MISSING` and the view, each
    question asked of a fresh inspector (as Alembic's comparison does, most of them twice);
    with ``multi``, also the ``get_multi_*`` of the tables (what the default schema lists of
    them: the scope's own listing, see ``listing.py``)."""
    found: dict[str, Any] = {}
    for round_ in ("first", "again"):
        inspector = sqlalchemy.inspect(conn)
        for name in [*TABLES, MISSING, "v_parent"]:
            for method in PER_TABLE:
                try:
                    answer = getattr(inspector, method)(name)
                except sqlalchemy.exc.NoSuchTableError as exc:
                    answer = f"NoSuchTableError({exc})"
                found[f"{round_} {method}({name})"] = plain(answer)
        for method in MULTI if multi else ():
            answer = getattr(inspector, method)(filter_names=TABLES)
            found[f"{round_} {method}"] = plain(sorted(answer.items(), key=repr))
    return found


def test_sqlite_reflection_in_the_scope_is_the_dialects_own(tmp_path: Path) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'reflect.db'}")
    try:
        with engine.connect() as conn:
            for statement in SCHEMA:
                conn.exec_driver_sql(statement)
            with statements() as outside:
                own = reflect_all(conn)
            with statements() as inside, listing_only(conn, [*TABLES, MISSING, "v_parent"]):
                scoped = reflect_all(conn)
            with statements() as after:
                again = reflect_all(conn)
    finally:
        engine.dispose()
    assert scoped == own
    assert again == own  # the scope left nothing behind
    assert after == outside
    # the answers are not empty: every kind of constraint and index was reflected
    assert own["first get_check_constraints(child)"][0]["name"] == "ck_status"
    assert {i["name"] for i in own["first get_indexes(child)"]} == {
        "ix_child_partial",
        "ix_child_status",
        "ux_child_amount",
    }
    assert own["first get_foreign_keys(only_temp)"][0]["referred_table"] == "parent"
    assert own["first get_columns(shadow)"][0]["name"] == "s"  # main's before temp's
    assert own["first get_unique_constraints(old.members)"] == [
        {"name": None, "column_names": ["nick"]}
    ]
    assert own[f"first get_columns({MISSING})"].startswith("NoSuchTableError")
    # inside the scope the tables' definitions are read once per kind, for all of them:
    # no PRAGMA and no per-table CREATE lookup for the scope's tables
    assert not [s for s in inside if s.startswith("PRAGMA")]
    assert len(inside) < len(outside) / 10, (len(inside), len(outside))
    # outside the scope it is the dialect's own statements
    assert any(s.startswith("PRAGMA main.table_xinfo") for s in outside)


async def test_sqlite_reflection_in_the_scope_through_the_async_driver(tmp_path: Path) -> None:
    """The same through aiosqlite and ``run_sync`` (the bot's own engine: in-memory SQLite)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'reflect.db'}")

    def both(conn: Connection) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        for statement in SCHEMA:
            conn.exec_driver_sql(statement)
        own = reflect_all(conn)
        with statements() as inside, listing_only(conn, [*TABLES, MISSING, "v_parent"]):
            scoped = reflect_all(conn)
        return own, scoped, inside

    try:
        async with engine.connect() as conn:
            own, scoped, inside = await conn.run_sync(both)
    finally:
        await engine.dispose()
    assert scoped == own
    assert not [s for s in inside if s.startswith("PRAGMA")]


def test_sqlite_reflection_outside_the_scope_of_the_names(tmp_path: Path) -> None:
    """A table outside the scope is reflected by the dialect's own statements, alike."""
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'reflect.db'}")
    try:
        with engine.connect() as conn:
            for statement in SCHEMA:
                conn.exec_driver_sql(statement)
            own = reflect_all(conn, multi=False)
            with statements() as inside, listing_only(conn, ["parent"]):
                scoped = reflect_all(conn, multi=False)
    finally:
        engine.dispose()
    assert scoped == own
    assert any('PRAGMA main.table_xinfo("child")' in s for s in inside)
    assert not any('PRAGMA main.table_xinfo("parent")' in s for s in inside)


def cog(app: str, tables: int, extra: str = "") -> str:
    """A cog whose app has ``tables`` models, each with a unique, an indexed column and a
    foreign key to the first."""
    lines = ["import ormar", "from typing import Optional", "from nextcord.ext import commands"]
    lines += ["from nextcord_ormar import AppModel, OrmarApp"]
    lines += [f"app = OrmarApp.create_app({app!r})"]
    for index in range(tables):
        lines += [f"class M{index}(AppModel):", "    ormar_config = app.config()"]
        lines += ["    id: int = ormar.Integer(primary_key=True)"]
        lines += ["    code: str = ormar.String(max_length=20, unique=True)"]
        lines += ["    name: str = ormar.String(max_length=40, index=True, nullable=True)"]
        if index:
            lines += ["    first: Optional[M0] = ormar.ForeignKey(M0, nullable=True)"]
        if extra and index == tables - 1:
            lines += [f"    {extra}"]
    name = f"{app.title()}Cog"
    lines += [f"class {name}(commands.Cog):", "    pass", "def setup(bot):"]
    lines += [f"    bot.add_cog({name}())"]
    return "\n".join(lines) + "\n"


async def test_check_statements_on_sqlite_do_not_grow_with_tables(
    tmp_path: Path, cog_project: CogProject
) -> None:
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/small.py", cog("small", 2))
    cog_project.write("cogs/big.py", cog("big", 8))
    with fresh_database("sqlite", tmp_path) as url:
        bot = Bot(database_url=url)
        for app in ("small", "big"):
            bot.load_extension(f"cogs.{app}")
        engine = MigrationEngine.for_bot(bot)
        try:
            for app in ("small", "big"):
                assert (await engine.make(app)).written
            assert (await engine.upgrade()).ok
            await engine.check()  # warm: the scripts are read, the worker's engine connected
            with statements() as small:
                assert not (await engine.check(["small"])).differing
            with statements() as both:
                assert not (await engine.check()).differing
            # the same statements for 2 tables and for 10 (before: 12 more per table)
            assert len(both) == len(small), (len(both), len(small))
            assert not [s for s in both if s.startswith("PRAGMA")]

            # and what differs is still found: an index, a unique constraint, a column
            cog_project.write(
                "cogs/big.py",
                cog("big", 8, "extra: str = ormar.String(max_length=9, nullable=True)"),
            )
            bot.reload_extension("cogs.big")
            found = await engine.check()
            assert [s.app for s in found.differing] == ["big"]
            assert [c.describe() for c in (await engine.status(["big"]))[0].changes] == [
                "add column big_m7s.extra (VARCHAR(9))"
            ]
        finally:
            await bot.close()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.replace("unique=True", "unique=False"), "drop_constraint"),
        (lambda s: s.replace("index=True", "index=False"), "drop_index"),
    ],
    ids=["unique", "index"],
)
async def test_check_on_sqlite_still_finds_index_and_unique_changes(
    tmp_path: Path, cog_project: CogProject, change: Callable[[str], str], expected: str
) -> None:
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/app.py", cog("app", 3))
    with fresh_database("sqlite", tmp_path) as url:
        bot = Bot(database_url=url)
        bot.load_extension("cogs.app")
        engine = MigrationEngine.for_bot(bot)
        try:
            assert (await engine.make("app")).written
            assert (await engine.upgrade()).ok
            assert not (await engine.check()).differing
            cog_project.write("cogs/app.py", change(cog("app", 3)))
            bot.reload_extension("cogs.app")
            status = (await engine.status(["app"]))[0]
            assert status.differs
            assert expected in {c.kind for c in status.changes}, status.changes
        finally:
            await bot.close()
