"""/migrate sql on SQLite attaches the batch SQL (table rebuilt) and applies nothing."""

from __future__ import annotations

import pytest

from tests.conftest import CogProject
from tests.discord_harness import columns, running_bot
from tests.sample_cogs import change_wallet, write_cogs


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sql_attaches_a_batch_migration(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        await scene.finished(
            await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made"
        )
        await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")

        change_wallet(cog_project, None)  # drop balance: a table rebuild on SQLite
        scene.bot.reload_extension("cogs.economy")
        await scene.finished(
            await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made"
        )

        sql = await scene.run(scene.owner, "migrate sql", {"cog": "Economy"})
        reply = await scene.finished(sql, "Nothing was applied")
        (attached,) = reply.files
        script = attached.text()
        assert "CREATE TABLE _alembic_tmp_economy_wallets" in script
        assert "INSERT INTO _alembic_tmp_economy_wallets" in script
        assert "DROP TABLE economy_wallets" in script
        assert "ALTER TABLE _alembic_tmp_economy_wallets RENAME TO economy_wallets" in script
        assert "balance" in await columns(db_url, "economy_wallets")
