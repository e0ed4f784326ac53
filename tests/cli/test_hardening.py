"""Hardening points of issue 14 seen through the real ``nxalembic``: odd revision names,
odd messages, ``file:`` URIs, duplicate ids, and what a MariaDB failure report lists."""

from __future__ import annotations

import fcntl
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.cli.project import BotProject
from tests.cli.test_workflow import migration

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
"""


def _economy(project: BotProject) -> None:
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")


def test_unicode_digits_in_a_relative_revision_are_an_unknown_revision(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    _economy(project)
    project.ok("migrate", "-m", "start")
    project.ok("upgrade")
    for name in ("-²", "+\u0661", "-\u0661"):  # U+0661: ARABIC-INDIC DIGIT ONE
        if name.startswith("-"):  # after "--": argparse takes "-²" for an option otherwise
            run = project.nx("downgrade", "--yes", "economy", "--", name)
        else:
            run = project.nx("upgrade", "--yes", "--app", "economy", name)
        assert run.code == 2, str(run)
        assert "Traceback" not in run.output, str(run)
        assert "has no revision" in run.err, str(run)
        assert len(run.err.strip().splitlines()) == 1, str(run)
    assert project.version("economy") == "0001"


def test_a_lone_surrogate_in_a_message_writes_the_script_where_it_belongs(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    _economy(project)
    temp = Path(tempfile.gettempdir())
    before = set(temp.iterdir())
    run = project.ok("migrate", "-m", "start \udcff here")
    after = set(temp.iterdir())
    assert [p for p in after - before if p.suffix == ".py"] == [], str(run)
    (name,) = project.migrations("economy")
    assert name.startswith("0001_start"), name
    text = project.migration_text("economy", "0001")
    assert "\udcff" not in text
    assert "start" in text


def test_a_file_uri_database_is_locked_like_a_file(tmp_path: Path) -> None:
    database = tmp_path / "uri.sqlite3"
    url = f"sqlite:///file:{database}?uri=true"
    project = BotProject(tmp_path / "bot", url)
    project.write_ini()
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy", url=url)  # BotProject drops SQLite query strings
    lock_path = database.with_name(database.name + ".nxo-lock")
    with lock_path.open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # another process is migrating
        run = project.nx("migrate", "--lock-timeout", "0")
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    assert run.code != 0, str(run)
    assert "busy" in run.output, str(run)
    assert project.migrations("economy") == []
    project.ok("migrate")
    project.ok("upgrade")
    assert len(project.migrations("economy")) == 1
    with sqlite3.connect(database) as conn:  # the real file, not a memory database
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "economy_members" in tables, tables


SIMULATE_NO_FCNTL = (
    "import runpy, sys\n"
    "sys.modules['fcntl'] = None  # a platform without fcntl (and not Windows)\n"
    "sys.modules['msvcrt'] = None\n"
    "runpy.run_module('nextcord_ormar.nxalembic', run_name='__main__')\n"
)


def test_no_fcntl_is_one_clear_error(sqlite_project: BotProject) -> None:
    project = sqlite_project
    _economy(project)
    done = subprocess.run(
        [sys.executable, "-c", SIMULATE_NO_FCNTL, "migrate"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, done
    assert "Traceback" not in output, done
    assert "ModuleNotFoundError" not in output, done
    assert "supported: Linux, macOS, BSD and Windows" in output, done
    assert len(output.strip().splitlines()) == 1, done
    assert project.migrations("economy") == []


FAILING_MIGRATION = '''"""half done"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("economy_ledger", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO economy_nowhere (id) VALUES (1)")


def downgrade():
    op.drop_table("economy_ledger")
'''


@pytest.mark.parametrize("backend", ["mysql"])
def test_the_mariadb_failure_report_lists_only_the_migrations_own_statements(
    project: BotProject,
) -> None:
    _economy(project)
    project.ok("migrate", "-m", "start")
    project.ok("upgrade")  # 0002 is then the first step of its run, after Alembic's own queries
    project.write("cogs/economy/migrations/0002_half_done.py", FAILING_MIGRATION)
    run = project.nx("upgrade")
    assert run.code == 1, str(run)
    assert "1 statement of 0002 ran and stay applied" in run.output, str(run)
    listed = run.output.split("stay applied", 1)[1]
    assert "CREATE TABLE economy_ledger" in listed, str(run)
    for alembic_own in ("SELECT", "DESCRIBE", "SHOW", "alembic_version", "nextcord_ormar_history"):
        assert alembic_own not in listed, str(run)
    assert project.version("economy") == "0001"


def _script(revision: str, down: str | None, table: str) -> str:
    create = f"op.create_table({table!r}, sa.Column('id', sa.Integer, primary_key=True))"
    return migration(revision, down, create)


READING_COMMANDS = (
    ("upgrade",),
    ("migrate",),
    ("migrate", "--app", "economy", "--empty", "-m", "merge"),
    ("current",),
    ("history",),
    ("heads",),
    ("check",),
    ("downgrade", "--yes", "economy"),
)


def _refused_everywhere(project: BotProject, *words: str) -> None:
    """Every command that reads the scripts exits non-zero with one line holding ``words``."""
    for args in READING_COMMANDS:
        run = project.nx(*args)
        assert run.code != 0, str(run)
        assert "Traceback" not in run.output, str(run)
        lines = [x for x in run.output.splitlines() if all(w in x for w in words)]
        assert len(lines) == 1, str(run)
    assert project.version("economy") == "0001"


def _two_branches(project: BotProject, shops_id: str) -> str:
    """0001 applied, then 0002 (loans) and ``shops_id`` (shops), both after 0001."""
    _economy(project)
    project.ok("migrate", "-m", "start")
    project.ok("upgrade")
    folder = "cogs/economy/migrations"
    project.write(f"{folder}/0002_add_loans.py", _script("0002", "0001", "economy_loans"))
    shops = _script(shops_id, "0001", "economy_shops")
    project.write(f"{folder}/{shops_id}_add_shops.py", shops)
    return folder


def test_duplicate_ids_from_two_branches_are_a_hard_error(sqlite_project: BotProject) -> None:
    project = sqlite_project
    folder = _two_branches(project, "0002")
    _refused_everywhere(project, "0002_add_loans.py", "0002_add_shops.py", "renumber")
    assert "economy_loans" not in project.tables()
    assert "economy_shops" not in project.tables()
    assert len(project.migrations("economy")) == 3

    # the way out (docs/migrations.rst): renumber the unapplied one
    shops = project.root / folder / "0002_add_shops.py"
    shops.unlink()
    project.write(f"{folder}/0003_add_shops.py", _script("0003", "0002", "economy_shops"))
    project.ok("upgrade")
    assert project.version("economy") == "0003"
    assert {"economy_loans", "economy_shops"} <= project.tables()


def test_two_heads_are_one_clear_error_naming_both_files(sqlite_project: BotProject) -> None:
    project = sqlite_project
    _two_branches(project, "0003")
    _refused_everywhere(project, "0002_add_loans.py", "0003_add_shops.py", "down_revision")
