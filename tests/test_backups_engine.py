"""The engine's backups on each database: what the dump tools are given, what is said when
there is none, stamp and downgrade backed up too, and restore refusing what is not a backup."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nextcord_ormar import Bot
from nextcord_ormar.migrations import BackupError, Backups, MigrationEngine
from tests.conftest import CogProject
from tests.discord_harness import table_names
from tests.leakcheck import SECRET
from tests.sample_cogs import write_cogs

# A stand-in dump tool: records its arguments, its environment's password variable and the
# options file it was given (with that file's mode), then fails like a real tool would.
RECORDER = """#!/bin/sh
out="$(dirname "$0")/seen.txt"
echo "args: $*" > "$out"
echo "PGPASSWORD=${PGPASSWORD:-}" >> "$out"
for arg in "$@"; do
  case "$arg" in
    --defaults-extra-file=*)
      file="${arg#--defaults-extra-file=}"
      echo "mode: $(stat -c %a "$file")" >> "$out"
      cat "$file" >> "$out";;
  esac
done
echo "pg_dump: error: connection to server failed for user in $*" >&2
exit 3
"""


async def _economy_at_0001(bot: Bot) -> MigrationEngine:
    engine = MigrationEngine.for_bot(bot, backups=False)
    await engine.make("economy")
    await engine.upgrade()
    return engine


def _bot(db_url: str, cog_project: CogProject) -> Bot:
    """A bot with the economy cog (made inside the test: nextcord wants a running loop)."""
    write_cogs(cog_project, moderation=False)
    the_bot = Bot(database_url=db_url)
    the_bot.load_extension("cogs.economy")
    return the_bot


async def test_dump_tools_get_the_password_out_of_sight_and_their_errors_are_scrubbed(
    db_url: str, backend: str, cog_project: CogProject, tmp_path: Path
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite is copied in-process, without a dump tool")
    bot = _bot(db_url, cog_project)
    tool = tmp_path / "tools" / "dump"
    tool.parent.mkdir()
    tool.write_text(RECORDER)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    try:
        await _economy_at_0001(bot)
        engine = MigrationEngine.for_bot(bot, backups=Backups(True, tmp_path, dump_tool=str(tool)))
        with pytest.raises(BackupError) as caught:
            await engine.backup()
        message = str(caught.value)
        assert message.startswith("backup failed, nothing was changed: dump exited with status 3")
        assert SECRET not in message
        user = bot.database.sa_url.username
        assert user is not None
        assert user not in message
        seen = (tool.parent / "seen.txt").read_text()
        args = seen.splitlines()[0]
        assert SECRET not in args
        assert "economy_wallets" in args
        if backend == "postgresql":
            assert f"PGPASSWORD={SECRET}" in seen
        else:
            assert "mode: 600" in seen
            assert f'password="{SECRET}"' in seen
            options = args.split("--defaults-extra-file=")[1].split()[0]
            assert not os.path.exists(options)  # deleted afterwards
        assert not list(tmp_path.glob("*.sql*"))
    finally:
        await bot.close()


async def test_a_missing_dump_tool_is_said_not_skipped(
    db_url: str, backend: str, cog_project: CogProject, tmp_path: Path
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite needs no dump tool")
    bot = _bot(db_url, cog_project)
    try:
        await _economy_at_0001(bot)
        missing = Backups(True, tmp_path, dump_tool=str(tmp_path / "no-such-tool"))
        engine = MigrationEngine.for_bot(bot, backups=missing)
        result = await engine.downgrade("economy")
        assert result.ok
        assert result.backup is not None
        assert result.backup.path is None
        assert result.backup.describe().startswith("no backup taken: ")
        assert "not found on PATH" in result.backup.describe()
        with pytest.raises(BackupError, match=r"^no backup taken: "):
            await engine.backup()
    finally:
        await bot.close()


async def test_stamp_and_downgrade_are_backed_up_and_named(
    db_url: str, backend: str, cog_project: CogProject, tmp_path: Path
) -> None:
    folder = tmp_path / "kept"
    bot = _bot(db_url, cog_project)
    try:
        await _economy_at_0001(bot)
        engine = MigrationEngine.for_bot(bot, backups=Backups(enabled=True, folder=folder))
        stamped = await engine.stamp("economy", "base")
        assert stamped.backup is not None
        assert stamped.backup.path is not None
        assert stamped.backup.path.name.endswith(".economy-0001-base." + _suffix(backend))
        assert stamped.backup.path.parent == folder
        await engine.stamp("economy", "head")
        down = await engine.downgrade("economy")
        assert down.backup is not None
        assert down.backup.path is not None
        assert ".economy-0001-base." in down.backup.path.name
        assert len(list(folder.iterdir())) == 3
    finally:
        await bot.close()


async def test_restore_refuses_what_is_not_a_backup_of_this_database(
    db_url: str, backend: str, cog_project: CogProject, tmp_path: Path
) -> None:
    bot = _bot(db_url, cog_project)
    text = tmp_path / "notes.sql"
    text.write_text("DROP TABLE economy_wallets;\n")
    other = tmp_path / "other.bak"
    other.write_bytes(b"-- MariaDB dump 10.19\nDROP TABLE economy_wallets;\n")
    try:
        engine = await _economy_at_0001(bot)
        with pytest.raises(BackupError, match="is not a backup of a"):
            await engine.restore(text)
        if backend != "mysql":
            with pytest.raises(BackupError, match="it is a mysql backup"):
                await engine.restore(other)
        assert "economy_wallets" in await table_names(db_url)
    finally:
        await bot.close()


def _suffix(backend: str) -> str:
    return "bak" if backend == "sqlite" else "sql"
