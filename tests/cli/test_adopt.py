"""``nxalembic adopt``: a bot that nextcord-ormar 0.3.3 ran keeps every row and its history.

Each test starts from the database and scripts 0.3.3 leaves (tests/cli/legacy03.py), on
SQLite, PostgreSQL and MariaDB, and runs the real ``nxalembic`` as a subprocess.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import Connection, make_url

from nextcord_ormar import registry
from nextcord_ormar.migrations.naming import next_revision_id
from tests.cli import legacy03
from tests.cli.legacy03 import ECONOMY_1, ECONOMY_2, LEVELS_1, MODERATION_1, VERSIONS
from tests.cli.project import BotProject
from tests.conftest import CogProject

LEGACY_TABLES = {"economy.members", "moderation.warns", "levels.levels"}
NEW_TABLES = {"economy_members", "moderation_warns", "levels_levels"}
NOTE = "    note: str = ormar.String(max_length=100, nullable=True)\n"


def files(project: BotProject) -> dict[str, bytes]:
    """Every migration script of the project, relative path -> bytes."""
    return {
        str(p.relative_to(project.root)): p.read_bytes()
        for p in sorted(project.root.glob("cogs/**/migrations/*.py"))
    }


def legacy_versions(project: BotProject) -> dict[str, str | None]:
    def read(conn: Connection) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for app in VERSIONS:
            table = sqlalchemy.table(f"alembic.{app}", sqlalchemy.column("version_num"))
            row = conn.execute(sqlalchemy.select(table.c.version_num)).first()
            found[app] = row[0] if row else None
        return found

    return project.db(read)


def rows(project: BotProject, members: str, warns: str, levels: str) -> list[object]:
    def q(name: str) -> str:
        return '"' + name + '"' if project.backend != "mysql" else "`" + name + "`"

    return [
        project.rows(f"SELECT id, name, coins, bank FROM {q(members)} ORDER BY id"),
        project.rows(f"SELECT id, member, reason FROM {q(warns)} ORDER BY id"),
        project.rows(f"SELECT id, xp FROM {q(levels)} ORDER BY id"),
    ]


EXPECTED_ROWS = [legacy03.MEMBERS, legacy03.WARNS, legacy03.LEVELS]


def test_commands_name_adopt_and_refuse_to_touch_a_03_database(project: BotProject) -> None:
    legacy03.make_legacy_bot(project)
    before = files(project)

    current = project.nx("current")
    assert current.code == 0, str(current)
    for app in VERSIONS:
        line = next(x for x in current.out.splitlines() if x.startswith(f"{app}:"))
        assert "nextcord-ormar 0.3" in line
        assert f"'nxalembic adopt --app {app}'" in line
    assert '"alembic.economy"' in current.out
    assert '"economy.members"' in current.out

    check = project.nx("check")
    assert check.code == 1, str(check)
    assert "nxalembic adopt --app economy" in check.out

    for args in (("upgrade",), ("migrate",), ("upgrade", "--app", "levels")):
        run = project.nx(*args)
        assert run.code == 1, str(run)
        lines = [line for line in run.output.splitlines() if line.strip()]
        assert lines, str(run)
        for line in lines:  # one line per refused app, naming the command
            assert "nxalembic adopt --app" in line, str(run)
            assert "nothing was changed" in line, str(run)

    assert project.tables() == LEGACY_TABLES | {f"alembic.{a}" for a in VERSIONS}
    assert files(project) == before
    assert rows(project, "economy.members", "moderation.warns", "levels.levels") == EXPECTED_ROWS


def test_adopt_renames_tables_keeps_rows_and_history(project: BotProject) -> None:
    legacy03.make_legacy_bot(project)
    before_files = files(project)
    before_tables = project.tables()

    # Plans and SQL change nothing; without a terminal, adopt wants --yes.
    dry = project.ok("adopt", "--dry-run")
    assert "economy: to adopt from nextcord-ormar 0.3" in dry.out
    assert f"move cogs/migrations/{MODERATION_1}_.py -> cogs/moderation/migrations/" in dry.out
    assert 'rename "economy.members" -> economy_members' in dry.out
    sql = project.ok("adopt", "--sql", "--app", "economy")
    assert "alembic_version_economy" in sql.out
    assert ECONOMY_2 in sql.out
    refused = project.nx("adopt")
    assert refused.code == 1, str(refused)
    assert "this would adopt 3 apps from nextcord-ormar 0.3" in refused.err
    assert "Run again with --yes to confirm" in refused.err
    assert files(project) == before_files
    assert project.tables() == before_tables

    adopted = project.ok("adopt", "--yes")
    assert (
        "economy: adopted at 9a4a0aa24e46; review "
        "cogs/economy/migrations/0001_adopt_0_3_table_names.py, then "
        "'nxalembic upgrade --app economy' renames the tables"
    ) in adopted.out
    for app, rev in VERSIONS.items():
        assert project.version(app) == rev
    # Each app's 0.3 scripts, picked out of the shared cogs/migrations by their chain.
    renaming = "0001_adopt_0_3_table_names.py"
    assert project.migrations("moderation") == [renaming, f"{MODERATION_1}_.py"]
    assert project.migrations("levels") == [renaming, f"{LEVELS_1}_.py"]
    assert not list((project.root / "cogs" / "migrations").glob("*.py"))
    economy = sorted(p.name for p in (project.root / "cogs/economy/migrations").glob("*.py"))
    assert economy == [renaming, f"{ECONOMY_1}_.py", f"{ECONOMY_2}_.py"]
    assert legacy_versions(project) == VERSIONS  # the 0.3 version tables are left alone
    assert rows(project, "economy.members", "moderation.warns", "levels.levels") == EXPECTED_ROWS

    # A second adopt changes nothing and says so.
    after_files = files(project)
    again = project.ok("adopt", "--yes")
    for app in VERSIONS:
        assert f"{app}: already adopted (at {VERSIONS[app]}); nothing to do" in again.out
    assert files(project) == after_files

    # On SQLite the index is dropped and re-created (no RENAME INDEX there): upgrade asks.
    upgraded = project.ok("upgrade", "--yes")
    assert "applied 0001 adopt nextcord-ormar 0.3 table names" in upgraded.out
    assert project.tables() >= NEW_TABLES
    assert not (LEGACY_TABLES & project.tables())
    assert rows(project, "economy_members", "moderation_warns", "levels_levels") == EXPECTED_ROWS
    fks = project.db(lambda c: sqlalchemy.inspect(c).get_foreign_keys("moderation_warns"))
    assert [fk["referred_table"] for fk in fks] == ["economy_members"]
    indexes = project.db(lambda c: sqlalchemy.inspect(c).get_indexes("economy_members"))
    assert "ix_economy_members_name" in {ix["name"] for ix in indexes}
    project.ok("check")  # the models match the renamed tables exactly

    # A model change: only the new migration runs, and it continues after the 0.3 ids.
    legacy03.write_models(project, member_extra=NOTE)
    made = project.ok("migrate", "--app", "economy")
    assert "economy: wrote migration 0002" in made.out
    upgraded = project.ok("upgrade")
    assert re.findall(r"applied (\S+)", upgraded.out) == ["0002"]
    assert "note" in project.columns("economy_members")

    # Downgrade walks back through the renaming migration into the 0.3 scripts.
    down = project.ok("downgrade", "economy", ECONOMY_1, "--yes")
    assert re.findall(r"undid (\S+)", down.out) == ["0002", "0001", ECONOMY_2]
    assert "economy.members" in project.tables()
    assert set(project.columns("economy.members")) == {"id", "name", "coins"}
    members = [r[:3] for r in legacy03.MEMBERS]
    q = "`" if project.backend == "mysql" else '"'
    found = project.rows(f"SELECT id, name, coins FROM {q}economy.members{q} ORDER BY id")
    assert found == members
    assert project.version("economy") == ECONOMY_1


def test_adopt_keep_names_prints_the_tablenames_and_renames_nothing(project: BotProject) -> None:
    legacy03.make_legacy_bot(project)
    adopted = project.ok("adopt", "--keep-names", "--yes")
    pasted = dict(
        re.findall(
            r'in model (\w+), write ormar_config = app\.config\(tablename="([^"]+)"\)', adopted.out
        )
    )
    assert pasted == {
        "Member": "economy.members",
        "Warn": "moderation.warns",
        "Level": "levels.levels",
    }
    assert not list(project.root.glob("cogs/**/migrations/0001_*.py"))
    assert project.tables() >= LEGACY_TABLES
    assert not (NEW_TABLES & project.tables())

    legacy03.write_models(project, pasted)
    project.ok("check")  # with the pasted names, the models match the 0.3 tables
    assert project.ok("adopt", "--keep-names", "--yes").out.count("already adopted") == 3

    legacy03.write_models(project, pasted, member_extra=NOTE)
    made = project.ok("migrate")
    assert "economy: wrote migration 0001" in made.out
    assert project.migrations("moderation") == [f"{MODERATION_1}_.py"]
    upgraded = project.ok("upgrade")
    assert re.findall(r"applied (\S+)", upgraded.out) == ["0001"]
    assert rows(project, "economy.members", "moderation.warns", "levels.levels") == EXPECTED_ROWS
    down = project.ok("downgrade", "economy", "-2", "--yes")
    assert re.findall(r"undid (\S+)", down.out) == ["0001", ECONOMY_2]
    assert "bank" not in project.columns("economy.members")


BACKUP_LINE = re.compile(r"^backup: (?P<path>\S+) \(\d+(\.\d)? (bytes|MiB)\)$", re.M)


def test_adopt_backs_up_a_sqlite_database_first_and_restore_brings_the_03_tables_back(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    legacy03.make_legacy_bot(project)
    before_tables = project.tables()
    database = Path(make_url(project.db_url).database or "")

    adopted = project.ok("adopt", "--yes")
    found = BACKUP_LINE.search(adopted.out)
    assert found, adopted
    assert adopted.out.index("backup: ") < adopted.out.index("economy: adopted at"), adopted
    backup = project.root / found["path"]
    assert backup.is_file(), adopted
    assert backup.parent == database.parent  # beside the database, the SQLite default
    assert backup.name.startswith(f"{database.name}.")
    assert re.search(r"\.adopt-[a-z+-]*economy[a-z+-]*\.bak$", backup.name), backup.name
    assert {f"alembic_version_{a}" for a in VERSIONS} <= project.tables() - before_tables

    restored = project.ok("restore", str(backup), "--yes")
    assert f"restored {found['path']}" in restored.out, restored
    assert project.tables() == before_tables  # the 0.3 tables, and nothing adopt added
    assert legacy_versions(project) == VERSIONS
    assert rows(project, "economy.members", "moderation.warns", "levels.levels") == EXPECTED_ROWS


def test_adopt_on_a_server_backs_up_when_asked_and_the_dump_holds_the_03_tables(
    project: BotProject, tmp_path: Path
) -> None:
    if project.backend == "sqlite":
        pytest.skip("SQLite is backed up by default (test above)")
    legacy03.make_legacy_bot(project)
    plain = project.ok("adopt", "--yes", "--app", "levels")
    assert "backup" not in plain.out, plain  # servers: only when asked

    dumps = tmp_path / "dumps"
    asked = project.ok("adopt", "--yes", "--app", "economy", "--backup", "--backup-dir", str(dumps))
    found = BACKUP_LINE.search(asked.out)
    assert found, asked
    dump = project.root / found["path"]  # relative to the project, or absolute
    assert dump.parent.resolve() == dumps.resolve(), dump
    assert dump.suffix == ".sql", dump
    text = dump.read_text(encoding="utf-8")
    assert "economy.members" in text  # 0.3's table...
    assert "alice" in text  # ...and its rows
    assert "levels.levels" not in text  # another app's table stays out


def test_next_revision_id_ignores_hash_ids_made_only_of_digits(tmp_path: Path) -> None:
    (tmp_path / "123456789012_.py").write_text("", encoding="utf-8")
    assert next_revision_id(tmp_path, {"123456789012", "9a4a0aa24e46"}) == "0001"


def test_foreign_keys_to_a_kept_03_name_still_order_the_apps(cog_project: CogProject) -> None:
    """With --keep-names a model is ``tablename="bank.accounts"``; apps referencing it follow it."""
    cog_project.write(
        "bank03.py",
        """
        import ormar
        from nextcord_ormar import AppModel, OrmarApp

        app = OrmarApp.create_app("bank")


        class Account(AppModel):
            ormar_config = app.config(tablename="bank.accounts")
            id: int = ormar.Integer(primary_key=True)
        """,
    )
    cog_project.write(
        "audit03.py",
        """
        import ormar
        from nextcord_ormar import AppModel, OrmarApp
        from bank03 import Account

        app = OrmarApp.create_app("audit")


        class Entry(AppModel):
            ormar_config = app.config(tablename="audit.entries")
            id: int = ormar.Integer(primary_key=True)
            account = ormar.ForeignKey(Account, nullable=True)
        """,
    )
    importlib.import_module("audit03")
    assert registry.get("audit").dependencies == {"bank"}
    assert [app.name for app in registry.ordered()] == ["bank", "audit"]
