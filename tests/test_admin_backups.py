"""Backups seen from Discord: ``/migrate upgrade`` names the one it took, ``/migrate backup``
makes one and attaches it. A real nextcord_ormar.Bot against the local Discord, real databases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import normalize_url
from nextcord_ormar.migrations import Backups, MigrationEngine
from tests.conftest import CogProject
from tests.discord_harness import Scene, columns, running_bot
from tests.sample_cogs import change_wallet, write_cogs


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _rows(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(sqlalchemy.text(sql))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def _make(scene: Scene) -> None:
    await scene.finished(await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made")


def _engine_of_cog(scene: Scene) -> MigrationEngine:
    cog: Any = scene.bot.get_cog("Migrations")
    engine: MigrationEngine = cog.engine
    return engine


async def test_upgrade_reply_names_the_backup_and_backup_attaches_one(
    db_url: str, backend: str, cog_project: CogProject, tmp_path: Path
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        folder = tmp_path / "backups"
        if backend != "sqlite":  # servers are backed up when asked (a SQLite file always)
            _engine_of_cog(scene).backups = Backups(enabled=True, folder=folder)
        await _make(scene)
        first = await scene.run(scene.owner, "migrate upgrade")
        embed = (await scene.finished(first, "Upgrade done")).embeds[0]
        assert "Backup" not in [f["name"] for f in embed.get("fields", [])], embed  # nothing yet
        await _rows(db_url, "INSERT INTO economy_wallets (id, balance) VALUES (1, 10), (2, 20)")

        change_wallet(cog_project, None)  # drop the balance field
        scene.bot.reload_extension("cogs.economy")
        await _make(scene)
        upgrade = await scene.run(scene.owner, "migrate upgrade")
        await scene.finished(upgrade, "drop tables, columns, indexes or constraints")
        await scene.discord.click(scene.owner, upgrade, label="Confirm")
        reply = await scene.finished(upgrade, "Upgrade done")
        fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
        named = re.fullmatch(r"backup: (\S+) \(.+\)", fields["Backup"])
        assert named, fields
        taken = Path(named[1])
        assert taken.is_file()
        assert re.search(r"\.economy-0001-0002\.(bak|sql)$", taken.name)
        assert "balance" not in await columns(db_url, "economy_wallets")

        made = await scene.run(scene.owner, "migrate backup", {"cog": "Economy"})
        reply = await scene.finished(made, "Backup made")
        (attached,) = reply.files
        assert attached.filename.endswith(".bak" if backend == "sqlite" else ".sql")
        assert ".economy-0002." in attached.filename
        on_disk = taken.parent / attached.filename
        assert attached.data == on_disk.read_bytes()
        if backend != "sqlite":
            assert b"economy_wallets" in attached.data

        # The first backup still holds the dropped column's rows: restore puts them back.
        await _engine_of_cog(scene).restore(taken)
        assert "balance" in await columns(db_url, "economy_wallets")
        assert await _rows(db_url, "SELECT id, balance FROM economy_wallets ORDER BY id") == [
            (1, 10),
            (2, 20),
        ]


async def test_a_dump_tool_that_fails_stops_the_upgrade(
    db_url: str, backend: str, cog_project: CogProject, tmp_path: Path
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite is copied in-process, without a dump tool")
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        engine = _engine_of_cog(scene)
        engine.backups = Backups(enabled=True, folder=tmp_path, dump_tool="false")
        await _make(scene)
        await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")
        change_wallet(cog_project, "bank: int = ormar.Integer(default=0, server_default='0')")
        scene.bot.reload_extension("cogs.economy")
        await _make(scene)
        upgrade = await scene.run(scene.owner, "migrate upgrade")
        reply = await scene.finished(upgrade, "backup failed")
        text = reply.embeds[0]["description"] if reply.embeds else reply.content
        assert "false exited with status 1" in (text or "")
        assert "bank" not in await columns(db_url, "economy_wallets")
        assert await _rows(db_url, "SELECT version_num FROM alembic_version_economy") == [("0001",)]
        assert not list(tmp_path.glob("*.sql"))
