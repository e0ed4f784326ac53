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


def _rename_balance(cog_project: CogProject) -> None:
    path = Path(cog_project.root, "cogs", "economy.py")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    balance: int", "    coins: int"), encoding="utf-8")


async def test_make_asks_about_a_rename_with_buttons(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    folder = Path(cog_project.root, "cogs", "economy", "migrations")
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        await scene.finished(
            await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made"
        )
        await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")
        await _execute(db_url, "INSERT INTO economy_wallets (id, balance) VALUES (7, 70)")
        _rename_balance(cog_project)
        scene.bot.reload_extension("cogs.economy")

        make = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        await scene.finished(make, "did you rename column economy_wallets.balance to coins?")
        assert not list(folder.glob("0002_*.py"))  # nothing written while the question waits
        await scene.discord.click(scene.owner, make, label="Confirm")
        reply = await scene.finished(make, "Made migration")
        assert reply.files[0].filename == "0002_rename_wallets_balance.py"
        script = (folder / "0002_rename_wallets_balance.py").read_text(encoding="utf-8")
        assert "new_column_name='coins'" in script

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        await scene.finished(upgrade, "Upgrade done")  # a rename drops nothing: no question
        engine = create_async_engine(normalize_url(db_url))
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(sqlalchemy.text("SELECT id, coins FROM economy_wallets"))
                assert [tuple(r) for r in rows] == [(7, 70)]
        finally:
            await engine.dispose()


async def test_an_unanswered_rename_keeps_drop_and_add(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    extras = {"confirm_timeout": 0.5}
    async with running_bot(
        db_url, cog_project, extensions=("cogs.economy",), extras=extras
    ) as scene:
        await scene.finished(
            await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made"
        )
        await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")
        _rename_balance(cog_project)
        scene.bot.reload_extension("cogs.economy")
        make = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        await scene.finished(make, "did you rename column economy_wallets.balance to coins?")
        reply = await scene.finished(make, "Made migration")  # no answer: timed out
        text = str(reply.embeds[0])
        assert "drop column economy_wallets.balance" in text
        assert "kept drop + add of economy_wallets.balance / coins" in text
