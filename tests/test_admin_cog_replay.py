"""``/migrate make from_history``: the migration made from the replayed history, through the
local Discord with a real bot, even where the live database has drifted."""

from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import normalize_url
from tests.conftest import CogProject
from tests.discord_harness import columns, running_bot, table_names
from tests.sample_cogs import change_wallet, write_cogs


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The cog on SQLite and PostgreSQL (the CLI's replay tests cover MariaDB too)."""
    return str(request.param)


async def _execute(db_url: str, statement: str) -> None:
    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(sqlalchemy.text(statement))
    finally:
        await engine.dispose()


async def test_make_from_history_ignores_the_live_database(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    folder = Path(cog_project.root, "cogs", "economy", "migrations")
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        options = {"cog": "Economy", "from_history": True}
        make = await scene.run(scene.owner, "migrate make", options)
        reply = await scene.finished(make, "Made migration")
        assert reply.files[0].filename == "0001_create_wallets.py"
        assert [p.name for p in folder.glob("*.py")] == ["0001_create_wallets.py"]
        assert "economy_wallets" not in await table_names(db_url)

        await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")
        await _execute(db_url, "ALTER TABLE economy_wallets ADD COLUMN extra INTEGER")
        change_wallet(cog_project, "bank: int = ormar.Integer(default=0, server_default='0')")
        scene.bot.reload_extension("cogs.economy")

        make = await scene.run(scene.owner, "migrate make", options)
        reply = await scene.finished(make, "Made migration")
        assert reply.files[0].filename == "0002_add_wallets_bank.py"
        script = (folder / "0002_add_wallets_bank.py").read_text(encoding="utf-8")
        assert "bank" in script
        assert "extra" not in script
        assert "extra" in await columns(db_url, "economy_wallets")

        again = await scene.run(scene.owner, "migrate make", options)
        await scene.finished(again, "No changes")
