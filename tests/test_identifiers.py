"""Identifiers past 63 characters: every name the library emits fits PostgreSQL (63),
MariaDB (64) and SQLite, is the same on every run and machine, and what cannot be shortened
is refused when the model is defined."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import ormar
import pytest
import sqlalchemy

from nextcord_ormar import AppModel, AppNameError, Bot, OrmarApp, database, metadata, registry
from tests import long_names
from tests.cli.project import cog_source
from tests.conftest import CogProject
from tests.long_names import CASES, DIRECTORY


def load(project: CogProject) -> None:
    """Import both long-named cogs (creating their apps and models), without a bot."""
    long_names.write_cogs(project.write)
    importlib.import_module(f"cogs.{DIRECTORY}")
    importlib.import_module(f"cogs.{CASES}")


def app_tables() -> list[sqlalchemy.Table]:
    return [table for app in registry.ordered() for table in app.tables]


def test_every_identifier_of_the_longest_app_names_fits_63(cog_project: CogProject) -> None:
    load(cog_project)
    tables = app_tables()
    assert len(tables) == 5  # members, tags, cases and the two through tables
    assert long_names.too_long(tables) == []
    # the cross-app foreign key ormar names fk_<table>_<target>_<pk>_<field> (120 characters)
    (case_table,) = [t for t in tables if t.name == f"{CASES}_moderationcases"]
    (fk,) = [c for c in case_table.foreign_key_constraints if "offending_member" in c.columns]
    # cut to 63 and ended with a hash of the full name: pinned, since a different name on
    # another version would make every existing database differ from its models
    assert fk.name == "fk_moderation_case_records_of_the_big_guild_moderation_20f0de4e"


def test_shortened_names_are_the_same_in_every_process(cog_project: CogProject) -> None:
    load(cog_project)
    here = long_names.identifiers(app_tables())
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(cog_project.root)!r})\n"
        "import importlib\n"
        "from nextcord_ormar import registry\n"
        "from tests.long_names import CASES, DIRECTORY, identifiers\n"
        "importlib.import_module(f'cogs.{DIRECTORY}')\n"
        "importlib.import_module(f'cogs.{CASES}')\n"
        "tables = [t for app in registry.ordered() for t in app.tables]\n"
        "print(json.dumps(identifiers(tables)))\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent.parent,
        )
        assert [tuple(entry) for entry in json.loads(done.stdout)] == here


def test_a_column_name_over_63_characters_is_refused_at_model_definition() -> None:
    app = OrmarApp.create_app("columns")
    long_name = "total_number_of_messages_sent_in_every_channel_since_the_first_day"
    assert len(long_name) == 66
    with pytest.raises(AppNameError, match=rf"column name '{long_name}' .* 66 characters"):

        class Stats(AppModel):
            ormar_config = app.config()
            id: int = ormar.Integer(primary_key=True)
            count: int = ormar.Integer(name=long_name)

    assert "columns_statss" not in metadata.tables


def test_a_long_field_name_is_refused_too() -> None:
    app = OrmarApp.create_app("fields")
    with pytest.raises(AppNameError, match="longer than 63"):

        class Stats(AppModel):
            ormar_config = app.config()
            id: int = ormar.Integer(primary_key=True)
            a_field_whose_name_goes_on_and_on_well_past_what_postgresql_allows: int = (
                ormar.Integer()
            )


async def test_long_names_create_and_hold_rows_on_every_database(
    db_url: str, cog_project: CogProject
) -> None:
    long_names.write_cogs(cog_project.write)
    bot = Bot(database_url=db_url)
    bot.load_extension(f"cogs.{DIRECTORY}")
    bot.load_extension(f"cogs.{CASES}")
    await bot.connect_database()
    try:
        tables = app_tables()
        async with database.engine.begin() as conn:
            await conn.run_sync(lambda c: metadata.create_all(c, tables=tables))
        members = sys.modules[f"cogs.{DIRECTORY}"]
        cases = sys.modules[f"cogs.{CASES}"]
        member = await members.GuildMember.objects.create(id=42, display_name="ada")
        tag = await cases.CaseTag.objects.create(label="spam")
        case = await cases.ModerationCase.objects.create(
            guild_identifier=1,
            case_number=7,
            opened_by_moderator=99,
            external_reference="ref-7",
            offending_member=member,
        )
        await case.tags.add(tag)
        await case.witnesses.add(member)
        loaded = await cases.ModerationCase.objects.select_related(
            ["offending_member", "tags", "witnesses"]
        ).get()
        assert loaded.offending_member.display_name == "ada"
        assert [t.label for t in loaded.tags] == ["spam"]
        assert [w.id for w in loaded.witnesses] == [42]

        def reflected(conn: sqlalchemy.Connection) -> dict[str, set[str]]:
            inspector = sqlalchemy.inspect(conn)
            names: dict[str, set[str]] = {}
            for table in tables:
                found = {str(i["name"]) for i in inspector.get_indexes(table.name)}
                found |= {str(fk["name"]) for fk in inspector.get_foreign_keys(table.name)}
                names[table.name] = found
            return names

        async with database.engine.connect() as conn:
            in_database = await conn.run_sync(reflected)
        for table in tables:
            expected = {str(index.name) for index in table.indexes}
            if database.engine.dialect.name != "sqlite":  # SQLite reports no FK names
                expected |= {str(fk.name) for fk in table.foreign_key_constraints}
            # the database holds exactly the names of the models, not a shortened copy
            assert expected <= in_database[table.name], table.name
    finally:
        await bot.close()


def status_cog(app: str, values: tuple[str, ...]) -> str:
    """A cog whose app has a model with an ``ormar.Enum`` of an enum class called ``Status``."""
    members = "".join(f"    {value} = {value!r}\n" for value in values)
    return cog_source(
        app,
        f"class Status(enum.Enum):\n{members}\n\n"
        "class Ticket(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True)\n"
        f"    status: Status = ormar.Enum(enum_class=Status, default=Status.{values[0]})\n",
        imports="import enum",
    )


def enum_type_names(app: str) -> list[str]:
    return [
        str(column.type.name)
        for table in registry.get(app).tables
        for column in table.columns
        if isinstance(column.type, sqlalchemy.Enum)
    ]


def test_two_apps_with_the_same_enum_class_get_their_own_type_names(
    cog_project: CogProject,
) -> None:
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/tickets.py", status_cog("tickets", ("open", "closed")))
    cog_project.write("cogs/reports.py", status_cog("reports", ("pending", "reviewed")))
    cog_project.write(f"cogs/{CASES}.py", status_cog(CASES, ("new",)))
    for app in ("tickets", "reports", CASES):
        importlib.import_module(f"cogs.{app}")
    assert enum_type_names("tickets") == ["tickets_status"]
    assert enum_type_names("reports") == ["reports_status"]
    assert enum_type_names(CASES) == [f"{CASES}_status"]

    importlib.reload(sys.modules["cogs.tickets"])  # named once, not prefixed twice
    assert enum_type_names("tickets") == ["tickets_status"]


def test_a_long_enum_class_name_is_fitted(cog_project: CogProject) -> None:
    source = status_cog(CASES, ("new",)).replace("Status", "StatusOfTheModerationCaseWorkflow")
    cog_project.write("cogs/__init__.py", "")
    cog_project.write(f"cogs/{CASES}.py", source)
    importlib.import_module(f"cogs.{CASES}")
    (name,) = enum_type_names(CASES)
    assert len(name) == 63
    assert name.startswith(f"{CASES}_statusofthe")


async def test_same_enum_class_in_two_apps_on_one_database(
    db_url: str, cog_project: CogProject
) -> None:
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/tickets.py", status_cog("tickets", ("open", "closed")))
    cog_project.write("cogs/reports.py", status_cog("reports", ("pending", "reviewed")))
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.tickets")
    bot.load_extension("cogs.reports")
    await bot.connect_database()
    try:
        tables = app_tables()
        async with database.engine.begin() as conn:
            await conn.run_sync(lambda c: metadata.create_all(c, tables=tables))
        tickets = sys.modules["cogs.tickets"]
        reports = sys.modules["cogs.reports"]
        await tickets.Ticket.objects.create(status=tickets.Status.closed)
        await reports.Ticket.objects.create(status=reports.Status.reviewed)
        assert [t.status for t in await tickets.Ticket.objects.all()] == [tickets.Status.closed]
        assert [t.status for t in await reports.Ticket.objects.all()] == [reports.Status.reviewed]
        if database.engine.dialect.name == "postgresql":
            async with database.engine.connect() as conn:
                types = await conn.run_sync(
                    lambda c: {e["name"]: e["labels"] for e in sqlalchemy.inspect(c).get_enums()}
                )
            assert types["tickets_status"] == ["open", "closed"]
            assert types["reports_status"] == ["pending", "reviewed"]
            assert "status" not in types
    finally:
        await bot.close()
