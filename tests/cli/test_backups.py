"""Backups before writes, ``nxalembic backup`` and ``nxalembic restore``, on each database.

A destructive upgrade (a column dropped from a table with rows) is backed up first and
undone by ``restore``; a backup that cannot be written stops the upgrade before it starts;
only the newest N backups stay. The database is read directly, never through the engine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.project import BotProject

WALLETS = """
class Wallet(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    owner: str = ormar.String(max_length=50)
    coins: int = ormar.Integer(default=0)
"""

WALLETS_WITHOUT_COINS = """
class Wallet(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    owner: str = ormar.String(max_length=50)
"""

ROWS = [(1, "ada", 10), (2, "bob", 25), (3, "cy", 0)]
BACKUP_LINE = re.compile(r"^backup: (?P<path>\S+) \(\d+(\.\d)? (bytes|MiB)\)$", re.M)


def _wallets_with_rows(project: BotProject, *options: str) -> None:
    """economy at 0001 with three wallets, and 0002 (drop coins) written but not applied."""
    project.write_cog("economy", WALLETS)
    project.write_bot("cogs.economy")
    project.ok("migrate")
    project.ok("upgrade", *options)
    values = ", ".join(f"({i}, '{o}', {c})" for i, o, c in ROWS)
    project.execute(f"INSERT INTO economy_wallets (id, owner, coins) VALUES {values}")
    project.write_cog("economy", WALLETS_WITHOUT_COINS)
    project.ok("migrate", "-m", "drop coins")


def _contents(project: BotProject) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, sorted: the data, whatever the file's header says."""
    return {
        table: sorted(project.rows(f"SELECT * FROM {table}"), key=repr)
        for table in sorted(project.tables())
    }


def _server_options(project: BotProject, tmp_path: Path) -> list[str]:
    """Servers back up only when asked; SQLite by default."""
    if project.backend == "sqlite":
        return []
    return ["--backup", "--backup-dir", str(tmp_path / "dumps")]


def test_backup_before_a_destructive_upgrade_and_restore_brings_the_rows_back(
    project: BotProject, tmp_path: Path
) -> None:
    options = _server_options(project, tmp_path)
    _wallets_with_rows(project, *options)
    before = _contents(project)

    run = project.ok("upgrade", "--yes", *options)
    found = BACKUP_LINE.search(run.out)
    assert found, run
    assert run.out.index("backup: ") < run.out.index("economy: 0001 -> 0002"), run
    backup = project.root / found["path"]
    assert backup.is_file(), run
    assert re.search(r"\.economy-0001-0002\.(bak|sql)$", backup.name), backup.name
    assert "coins" not in project.columns("economy_wallets")
    assert project.version("economy") == "0002"

    refused = project.nx("restore", str(backup))  # no terminal, no --yes: nothing happens
    assert refused.code == 1, refused
    assert "this would restore" in refused.err
    assert "replacing the whole database" in refused.err or project.backend != "sqlite"
    assert "--yes" in refused.err
    assert "coins" not in project.columns("economy_wallets")

    run = project.ok("restore", str(backup), "--yes", *options)
    assert f"restored {found['path']}" in run.out, run
    assert project.version("economy") == "0001"
    assert "coins" in project.columns("economy_wallets")
    assert project.rows("SELECT id, owner, coins FROM economy_wallets ORDER BY id") == ROWS
    if project.backend == "sqlite":
        assert _contents(project) == before
    # The restore backed up what it replaced (the database at 0002) first.
    safety = BACKUP_LINE.search(run.out)
    assert safety, run
    assert "before-restore" in safety["path"], run


def test_a_backup_that_cannot_be_written_stops_the_upgrade(
    project: BotProject, tmp_path: Path
) -> None:
    _wallets_with_rows(project)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder would go")
    schema = project.columns("economy_wallets").keys()

    run = project.nx("upgrade", "--yes", "--backup", "--backup-dir", str(blocker / "backups"))
    assert run.code == 1, run
    errors = run.err.strip().splitlines()
    assert len(errors) == 1, run
    assert errors[0].startswith("nxalembic: error: backup failed"), run
    assert "nothing was changed" in errors[0]
    assert project.version("economy") == "0001"
    assert project.columns("economy_wallets").keys() == schema
    assert project.rows("SELECT id, owner, coins FROM economy_wallets ORDER BY id") == ROWS


def test_only_the_newest_backups_are_kept(sqlite_project: BotProject, tmp_path: Path) -> None:
    project = sqlite_project
    _wallets_with_rows(project)
    folder = tmp_path / "kept"
    made = []
    for _ in range(4):
        run = project.ok("backup", "--app=economy", f"--backup-dir={folder}", "--keep-backups=3")
        found = BACKUP_LINE.search(run.out)
        assert found, run
        made.append(Path(found["path"]).name)
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(made[1:])
    assert all(".economy-0001." in name for name in left)


def test_server_without_backup_option_takes_none_and_says_nothing(
    project: BotProject, tmp_path: Path
) -> None:
    if project.backend == "sqlite":
        pytest.skip("SQLite is backed up by default")
    _wallets_with_rows(project)
    run = project.ok("upgrade", "--yes")
    assert "backup" not in run.out
    assert not (project.root / "backups").exists()
