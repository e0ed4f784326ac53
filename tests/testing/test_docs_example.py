"""The docs' "test a cog in 17 lines" example, kept working."""

from __future__ import annotations

import nextcord
from nextcord.ext import commands

from nextcord_ormar.testing import LocalDiscord


class Economy(commands.Cog):
    """Stands in for the user's own cog."""

    @nextcord.slash_command(name="balance", description="Your balance")
    async def balance(self, interaction: nextcord.Interaction) -> None:
        assert interaction.user is not None
        await interaction.response.send_message(f"{interaction.user.name} has 0 coins")


async def test_balance() -> None:
    async with LocalDiscord() as discord:
        alice = discord.create_user("alice")
        guild = discord.create_guild("Test", owner=alice)
        bot = commands.Bot(intents=nextcord.Intents.default(), guild_ready_timeout=0.05)
        bot.add_cog(Economy())
        async with discord.run_bot(bot):
            handle = await discord.slash(alice, guild.channel("general"), "balance")
            reply = await handle.wait_done()
    assert reply.content == "alice has 0 coins"
