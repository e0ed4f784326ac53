"""``status``/``check`` of many apps in one pass: the same answers as one app at a time, and
about the statements of one app.

The start-up ``check`` policy asks the engine about every cog at once. The engine lists the
tables once, reads every app's version row and the ledger in one statement each, and lets
one Alembic comparison reflect every app's tables together, then gives each app the
operations on its own tables (see ``migrations/status.py``). Here several apps in different
states are answered both ways, and the statements of several small apps are counted against
one app holding as many tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.engine import Engine

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.migrations.legacy import detect
from nextcord_ormar.migrations.results import AppStatus, CheckResult
from nextcord_ormar.migrations.status import app_status
from tests.conftest import CogProject


def cog(
    app: str, models: dict[str, list[str]], enum_labels: tuple[str, ...] = (), pk: str = ""
) -> str:
    """A cog module whose app has ``models`` (class name → extra field lines)."""
    lines = ["import enum", "import ormar", "from nextcord.ext import commands"]
    lines.append("from nextcord_ormar import AppModel, OrmarApp")
    lines.append(f"app = OrmarApp.create_app({app!r})")
    if enum_labels:
        lines.append(f"class {app.title()}Mood(enum.Enum):")
        lines += [f"    {label} = {label!r}" for label in enum_labels]
    for model, fields in models.items():
        lines += [f"class {model}(AppModel):", "    ormar_config = app.config()"]
        lines += [
            f"    id: int = ormar.Integer(primary_key=True{pk})",
            *(f"    {f}" for f in fields),
        ]
    name = app.title().replace("_", "") + "Cog"
    lines += [f"class {name}(commands.Cog):", "    pass", "def setup(bot):"]
    lines.append(f"    bot.add_cog({name}())")
    return "\n".join(lines) + "\n"


NAME = "name: str = ormar.String(max_length=40, nullable=True)"
NOTE = "note: str = ormar.String(max_length=40, nullable=True)"


def mood(app: str) -> str:
    return f"mood: {app.title()}Mood = ormar.Enum(enum_class={app.title()}Mood, nullable=True)"


#: app → (the cog as first migrated, the cog as it is when asked)
APPS: dict[str, tuple[str, str]] = {
    "cur": (cog("cur", {"Item": [NAME]}), cog("cur", {"Item": [NAME]})),
    "chg": (cog("chg", {"Item": [NAME]}), cog("chg", {"Item": [NAME, NOTE]})),
    "behind": (cog("behind", {"Item": [NAME]}), cog("behind", {"Item": [NAME, NOTE]})),
    "addrm": (
        cog("addrm", {"Keep": [NAME], "Gone": [NAME]}),
        cog("addrm", {"Keep": [NAME], "Fresh": [NAME]}),
    ),
    "enm": (
        cog("enm", {"Item": [mood("enm")]}, ("calm", "angry")),
        cog("enm", {"Item": [mood("enm")]}, ("calm", "angry", "sleepy")),
    ),
    "edited": (cog("edited", {"Item": [NAME]}), cog("edited", {"Item": [NAME]})),
    # a SERIAL in the database, no longer autoincrement in the model
    "serial": (
        cog("serial", {"Item": [NAME]}),
        cog("serial", {"Item": [NAME]}, pk=", autoincrement=False"),
    ),
    "tag": (cog("tag", {"Item": [NAME]}), cog("tag", {"Item": [NAME]})),
    "tag_x": (cog("tag_x", {"Item": [NAME]}), cog("tag_x", {"Item": [NAME, NOTE]})),
}


async def per_app(engine: MigrationEngine, names: list[str]) -> list[AppStatus]:
    """The answers one app at a time, as the engine gave them before the one pass."""

    def run(conn: Any) -> list[AppStatus]:
        apps = engine.registry.ordered(names)  # the order status answers in
        found = detect(conn, apps)
        statuses = [app_status(conn, engine.scripts(app), True) for app in apps]
        for status in statuses:
            status.legacy = found.get(status.app)
        return statuses

    return await engine.runner.run(run)


async def test_one_pass_answers_as_each_app_alone(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    first = {app: source for app, (source, _) in APPS.items()}
    async with migrated(db_url, cog_project, first) as (bot, engine):
        for app, (_, now) in APPS.items():
            if now != APPS[app][0]:
                cog_project.write(f"cogs/{app}.py", now)
                bot.reload_extension(f"cogs.{app}")
        assert (await engine.make("behind")).written  # made, not applied: pending
        edited = Path(engine.app("edited").migrations_path)
        script = next(edited.glob("*.py"))
        script.write_text(script.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")

        names = list(APPS)
        together = await engine.status(names)
        alone = await per_app(engine, names)
        assert together == alone
        assert sorted(s.app for s in together) == sorted(names)
        by_app = {s.app: s for s in together}
        assert [n for n in names if by_app[n].differs] == ["chg", "behind", "addrm", "enm", "tag_x"]
        assert [c.describe() for c in by_app["tag_x"].changes] == [
            "add column tag_x_items.note (VARCHAR(40))"
        ]
        assert len(by_app["behind"].pending) == 1
        kinds = {(c.kind, c.table) for c in by_app["addrm"].changes}
        assert kinds == {("create_table", "addrm_freshs"), ("drop_table", "addrm_gones")}
        assert by_app["edited"].tampered == [by_app["edited"].current]
        if backend == "postgresql":
            assert [c.kind for c in by_app["enm"].changes] == ["alter_enum"]
        # asked about some of the apps, or one, the answers are the same too
        some = ["tag_x", "enm", "cur"]
        assert await engine.status(some) == await per_app(engine, some)
        for name in names:
            assert await engine.status([name]) == await per_app(engine, [name])
        assert (await engine.check(names)).differing == CheckResult(alone).differing


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    sqlalchemy.event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sqlalchemy.event.remove(Engine, "before_cursor_execute", record)


@asynccontextmanager
async def migrated(
    db_url: str, project: CogProject, sources: dict[str, str]
) -> AsyncIterator[tuple[Bot, MigrationEngine]]:
    """A bot with one cog per app of ``sources`` (app → module source), each app's first
    migration made and applied; the bot is closed at the end."""
    project.write("cogs/__init__.py", "")
    for app, source in sources.items():
        project.write(f"cogs/{app}.py", source)
    bot = Bot(database_url=db_url)
    for app in sources:
        bot.load_extension(f"cogs.{app}")
    engine = MigrationEngine.for_bot(bot)
    try:
        for app in sources:
            assert (await engine.make(app)).written
        assert (await engine.upgrade()).ok
        yield bot, engine
    finally:
        await bot.close()


async def test_many_apps_cost_the_statements_of_one_app_with_their_tables(
    db_url: str, cog_project: CogProject
) -> None:
    """Four apps of three tables take (almost) the statements of one app of twelve."""
    small = [f"s{n}" for n in range(4)]
    sources = {
        app: cog(app, {f"M{i}": [NAME, mood(app)] for i in range(3)}, ("a", "b")) for app in small
    }
    big = {f"M{i}": [NAME, mood("big")] for i in range(12)}
    sources["big"] = cog("big", big, ("a", "b"))
    async with migrated(db_url, cog_project, sources) as (_, engine):
        await engine.check()  # warm: the scripts are read, the worker's engine connected
        with statements() as one_app:
            assert not (await engine.check(["big"])).differing
        with statements() as many_apps:
            assert not (await engine.check(small)).differing
        # per app, before: a listing of the tables, the version table and the ledger looked
        # up and read, Alembic's own catalogue queries; now once for all of them
        assert len(many_apps) <= len(one_app) + 1, (len(many_apps), len(one_app))


async def test_a_comparison_reads_the_columns_once_with_enum_types(
    db_url: str, backend: str, cog_project: CogProject
) -> None:
    """On PostgreSQL the enum comparison looks at the columns Alembic has just reflected for
    the same tables, rather than reading every column of every table again, and still finds
    an enum type's new label, a type renamed and a column that no longer uses one."""
    if backend != "postgresql":
        pytest.skip("native enum types are compared on PostgreSQL only")
    apps = {f"en{n}": cog(f"en{n}", {"Item": [NAME, mood(f"en{n}")]}, ("a", "b")) for n in range(3)}
    async with migrated(db_url, cog_project, apps) as (bot, engine):
        await engine.check()  # warm: the scripts are read
        with statements() as seen:
            assert not (await engine.check()).differing
        columns = [s for s in seen if "format_type(" in s]
        assert len(columns) == 1, columns  # Alembic's own reflection; none after it

        cog_project.write("cogs/en0.py", cog("en0", {"Item": [NAME, mood("en0")]}, ("a", "b", "c")))
        renamed = mood("en1").replace("En1Mood", "En1Feeling")
        feeling = "class En1Feeling(enum.Enum):\n    a = 'a'\n    b = 'b'"
        created = "app = OrmarApp.create_app('en1')"
        source = cog("en1", {"Item": [NAME, renamed]}).replace(created, f"{created}\n{feeling}")
        cog_project.write("cogs/en1.py", source)
        cog_project.write("cogs/en2.py", cog("en2", {"Item": [NAME]}))
        for app in apps:
            bot.reload_extension(f"cogs.{app}")
        by_app = {s.app: s for s in await engine.status()}
        assert [c.kind for c in by_app["en0"].changes] == ["alter_enum"]
        assert [c.describe() for c in by_app["en1"].changes] == [
            "create enum en1_en1feeling (a, b)",
            "alter column en1_items.mood (type en1_en1mood -> en1_en1feeling)",
            "drop enum en1_en1mood (a, b)",
        ]
        assert [c.kind for c in by_app["en2"].changes] == ["drop_column", "drop_enum"]
        alone = await per_app(engine, list(apps))
        assert sorted(by_app.values(), key=lambda s: s.app) == sorted(alone, key=lambda s: s.app)
