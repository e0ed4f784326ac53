"""Python enums as database types: created, altered and dropped with their app, per app.

On PostgreSQL an ``ormar.Enum`` is a named type (``CREATE TYPE``) that Alembic alone neither
compares (added values go unnoticed) nor drops (a downgrade to base leaves it behind and the
next upgrade fails). On MariaDB it is an ``ENUM(...)`` column and on SQLite a ``VARCHAR``:
there the same evolution must simply stay clean.
"""

from __future__ import annotations

import sys

import pytest

from tests.cli.project import BotProject

ENUM_IMPORT = "import enum"


def tickets_source(values: tuple[str, ...], *, extra_column: bool = False) -> str:
    members = "".join(f"    {v} = {v.lower()!r}\n" for v in values)
    body = (
        f"class Status(enum.Enum):\n{members}\n\n"
        "class Ticket(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True, autoincrement=False)\n"
        "    status: Status = ormar.Enum(enum_class=Status)\n"
    )
    if extra_column:
        body += "    previous: Status = ormar.Enum(enum_class=Status, nullable=True)\n"
    return body


INSERT_SCRIPT = """
import asyncio
import sys

from mybot import bot
from cogs.{app} import Status, Ticket


async def main() -> None:
    await bot.connect_database()
    try:
        await Ticket.objects.create(id=int(sys.argv[1]), status=Status[sys.argv[2]])
        rows = await Ticket.objects.order_by("id").all()
        print(",".join(row.status.name for row in rows))
    finally:
        await bot.disconnect_database()


asyncio.run(main())
"""


def insert(project: BotProject, app: str, ident: int, status: str) -> str:
    """Insert a row through ormar in a fresh process; the statuses of all rows, in order."""
    import subprocess

    project.write("insert_row.py", INSERT_SCRIPT.format(app=app))
    done = subprocess.run(
        [sys.executable, "insert_row.py", str(ident), status],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def enum_types(project: BotProject) -> set[str]:
    """The enum types in the PostgreSQL database (empty elsewhere)."""
    if project.backend != "postgresql":
        return set()
    return {r[0] for r in project.rows("SELECT typname FROM pg_type WHERE typtype = 'e'")}


def assert_clean(project: BotProject, *apps: str) -> None:
    run = project.nx("check")
    assert run.code == 0, run
    assert run.out.splitlines() == [f"{app}: up to date" for app in apps], run
    made = project.ok("migrate")
    assert "wrote migration" not in made.out, made


def test_enum_values_evolve_with_their_app(project: BotProject) -> None:
    project.write_cog("tickets", tickets_source(("OPEN", "CLOSED")), imports=ENUM_IMPORT)
    project.write_bot("cogs.tickets")
    project.ok("migrate")
    project.ok("upgrade")
    assert_clean(project, "tickets")
    assert insert(project, "tickets", 1, "OPEN") == "OPEN"
    types_after_first_upgrade = enum_types(project)
    if project.backend == "postgresql":
        assert len(types_after_first_upgrade) == 1, types_after_first_upgrade

    # -- a value is added: detected, migrated, usable ----------------------------------------
    project.write_cog("tickets", tickets_source(("OPEN", "PENDING", "CLOSED")), imports=ENUM_IMPORT)
    made = project.ok("migrate")
    if project.backend in ("postgresql", "mysql"):
        assert "tickets: wrote migration 0002" in made.out, made
        assert "PENDING" in made.out, made
        assert "warning" not in made.out, made
    project.ok("upgrade")
    assert_clean(project, "tickets")
    assert insert(project, "tickets", 2, "PENDING") == "OPEN,PENDING"

    # -- a second column of the same enum: the type is shared, not created twice -------------
    project.write_cog(
        "tickets",
        tickets_source(("OPEN", "PENDING", "CLOSED"), extra_column=True),
        imports=ENUM_IMPORT,
    )
    project.ok("migrate")
    project.ok("upgrade")
    assert_clean(project, "tickets")

    # -- a value is removed: a warning, and the type is rebuilt without it --------------------
    project.write_cog(
        "tickets", tickets_source(("OPEN", "PENDING"), extra_column=True), imports=ENUM_IMPORT
    )
    made = project.ok("migrate")
    if project.backend in ("postgresql", "mysql"):
        assert "wrote migration" in made.out, made
        assert "warning: removes CLOSED from enum type" in made.out, made
    project.ok("upgrade", "--yes")  # removing a value is destructive
    assert_clean(project, "tickets")
    assert insert(project, "tickets", 3, "OPEN") == "OPEN,PENDING,OPEN"
    if project.backend == "postgresql":
        labels = project.rows(
            "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
            "ORDER BY e.enumsortorder"
        )
        assert labels == [("OPEN",), ("PENDING",)]

    # -- down to base leaves no type behind; up again works -----------------------------------
    project.execute("DELETE FROM tickets_tickets")
    project.ok("downgrade", "tickets", "base", "--yes")
    assert "tickets_tickets" not in project.tables()
    assert enum_types(project) == set()
    project.ok("upgrade", "--yes")
    assert_clean(project, "tickets")
    assert insert(project, "tickets", 1, "PENDING") == "PENDING"


def test_two_apps_with_the_same_enum_class_name(project: BotProject) -> None:
    """Each app owns its own type, though both cogs call their enum ``Status``."""
    project.write_cog("tickets", tickets_source(("OPEN", "CLOSED")), imports=ENUM_IMPORT)
    project.write_cog("orders", tickets_source(("NEW", "PAID")), imports=ENUM_IMPORT)
    project.write_bot("cogs.tickets", "cogs.orders")
    project.ok("migrate")
    project.ok("upgrade")
    assert_clean(project, "orders", "tickets")
    assert insert(project, "tickets", 1, "CLOSED") == "CLOSED"
    assert insert(project, "orders", 1, "PAID") == "PAID"
    if project.backend == "postgresql":
        assert len(enum_types(project)) == 2

    # one app's type changes; the other's is left alone
    project.write_cog("orders", tickets_source(("NEW", "PAID", "SHIPPED")), imports=ENUM_IMPORT)
    made = project.ok("migrate")
    assert "tickets: no changes" in made.out, made
    project.ok("upgrade")
    assert_clean(project, "orders", "tickets")
    project.ok("downgrade", "orders", "base", "--yes")
    assert insert(project, "tickets", 2, "OPEN") == "CLOSED,OPEN"
    if project.backend == "postgresql":
        assert len(enum_types(project)) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_enum_added_in_a_later_migration_is_created_and_dropped(project: BotProject) -> None:
    project.write_cog(
        "tickets",
        "class Ticket(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True, autoincrement=False)\n",
    )
    project.write_bot("cogs.tickets")
    project.ok("migrate")
    project.ok("upgrade")
    assert enum_types(project) == set()
    project.write_cog("tickets", tickets_source(("OPEN", "CLOSED")), imports=ENUM_IMPORT)
    made = project.ok("migrate")
    assert "add column tickets_tickets.status" in made.out, made
    project.ok("upgrade")
    assert_clean(project, "tickets")
    assert len(enum_types(project)) == 1
    assert insert(project, "tickets", 1, "CLOSED") == "CLOSED"
    project.execute("DELETE FROM tickets_tickets")
    project.ok("downgrade", "tickets", "-1", "--yes")
    assert enum_types(project) == set()
    assert "status" not in project.columns("tickets_tickets")
    project.ok("upgrade")
    assert len(enum_types(project)) == 1


def log_source(type_name: str, values: tuple[str, ...]) -> str:
    """A plain SQLAlchemy table of the app whose enum type name is given explicitly."""
    labels = ", ".join(repr(v) for v in values)
    return (
        "log = sqlalchemy.Table(\n"
        "    'tickets_log', app.metadata,\n"
        "    sqlalchemy.Column('id', sqlalchemy.Integer, primary_key=True, autoincrement=False),\n"
        f"    sqlalchemy.Column('level', sqlalchemy.Enum({labels}, name={type_name!r}),\n"
        "                      nullable=False, server_default='INFO'),\n"
        ")\n"
        "app.add_table(log)\n"
    )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_renamed_enum_type_and_removed_value_with_a_server_default(project: BotProject) -> None:
    """A type renamed (as per-app naming renames old global ones): the columns move to the
    new type and the old one is dropped; removing a value keeps the column's default."""
    project.write_cog("tickets", log_source("level", ("INFO", "WARN", "ERROR")))
    project.write_bot("cogs.tickets")
    project.ok("migrate")
    project.ok("upgrade")
    assert_clean(project, "tickets")
    project.execute("INSERT INTO tickets_log (id, level) VALUES (1, 'ERROR'), (2, DEFAULT)")

    project.write_cog("tickets", log_source("tickets_level", ("INFO", "WARN", "ERROR")))
    made = project.ok("migrate")
    assert "create enum tickets_level" in made.out, made
    assert "alter column tickets_log.level (type level -> tickets_level)" in made.out, made
    assert "drop enum level" in made.out, made
    project.ok("upgrade", "--yes")  # the old type is dropped
    assert_clean(project, "tickets")
    assert enum_types(project) == {"tickets_level"}
    assert project.rows("SELECT id, level::text FROM tickets_log ORDER BY id") == [
        (1, "ERROR"),
        (2, "INFO"),
    ]

    project.write_cog("tickets", log_source("tickets_level", ("INFO", "ERROR")))
    made = project.ok("migrate")
    assert "alter enum tickets_level (remove WARN)" in made.out, made
    assert "warning: removes WARN from enum type tickets_level" in made.out, made
    project.ok("upgrade", "--yes")
    assert_clean(project, "tickets")
    project.execute("INSERT INTO tickets_log (id) VALUES (3)")
    assert project.rows("SELECT level::text FROM tickets_log WHERE id = 3") == [("INFO",)]

    project.ok("downgrade", "tickets", "0001", "--yes")
    assert enum_types(project) == {"level"}
    assert len(project.rows("SELECT id FROM tickets_log")) == 3
    project.execute("DELETE FROM tickets_log")
    project.ok("downgrade", "tickets", "base", "--yes")
    assert enum_types(project) == set()
