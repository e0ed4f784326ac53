"""The make -> review -> upgrade workflow and every command, on each database.

Each ``nxalembic`` run is a subprocess (about a second), so one scenario walks through
the commands in the order a user would run them, checking the output, the files and the
database after each step.
"""

from __future__ import annotations

from tests.cli.project import BotProject, Run, run_parallel

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    name: str = ormar.String(max_length=50)
"""

AWARDS = """
class Award(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    member = ormar.ForeignKey(Member)
    title: str = ormar.String(max_length=50)
"""

APP_TABLES = {"economy_members", "awards_awards"}


def test_workflow_from_an_empty_database_through_every_command(project: BotProject) -> None:
    # ``awards`` references ``economy``'s table; by name it would come first.
    project.write_cog("economy", MEMBERS)
    project.write_cog("awards", AWARDS, imports="from cogs.economy import Member")
    project.write_bot("cogs.economy", "cogs.awards")

    # -- migrate: one file per app, in the app's own folder, listing its operations ----------
    run = project.ok("migrate")
    assert run.out.splitlines() == [
        "economy: wrote migration 0001 cogs/economy/migrations/0001_create_members.py "
        "(create members)",
        "  - create table economy_members (id, name)",
        "awards: wrote migration 0001 cogs/awards/migrations/0001_create_awards.py (create awards)",
        "  - create table awards_awards (id, member, title)",
    ]
    assert project.migrations("economy") == ["0001_create_members.py"]
    assert project.migrations("awards") == ["0001_create_awards.py"]
    economy_script = project.migration_text("economy", "0001")
    assert "op.create_table('economy_members'" in economy_script
    assert "awards" not in economy_script
    awards_script = project.migration_text("awards", "0001")
    assert "op.create_table('awards_awards'" in awards_script
    assert "['economy_members.id']" in awards_script
    assert "create_table('economy_members'" not in awards_script
    assert not APP_TABLES & project.tables()

    # -- made but not applied: migrate refuses and says what to run --------------------------
    run = project.nx("migrate", "--app", "economy")
    assert run.code == 1, run
    assert run.out.splitlines() == [
        "economy: not up to date: 0001 not applied yet, no migration written; "
        "run 'nxalembic upgrade --app economy' first"
    ]
    assert project.migrations("economy") == ["0001_create_members.py"]

    # -- upgrade --sql prints the SQL and changes nothing --------------------------------------
    run = project.ok("upgrade", "--sql")
    assert run.out.index("-- economy: base -> 0001") < run.out.index("-- awards: base -> 0001")
    assert "CREATE TABLE economy_members" in run.out
    assert "CREATE TABLE awards_awards" in run.out
    assert not APP_TABLES & project.tables()
    assert project.version("economy") is None

    # -- upgrade ("update", the original spelling): referenced app first ----------------------
    run = project.ok("update")
    assert run.out.splitlines() == [
        "economy: base -> 0001 (1 migration)",
        "  applied 0001 create members",
        "awards: base -> 0001 (1 migration)",
        "  applied 0001 create awards",
    ]
    assert APP_TABLES | {"alembic_version_economy", "alembic_version_awards"} <= project.tables()
    assert project.version("economy") == "0001"
    assert project.version("awards") == "0001"
    project.execute(
        "INSERT INTO economy_members (id, name) VALUES (1, 'ada')",
        "INSERT INTO awards_awards (id, member, title) VALUES (1, 1, 'first')",
    )

    # -- no changes: nothing written; --empty writes a blank script ----------------------------
    run = project.ok("migrate")
    assert run.out.splitlines() == [
        "economy: no changes, no migration written",
        "awards: no changes, no migration written",
    ]
    run = project.ok("migrate", "--app", "economy", "--empty", "-m", "Fill in: by hand!")
    assert run.out.splitlines() == [
        "economy: wrote blank migration 0002 cogs/economy/migrations/0002_fill_in_by_hand.py "
        "(Fill in: by hand!)"
    ]
    assert project.migrations("economy") == ["0001_create_members.py", "0002_fill_in_by_hand.py"]
    assert project.migrations("awards") == ["0001_create_awards.py"]
    blank = project.migration_text("economy", "0002")
    assert "down_revision = '0001'" in blank
    assert "op." not in blank.split("def upgrade()")[1]

    # -- the read-only commands --------------------------------------------------------------
    current, history, heads, show = run_parallel(
        [
            lambda: project.ok("current"),
            lambda: project.ok("history"),
            lambda: project.ok("heads", "--app", "economy"),
            lambda: project.ok("show", "economy", "0001"),
        ]
    )
    assert current.out.splitlines() == [
        "economy: 0001 (head is 0002; not applied: 0002)",
        "awards: 0001 (head)",
    ]
    assert history.out.splitlines() == [
        "economy (cogs/economy/migrations):",
        "  0001 create members [applied]",
        "  0002 Fill in: by hand! [pending, head]",
        "awards (cogs/awards/migrations):",
        "  0001 create awards [applied, head]",
    ]
    assert heads.out.splitlines() == ["economy: 0002"]
    assert show.out.startswith(
        "# economy 0001: create members (cogs/economy/migrations/0001_create_members.py)\n"
    )
    assert economy_script.strip() in show.out

    run = project.ok("upgrade", "--app", "economy")
    # A SQLite file is backed up before each write that has something to lose (issue 15).
    backed_up = project.backend == "sqlite"
    assert run.out.startswith("backup: ") == backed_up, run
    assert _without_backup(run) == [
        "economy: 0001 -> 0002 (1 migration)",
        "  applied 0002 Fill in: by hand!",
    ]
    run = project.ok("upgrade")
    assert run.out.splitlines() == [
        "economy: already at 0002, nothing to do",
        "awards: already at 0001, nothing to do",
    ]

    # -- downgrade --sql prints the SQL and changes nothing ------------------------------------
    run = project.ok("downgrade", "awards", "base", "--sql")
    assert run.out.startswith("-- awards: 0001 -> base\n")
    assert "DROP TABLE awards_awards" in run.out
    assert project.version("awards") == "0001"
    assert "awards_awards" in project.tables()

    # -- downgrade one step, then to base --------------------------------------------------
    run = project.ok("downgrade", "economy", "--yes")
    assert _without_backup(run) == [
        "economy: 0002 -> 0001 (1 migration)",
        "  undid 0002 Fill in: by hand!",
    ]
    assert project.version("economy") == "0001"
    run = project.ok("downgrade", "awards", "base", "--yes")
    assert _without_backup(run) == [
        "awards: 0001 -> base (1 migration)",
        "  undid 0001 create awards",
    ]
    assert "awards_awards" not in project.tables()
    assert project.version("awards") is None
    assert project.rows("SELECT id, name FROM economy_members") == [(1, "ada")]

    # -- stamp records a revision without running anything -----------------------------------
    run = project.ok("stamp", "awards", "head")
    assert _without_backup(run) == ["awards: stamped base -> 0001 (nothing was run)"]
    assert project.version("awards") == "0001"
    assert "awards_awards" not in project.tables()
    run = project.ok("stamp", "awards", "base")
    assert _without_backup(run) == ["awards: stamped 0001 -> base (nothing was run)"]
    assert project.version("awards") is None


def _without_backup(run: Run) -> list[str]:
    """The output's lines without the backup line a write on SQLite starts with."""
    return [line for line in run.out.splitlines() if not line.startswith("backup: ")]


def migration(revision: str, down: str | None, upgrade: str) -> str:
    """A hand-written migration script."""
    return (
        f'"""step {revision}"""\n\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = {revision!r}\ndown_revision = {down!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n    {upgrade}\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )


def test_failed_upgrade_says_where_it_stopped(project: BotProject, backend: str) -> None:
    project.write_cog("economy", MEMBERS)
    project.write_cog("awards", AWARDS, imports="from cogs.economy import Member")
    project.write_bot("cogs.economy", "cogs.awards")
    create = (
        'op.create_table("economy_members", sa.Column("id", sa.Integer, primary_key=True), '
        'sa.Column("name", sa.String(50), nullable=False))'
    )
    project.write("cogs/economy/migrations/0001_start.py", migration("0001", None, create))
    project.write(
        "cogs/economy/migrations/0002_broken.py",
        migration("0002", "0001", 'op.execute("INSERT INTO economy_nowhere (id) VALUES (1)")'),
    )
    project.write(
        "cogs/awards/migrations/0001_start.py",
        migration("0001", None, 'op.create_table("awards_x", sa.Column("id", sa.Integer))'),
    )

    run = project.nx("upgrade")

    assert run.code == 1, run
    lines = run.out.splitlines()
    assert lines[0].startswith("economy: failed at 0002: "), run
    assert "economy_nowhere" in lines[0]
    # PostgreSQL and SQLite roll the failed migration back; MariaDB commits DDL as it goes,
    # and here the failing INSERT was the migration's only statement.
    state = "  no statement of 0002 ran" if backend == "mysql" else "  0002 was rolled back whole"
    assert lines[1:] == [
        "  applied 0001 step 0001",
        "  economy is left at 0001",
        state,
        "awards: not attempted (an earlier app failed)",
    ]
    assert project.version("economy") == "0001"
    assert "economy_members" in project.tables()
    assert "awards_x" not in project.tables()
