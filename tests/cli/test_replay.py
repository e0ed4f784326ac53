"""``migrate --replay`` and ``check --replay``: migrations made from the history, replayed into
a scratch database of the bot's dialect, never from the live database."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import sqlalchemy
from sqlalchemy.engine import make_url

from tests.cli.project import BotProject
from tests.databases import MYSQL_TEST_USER, SERVER_URLS, _admin, _run
from tests.leakcheck import SECRET

SCRATCH = re.compile(r"scratch database (nxo_replay_\w+)")


def economy_source(step: int) -> str:
    """The economy cog after ``step`` model changes (0: its first migration)."""
    fields = [
        "id: int = ormar.Integer(primary_key=True)",
        "name: str = ormar.String(max_length=50)",
    ]
    if step >= 1:
        fields.append("nick: str = ormar.String(max_length=30, nullable=True)")
    if step >= 3:
        fields.append("rank: int = ormar.Integer(nullable=True)")
    body = "class Member(AppModel):\n    ormar_config = app.config()\n"
    body += "".join(f"    {field}\n" for field in fields)
    if step >= 2:
        body += (
            "\n\nclass Wallet(AppModel):\n"
            "    ormar_config = app.config()\n"
            "    id: int = ormar.Integer(primary_key=True)\n"
            "    balance: int = ormar.Integer(default=0)\n"
        )
    return body


def allow_scratch_databases(project: BotProject) -> None:
    """MariaDB's test user may create only nxo_test_* databases: let it create scratch ones."""
    if project.backend != "mysql":
        return
    _run(
        _admin(
            "mysql",
            [
                f"GRANT ALL PRIVILEGES ON `nxo\\_replay\\_%`.* TO '{MYSQL_TEST_USER}'@'{host}'"
                for host in ("%", "localhost")
            ],
        )
    )


def scratch_databases(project: BotProject) -> set[str]:
    """The scratch databases (or SQLite files) that exist now."""
    if project.backend == "sqlite":
        return {p.name.partition(".")[0] for p in Path(tempfile.gettempdir()).glob("nxo_replay_*")}
    query = (
        "SELECT datname FROM pg_database"
        if project.backend == "postgresql"
        else "SELECT schema_name FROM information_schema.schemata"
    )

    def names(conn: sqlalchemy.Connection) -> set[str]:
        return {str(r[0]) for r in conn.execute(sqlalchemy.text(query))}

    return {n for n in project.db(names) if n.startswith("nxo_replay_")}


def three_migrations(project: BotProject) -> None:
    """A cog with three migrations, made from the history alone (the live database unused)."""
    allow_scratch_databases(project)
    project.write_bot("cogs.economy")
    for step in range(3):
        project.write_cog("economy", economy_source(step))
        project.ok("migrate", "--replay")
    assert project.migrations("economy") == [
        "0001_create_members.py",
        "0002_add_members_nick.py",
        "0003_create_wallets.py",
    ]


def live_database_is_untouched(project: BotProject) -> None:
    if project.backend == "sqlite":
        assert not Path(make_url(project.db_url).database or "").exists()
    else:
        assert project.tables() == set()


def body(text: str) -> str:
    """A migration script without its creation date."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("Create Date"))


def test_replay_writes_exactly_the_next_migration(project: BotProject) -> None:
    three_migrations(project)
    live_database_is_untouched(project)
    assert project.ok("check", "--replay").out.splitlines() == ["economy: up to date"]

    project.write_cog("economy", economy_source(3))
    run = project.nx("check", "--replay", "--verbose")
    assert run.code == 1, run
    assert "add column economy_members.rank" in run.out
    made = project.ok("migrate", "--replay", "--verbose")
    assert "economy: wrote migration 0004 " in made.out
    live_database_is_untouched(project)
    assert project.ok("check", "--replay").out.splitlines() == ["economy: up to date"]

    # The scratch databases of every run are gone.
    used = set(SCRATCH.findall(run.err + made.err))
    assert len(used) == 2, run.err + made.err
    assert not used & scratch_databases(project)

    # The live database brought to the same history yields the same script.
    replayed = project.migration_text("economy", "0004")
    (project.root / "cogs/economy/migrations/0004_add_members_rank.py").unlink()
    project.ok("upgrade")
    project.ok("migrate")
    assert body(project.migration_text("economy", "0004")) == body(replayed)


def test_drift_in_the_live_database_does_not_leak(project: BotProject) -> None:
    three_migrations(project)
    project.ok("upgrade")
    project.execute(
        "INSERT INTO economy_members (id, name) VALUES (1, 'ada')",
        # Drift: by hand, a column nobody declared and the column the next change will add.
        "ALTER TABLE economy_members ADD COLUMN extra INTEGER",
        "ALTER TABLE economy_members ADD COLUMN rank INTEGER",
    )
    project.write_cog("economy", economy_source(3))
    live = project.nx("check")  # the live database sees only the drift
    assert "drop column economy_members.extra" in live.out
    assert "add column economy_members.rank" not in live.out

    made = project.ok("migrate", "--replay")
    assert "economy: wrote migration 0004 " in made.out
    assert "add column economy_members.rank" in made.out
    assert "extra" not in made.out
    script = project.migration_text("economy", "0004")
    assert "rank" in script
    assert "extra" not in script
    assert project.rows("SELECT id, name, extra FROM economy_members") == [(1, "ada", None)]


def test_a_script_that_cannot_replay_is_named_with_its_line(project: BotProject) -> None:
    three_migrations(project)
    project.write(
        "cogs/economy/migrations/0004_backfill.py",
        '''
        """backfill

        Revision ID: 0004
        Revises: 0003
        """
        import sqlalchemy as sa
        from alembic import op

        revision = "0004"
        down_revision = "0003"
        branch_labels = None
        depends_on = None


        def upgrade():
            first = op.get_bind().execute(sa.text("SELECT id FROM economy_members")).one()
            op.execute(f"UPDATE economy_members SET nick = 'x' WHERE id = {first.id}")


        def downgrade():
            pass
        ''',
    )
    before = project.migrations("economy")
    project.write_cog("economy", economy_source(3))
    run = project.nx("migrate", "--replay", "--verbose")
    assert run.code == 1, run
    error = [line for line in run.err.splitlines() if line.startswith("nxalembic: error:")]
    assert len(error) == 1, run
    assert "cogs/economy/migrations/0004_backfill.py, line 16" in error[0], run
    assert "no migration written" in error[0]
    assert project.migrations("economy") == before
    assert not set(SCRATCH.findall(run.err)) & scratch_databases(project)

    check = project.nx("check", "--replay")
    assert check.code == 1, check
    assert "0004_backfill.py, line 16" in check.err, check


def test_replay_without_the_right_to_create_databases(project: BotProject) -> None:
    if project.backend != "mysql":
        return
    project.write_cog("economy", economy_source(0))
    database = make_url(project.db_url).database
    user = "nxo_noreplay"
    _run(
        _admin(
            "mysql",
            [
                f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{SECRET}'",
                f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{SECRET}'",
                f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'",
                f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'localhost'",
            ],
        )
    )
    limited = make_url(project.db_url).set(username=user)
    project.write_bot("cogs.economy", url=limited.render_as_string(hide_password=False))
    run = project.nx("migrate", "--replay")
    assert run.code == 1, run
    assert run.err.count("\n") == 1, run
    assert "cannot create a scratch database" in run.err
    assert "--replay-url" in run.err
    assert user not in run.output
    assert SECRET not in run.output
    assert project.migrations("economy") == []

    root = make_url(SERVER_URLS["mysql"]).set(database=None)
    made = project.ok("migrate", "--replay-url", root.render_as_string(hide_password=False))
    assert "economy: wrote migration 0001 " in made.out
