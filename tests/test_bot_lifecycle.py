"""The bot owns the database: connected before anything can use it, disconnected last."""

import nextcord
import pytest

from nextcord_ormar import AutoShardedBot, Bot, database
from nextcord_ormar.testing import LocalDiscord
from tests.conftest import CogProject
from tests.discord_harness import table_names

JOURNAL = """
import asyncio

import ormar
from nextcord.ext import commands
from nextcord_ormar import AppModel, OrmarApp, metadata

app = OrmarApp.create_app("journal")


class Entry(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    text: str = ormar.String(max_length=50)


class Journal(commands.Cog):
    def __init__(self, bot):
        self.bot = bot

    @commands.Cog.listener()
    async def on_ready(self):
        # The first thing a cog may do once ready: the database must already answer.
        async with self.bot.database.engine.begin() as conn:
            await conn.run_sync(lambda c: metadata.create_all(c, tables=app.tables))
        await Entry.objects.create(text="ready")
        self.bot.journal_ready = True

    def cog_unload(self):
        # Runs inside bot.close(), before the database is disconnected.
        self.bot.unload_saw_database = self.bot.database.is_connected


def setup(bot):
    bot.add_cog(Journal(bot))
"""


@pytest.mark.parametrize("bot_class", [Bot, AutoShardedBot])
async def test_database_is_up_before_ready_and_closed_after_the_cogs(
    db_url: str, cog_project: CogProject, bot_class: type[Bot]
) -> None:
    cog_project.write("journal.py", JOURNAL)
    async with LocalDiscord(heartbeat_interval=0.5) as discord:
        owner = discord.create_user("owner")
        discord.create_guild("HQ", owner=owner)
        discord.set_owner(owner)
        bot = bot_class(
            database_url=db_url, intents=nextcord.Intents.default(), guild_ready_timeout=0.05
        )
        bot.load_extension("journal")
        assert not database.is_connected
        async with discord.run_bot(bot):
            assert database.is_connected
            from journal import Entry

            await discord.wait_until(lambda: getattr(bot, "journal_ready", False))
            entries = await Entry.objects.all()
            assert [e.text for e in entries] == ["ready"]
        assert bot.unload_saw_database is True  # type: ignore[attr-defined]
        assert not database.is_connected
    assert "journal_entrys" in await table_names(db_url)
