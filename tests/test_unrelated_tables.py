"""Tables no app owns cost ``make`` nothing it can avoid: its own checks ask by name.

``make`` used to list every table of the database twice (looking for nextcord-ormar 0.3
traces, and Alembic's comparison); the 0.3 check now asks for the app's version table by
name, so only Alembic's comparison lists the database's tables, and only the app's own
tables are reflected. The statements each
database receives are recorded (every engine, including the worker thread's own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Engine

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from tests.conftest import CogProject
from tests.sample_cogs import change_wallet, write_cogs


def lists_every_table(backend: str, statement: str) -> bool:
    """Whether ``statement`` is SQLAlchemy's listing of all the tables of a schema."""
    statement = " ".join(statement.split())
    if backend == "sqlite":
        return "FROM sqlite_master WHERE type='table'" in statement
    if backend == "mysql":
        return statement.startswith("SHOW FULL TABLES")
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


async def test_make_lists_the_database_once_and_reads_only_the_apps_tables(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.economy")
    engine = MigrationEngine.for_bot(bot)  # the default: a worker thread, its own engine
    try:
        await bot.connect_database()
        async with bot.database.engine.begin() as conn:
            for number in range(30):
                await conn.execute(sqlalchemy.text(f"CREATE TABLE junk_{number} (id INTEGER)"))
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
