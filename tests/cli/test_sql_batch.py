"""``upgrade --sql`` / ``downgrade --sql`` on SQLite, where nearly every ALTER is a batch:
the preview shows the table rebuilds and applies nothing."""

from __future__ import annotations

from tests.cli.project import BotProject


def members(*fields: str) -> str:
    body = (
        "class Member(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True, autoincrement=False)\n"
    )
    return body + "".join(f"    {field}\n" for field in fields)


def test_sql_renders_batch_operations_on_sqlite(sqlite_project: BotProject) -> None:
    project = sqlite_project
    project.write_cog(
        "economy", members("name: str = ormar.String(max_length=20)", "age: int = ormar.Integer()")
    )
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")
    project.execute("INSERT INTO economy_members (id, name, age) VALUES (1, 'ada', 36)")

    # add a column, drop one, widen one: a batch on SQLite
    project.write_cog(
        "economy",
        members(
            "name: str = ormar.String(max_length=80)",
            "nick: str = ormar.String(max_length=20, nullable=True)",
        ),
    )
    made = project.ok("migrate")
    assert "economy: wrote migration 0002" in made.out, made
    script = project.migration_text("economy", "0002")
    assert "batch_alter_table" in script

    before = project.columns("economy_members")
    run = project.ok("upgrade", "--sql")
    assert run.out.startswith("-- economy: 0001 -> 0002\n"), run
    out = run.out
    assert "CREATE TABLE _alembic_tmp_economy_members" in out, run
    assert "INSERT INTO _alembic_tmp_economy_members (id, name) SELECT" in out, run
    assert "DROP TABLE economy_members" in out, run
    assert "ALTER TABLE _alembic_tmp_economy_members RENAME TO economy_members" in out, run
    assert "UPDATE alembic_version_economy SET version_num='0002'" in out, run
    assert "Traceback" not in run.output
    # nothing applied
    assert project.version("economy") == "0001"
    assert project.columns("economy_members").keys() == before.keys()
    assert project.rows("SELECT id, name, age FROM economy_members") == [(1, "ada", 36)]

    # from base: both migrations, each against the table as it then was
    project.ok("upgrade", "--yes")
    run = project.ok("downgrade", "economy", "base", "--sql")
    assert run.out.startswith("-- economy: 0002 -> 0001 -> base\n") or run.out.startswith(
        "-- economy: 0002 -> base\n"
    ), run
    assert "CREATE TABLE _alembic_tmp_economy_members" in run.out, run
    assert "DROP TABLE economy_members" in run.out, run
    assert project.version("economy") == "0002"
    assert set(project.columns("economy_members")) == {"id", "name", "nick"}


def test_sql_says_in_one_line_why_a_migration_cannot_be_previewed(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    project.write_cog("economy", members())
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")
    project.ok("migrate", "--app", "economy", "--empty", "-m", "backfill")
    path = project.root / "cogs" / "economy" / "migrations" / "0002_backfill.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "def upgrade() -> None:\n",
            "def upgrade() -> None:\n    op.execute('INSERT INTO economy_missing VALUES (1)')\n",
            1,
        ),
        encoding="utf-8",
    )
    run = project.nx("upgrade", "--sql")
    assert run.code == 1, run
    assert "Traceback" not in run.output
    (line,) = run.err.splitlines()
    assert line.startswith("nxalembic: error: cannot preview the SQL: 0002 failed on a copy"), run
    assert "no such table: economy_missing" in line, run
    assert project.version("economy") == "0001"


def test_sql_keeps_every_statement_the_migration_itself_runs(sqlite_project: BotProject) -> None:
    """The preview leaves out only the replay's own looks (PRAGMA, sqlite_master, the version
    table), never a statement the migration runs, even a SELECT."""
    project = sqlite_project
    project.write_cog("economy", members())
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")
    project.ok("migrate", "--app", "economy", "--empty", "-m", "data step")
    path = project.root / "cogs" / "economy" / "migrations" / "0002_data_step.py"
    statements = (
        "    op.execute(\"SELECT 'marker one'\")\n"
        "    op.execute('INSERT INTO economy_members (id) SELECT 42')\n"
        "    op.execute('select count(*) from economy_members')\n"
    )
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("def upgrade() -> None:\n", f"def upgrade() -> None:\n{statements}", 1)
    )
    run = project.ok("upgrade", "--sql")
    assert "SELECT 'marker one'" in run.out, run
    assert "INSERT INTO economy_members (id) SELECT 42" in run.out, run
    assert "select count(*) from economy_members" in run.out, run
    assert "PRAGMA" not in run.out, run
    assert "sqlite_master" not in run.out, run
    assert "SELECT alembic_version_economy.version_num" not in run.out, run
    assert project.version("economy") == "0001"
    assert project.rows("SELECT id FROM economy_members") == []
