"""The make -> review -> upgrade workflow, and every command on a real database."""

from __future__ import annotations

from tests.cli.project import BotProject

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    name: str = ormar.String(max_length=50)
"""

MEMBERS_WITH_NICK = (
    MEMBERS
    + """    nick: str = ormar.String(max_length=30, nullable=True)
"""
)

AWARDS = """
class Award(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    member = ormar.ForeignKey(Member)
    title: str = ormar.String(max_length=50)
"""


def two_apps(project: BotProject) -> None:
    """``economy`` and ``awards``, whose table references economy's (so economy goes first)."""
    project.write_cog("economy", MEMBERS)
    project.write_cog("awards", AWARDS, imports="from cogs.economy import Member")
    project.write_bot("cogs.economy", "cogs.awards")


def test_migrate_writes_each_apps_first_migration_into_its_folder(project: BotProject) -> None:
    two_apps(project)

    run = project.ok("migrate")

    assert project.migrations("economy") == ["0001_create_members.py"]
    assert project.migrations("awards") == ["0001_create_awards.py"]
    lines = run.out.splitlines()
    assert lines[0] == (
        "economy: wrote migration 0001 cogs/economy/migrations/0001_create_members.py "
        "(create members)"
    )
    assert "  - create table economy_members (id, name)" in lines
    assert "  - create table awards_awards (id, member, title)" in lines
    script = project.migration_text("awards", "0001")
    assert "op.create_table('awards_awards'" in script
    assert "['economy_members.id']" in script
    assert "economy_members'" not in script.replace("['economy_members.id']", "")
    # nothing ran: no app table exists yet
    assert not {"economy_members", "awards_awards"} & project.tables()


def test_upgrade_of_all_apps_applies_the_referenced_app_first(project: BotProject) -> None:
    two_apps(project)
    project.ok("migrate")

    run = project.ok("upgrade")

    # awards comes first by name; its foreign key needs economy's table to exist
    assert run.out.index("economy: base -> 0001") < run.out.index("awards: base -> 0001")
    assert "  applied 0001 create awards" in run.out
    assert {
        "economy_members",
        "awards_awards",
        "alembic_version_economy",
        "alembic_version_awards",
    } <= project.tables()
    assert project.version("economy") == "0001"
    assert project.version("awards") == "0001"


def test_make_review_upgrade_and_every_command(project: BotProject) -> None:
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")
    project.ok("migrate")

    # made but not applied: another migrate refuses and says what to run
    run = project.nx("migrate")
    assert run.code == 1, run
    assert run.out.strip() == (
        "economy: not up to date: 0001 not applied yet, no migration written; "
        "run 'nxalembic upgrade --app economy' first"
    )
    assert project.migrations("economy") == ["0001_create_members.py"]

    # --sql prints the SQL and changes nothing
    run = project.ok("upgrade", "--sql")
    assert "-- economy: base -> 0001" in run.out
    assert "CREATE TABLE economy_members" in run.out
    assert "economy_members" not in project.tables()
    assert project.version("economy") is None

    run = project.ok("update")  # the original README's spelling
    assert run.out.splitlines() == ["economy: base -> 0001 (1 migration)", "  applied 0001 create members"]
    assert {"economy_members", "alembic_version_economy"} <= project.tables()

    run = project.ok("upgrade")
    assert run.out.strip() == "economy: already at 0001, nothing to do"

    # no changes: nothing written
    run = project.ok("migrate")
    assert run.out.strip() == "economy: no changes, no migration written"
    assert project.migrations("economy") == ["0001_create_members.py"]
    assert project.ok("check").out.strip() == "economy: up to date"

    # a model change: check fails and names it; migrate, upgrade, check passes
    project.execute("INSERT INTO economy_members (id, name) VALUES (1, 'ada')")
    project.write_cog("economy", MEMBERS_WITH_NICK)
    run = project.nx("check")
    assert run.code == 1, run
    assert "economy: models differ from the database:" in run.out
    assert "  - add column economy_members.nick (VARCHAR(30))" in run.out

    run = project.ok("migrate", "--app", "economy", "-m", "Nicknames for members!")
    assert project.migrations("economy") == [
        "0001_create_members.py",
        "0002_nicknames_for_members.py",
    ]
    assert run.out.splitlines() == [
        "economy: wrote migration 0002 cogs/economy/migrations/0002_nicknames_for_members.py "
        "(Nicknames for members!)",
        "  - add column economy_members.nick (VARCHAR(30))",
    ]
    run = project.ok("current")
    assert run.out.strip() == "economy: 0001 (head is 0002; not applied: 0002)"
    run = project.nx("check")
    assert run.code == 1, run
    assert "economy: migrations not applied: 0002; run 'nxalembic upgrade --app economy'" in run.out

    project.ok("upgrade", "--app", "economy")
    assert project.ok("check").out.strip() == "economy: up to date"
    assert project.model_diff("economy") == []
    assert project.rows("SELECT id, name, nick FROM economy_members") == [(1, "ada", None)]

    # the read-only commands
    assert project.ok("current").out.strip() == "economy: 0002 (head)"
    assert project.ok("heads").out.strip() == "economy: 0002"
    assert project.ok("history").out.splitlines() == [
        "economy (cogs/economy/migrations):",
        "  0001 create members [applied]",
        "  0002 Nicknames for members! [applied, head]",
    ]
    run = project.ok("show", "economy", "0002")
    assert run.out.startswith(
        "# economy 0002: Nicknames for members! "
        "(cogs/economy/migrations/0002_nicknames_for_members.py)"
    )
    assert "op.add_column" in run.out or "batch_op.add_column" in run.out
    assert "down_revision = '0001'" in run.out

    # downgrade --sql prints the SQL and changes nothing
    run = project.nx("downgrade", "economy", "--sql")
    if project.backend == "sqlite":
        # Alembic cannot render SQLite's batch "move and copy" of a table without reflecting it
        assert run.code == 1, run
        assert len(run.err.splitlines()) == 1, run
        assert "--sql mode" in run.err
    else:
        assert run.code == 0, run
        assert "-- economy: 0002 -> 0001" in run.out
        assert "nick" in run.out
    assert project.version("economy") == "0002"
    assert "nick" in project.columns("economy_members")

    # downgrade one step, then to base
    run = project.ok("downgrade", "economy")
    assert run.out.splitlines() == [
        "economy: 0002 -> 0001 (1 migration)",
        "  undid 0002 Nicknames for members!",
    ]
    assert "nick" not in project.columns("economy_members")
    assert project.version("economy") == "0001"
    assert project.rows("SELECT id, name FROM economy_members") == [(1, "ada")]
    run = project.ok("downgrade", "economy", "base")
    assert run.out.splitlines()[0] == "economy: 0001 -> base (1 migration)"
    assert "economy_members" not in project.tables()
    assert project.version("economy") is None

    # stamp records a revision without running it
    run = project.ok("stamp", "economy", "head")
    assert run.out.strip() == "economy: stamped base -> 0002 (nothing was run)"
    assert project.version("economy") == "0002"
    assert "economy_members" not in project.tables()
    run = project.ok("stamp", "economy", "base")
    assert run.out.strip() == "economy: stamped 0002 -> base (nothing was run)"
    assert project.version("economy") is None


def test_empty_migration_is_blank_and_upgrades(project: BotProject) -> None:
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade")

    run = project.ok("migrate", "--app", "economy", "--empty", "-m", "drop old stuff")

    assert run.out.splitlines() == [
        "economy: wrote blank migration 0002 cogs/economy/migrations/0002_drop_old_stuff.py "
        "(drop old stuff)"
    ]
    script = project.migration_text("economy", "0002")
    assert "down_revision = '0001'" in script
    assert "op." not in script.split("def upgrade()")[1]
    run = project.ok("upgrade")
    assert project.version("economy") == "0002"
