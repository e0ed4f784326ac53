"""Fixtures: a running local Discord, a small world, and the sample bot connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from localdiscord_sample import SampleBot, Scene

from nextcord_ormar.testing import LocalDiscord, Permission


@pytest.fixture
async def discord() -> AsyncIterator[LocalDiscord]:
    """A running local Discord; fails the test if the bot called a route it does not serve."""
    async with LocalDiscord(heartbeat_interval=0.25) as local:
        yield local
        assert not local.server_errors, [str(r) for r in local.server_errors]
        assert not local.unknown_routes, [str(r) for r in local.unknown_routes]


@pytest.fixture
def scene(discord: LocalDiscord) -> Scene:
    """The small world most tests use."""
    alice = discord.create_user("alice")
    bob = discord.create_user("bob")
    carol = discord.create_user("carol")
    outsider = discord.create_user("outsider")
    guild = discord.create_guild("Test Guild", owner=alice, channels=["general", "logs"])
    moderator = guild.create_role("moderator", Permission.MANAGE_GUILD | Permission.KICK_MEMBERS)
    guild.add_member(bob)
    guild.add_member(carol, roles=[moderator], nick="Carol")
    discord.set_owner(alice)
    return Scene(guild, guild.channel("general"), alice, bob, carol, outsider, moderator)


@pytest.fixture
async def bot(discord: LocalDiscord, scene: Scene) -> AsyncIterator[SampleBot]:
    """The sample bot, connected and synced."""
    async with discord.run_bot(SampleBot(guild_command_guild=scene.guild.id)) as running:
        yield running
