"""Column types from outside SQLAlchemy, unrunnable scripts refused, one app's error not
stopping the others, and nextcord's start-up warnings kept out of ``nxalembic``'s output."""

from __future__ import annotations

from tests.cli.project import BotProject

TYPES = """
class Money(sqlalchemy.types.TypeDecorator):
    impl = sqlalchemy.Numeric(12, 2)
    cache_ok = True


class Point(sqlalchemy.types.UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw):
        return "VARCHAR(40)"

    def __repr__(self):
        return REPR


events = sqlalchemy.Table(
    "ledger_events",
    app.metadata,
    sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
    sqlalchemy.Column("amount", Money()),
    sqlalchemy.Column("where", Point()),
)
app.add_table(events)
"""

GOOD = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    code: uuid.UUID = ormar.UUID(uuid_format="string")
"""


def types_cog(repr_text: str) -> str:
    return TYPES.replace("REPR", repr(repr_text))


def test_foreign_types_are_written_so_the_script_runs(sqlite_project: BotProject) -> None:
    project = sqlite_project
    project.write_cog("ledger", types_cog("Point()"))
    project.write_cog("guild", GOOD, imports="import uuid")
    project.write_bot("cogs.ledger", "cogs.guild")
    project.ok("migrate")
    ledger = project.migration_text("ledger", "0001")
    assert "sa.Numeric(precision=12, scale=2)" in ledger  # the TypeDecorator, by what it stores
    assert "import cogs.ledger as _cogs_ledger" in ledger  # the user-defined type, with its import
    assert "sa.CHAR(length=36)" in project.migration_text("guild", "0001")  # ormar.UUID
    project.ok("upgrade")
    assert sorted(project.ok("check").out.splitlines()) == [
        "guild: up to date",
        "ledger: up to date",
    ]


def test_a_script_using_a_name_it_does_not_import_is_not_written(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    project.write_cog("ledger", types_cog("Point(Precision.HIGH)"))
    project.write_cog("guild", GOOD, imports="import uuid")
    project.write_bot("cogs.ledger", "cogs.guild")
    run = project.nx("migrate")
    assert run.code == 1, run
    assert (
        "ledger: error: app 'ledger': the generated migration would fail at upgrade, so nothing "
        "was written: it uses 'Precision' without importing it" in run.out
    ), run
    assert "Traceback" not in run.output
    assert project.migrations("ledger") == []
    assert project.migrations("guild") == ["0001_create_members.py"]  # the other app goes on


BROKEN = """
class Broken(sqlalchemy.types.TypeDecorator):
    impl = sqlalchemy.String(10)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        raise RuntimeError("this type is broken")


app.add_table(
    sqlalchemy.Table(
        "shaky_rows",
        app.metadata,
        sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
        sqlalchemy.Column("value", Broken()),
    )
)
"""


def test_one_apps_unexpected_error_does_not_stop_the_others(sqlite_project: BotProject) -> None:
    project = sqlite_project
    project.write_cog("guild", GOOD, imports="import uuid")
    project.write_cog("shaky", BROKEN)
    project.write_bot("cogs.guild", "cogs.shaky")
    # The table exists, so comparing its column (not only rendering it) meets the error.
    project.execute("CREATE TABLE shaky_rows (id INTEGER PRIMARY KEY, value VARCHAR(10))")
    run = project.nx("migrate")
    assert run.code == 1, run
    assert "guild: wrote migration 0001" in run.out, run
    assert "shaky: error: RuntimeError: this type is broken" in run.out, run
    assert project.migrations("shaky") == []
    project.ok("upgrade", "--app", "guild")
    check = project.nx("check")
    assert check.code == 1, check
    assert "guild: up to date" in check.out, check
    assert "shaky: error: RuntimeError: this type is broken" in check.out, check
    assert "Traceback" not in check.output
    verbose = project.nx("check", "-v")
    assert "Traceback" in verbose.err, verbose


def test_nextcords_start_up_warnings_are_shown_only_with_verbose(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    project.write_cog("guild", GOOD, imports="import uuid")
    project.write(
        "mybot.py",
        f"""
        import nextcord
        from nextcord_ormar import Bot

        bot = Bot(
            database_url={project.db_url!r},
            command_prefix="!",
            intents=nextcord.Intents.default(),
        )
        bot.load_extension("cogs.guild")
        """,
    )
    for args in (("current",), ("migrate",), ("check",)):
        run = project.nx(*args)
        assert "Message content intent" not in run.output, run
        assert "warning" not in run.output, run
    verbose = project.nx("current", "-v")
    assert "Message content intent is not enabled" in verbose.err, verbose
