"""The gateway (frames, heartbeats, resume) and the bot lifecycle (no leaks between runs)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nextcord
import pytest
from localdiscord_sample import SampleBot, SampleCog, Scene
from nextcord.ext import commands
from nextcord.http import Route

from nextcord_ormar.testing import Intents, LocalDiscord, Op


async def _other_tasks(timeout: float = 3.0) -> set[asyncio.Task[object]]:
    """Tasks besides this one that are still running after ``timeout`` s (nextcord's own
    rate-limit bookkeeping may sleep up to a second after a bot closed)."""
    current = asyncio.current_task()
    others = {t for t in asyncio.all_tasks() if t is not current}
    if others:
        await asyncio.wait(others, timeout=timeout)
    return {t for t in others if not t.done()}


async def test_every_payload_carries_op_d_s_t(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    handle = await discord.slash(scene.bob, scene.general, "migrate make", {"cog": "music"})
    await handle.wait_done()
    session = discord.gateway.session
    assert session is not None
    assert all(set(p) == {"op", "d", "s", "t"} for p in session.sent)
    assert session.sent[0]["op"] == Op.HELLO
    assert session.sent[0]["d"] == {"heartbeat_interval": 250}
    dispatches = [p for p in session.sent if p["op"] == Op.DISPATCH]
    assert [p["s"] for p in dispatches] == list(range(1, len(dispatches) + 1))
    assert all(p["s"] is None and p["t"] is None for p in session.sent if p["op"] != Op.DISPATCH)
    events = [p["t"] for p in dispatches]
    assert events[:2] == ["READY", "GUILD_CREATE"]
    assert "INTERACTION_CREATE" in events
    ready = dispatches[0]["d"]
    assert ready["guilds"] == [{"id": str(scene.guild.id), "unavailable": True}]
    assert ready["session_id"] == session.id
    guild_create = dispatches[1]["d"]
    assert {c["name"] for c in guild_create["channels"]} == {"general", "logs"}
    assert {r["name"] for r in guild_create["roles"]} == {"@everyone", "moderator"}
    members = {m["user"]["username"]: m for m in guild_create["members"]}
    assert members["carol"]["roles"] == [str(scene.moderator.id)]
    assert session.compress  # nextcord asks for zlib-stream; the local Discord speaks it


async def test_the_bot_sees_the_world(discord: LocalDiscord, scene: Scene, bot: SampleBot) -> None:
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None
    assert guild.owner_id == scene.alice.id
    assert sorted(c.name for c in guild.text_channels) == ["general", "logs"]
    assert guild.get_role(scene.moderator.id) is not None
    assert bot.user is not None
    assert bot.user.id == discord.bot_user.id
    assert bot.application_id == discord.application.id


async def test_plain_json_frames_without_compression(scene: Scene) -> None:
    async with LocalDiscord(gateway_compression=False, heartbeat_interval=0.25) as local:
        user = local.create_user("u")
        guild = local.create_guild("G", owner=user)
        async with local.run_bot(SampleBot()):
            handle = await local.slash(user, guild.channel("general"), "migrate make", {"cog": "x"})
            assert (await handle.wait_done()).content == "made x: auto"
            session = local.gateway.session
            assert session is not None
            assert not session.compress


async def test_heartbeats_are_acknowledged_and_their_arrival_times_recorded(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    await discord.wait_until(lambda: len(discord.gateway.heartbeats) >= 3)
    session = discord.gateway.session
    assert session is not None
    beats = session.heartbeats
    assert beats == sorted(beats)
    acks = [p for p in session.sent if p["op"] == Op.HEARTBEAT_ACK]
    assert len(acks) >= 3
    assert session.max_heartbeat_gap() > 0
    assert bot.latency < float("inf")


async def test_a_stalled_event_loop_shows_as_a_heartbeat_gap(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    await discord.wait_until(lambda: len(discord.gateway.heartbeats) >= 2)
    bot.stall_seconds = 0.8
    handle = await discord.slash(scene.bob, scene.general, "stall")
    assert (await handle.wait_done()).kind == "edit"
    assert handle.message is not None
    assert not handle.message.loading
    assert handle.message.content == "unstalled"
    count = len(discord.gateway.heartbeats)
    await discord.wait_until(lambda: len(discord.gateway.heartbeats) >= count + 1)
    # While the loop was blocked no heartbeat could arrive: the gap covers the stall.
    assert discord.gateway.max_heartbeat_gap() >= 0.8


async def test_resume_after_the_gateway_drops_the_connection(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    first = discord.gateway.session
    assert first is not None
    await first.close(4000, "unknown error")
    await discord.wait_until(lambda: discord.gateway.session not in (None, first))
    second = discord.gateway.session
    assert second is not None
    assert second.resumed
    assert second.id == first.id
    handle = await discord.slash(scene.bob, scene.general, "migrate make", {"cog": "events"})
    assert (await handle.wait_done()).content == "made events: auto"


async def test_world_changes_reach_a_connected_bot(
    discord: LocalDiscord, scene: Scene, bot: SampleBot
) -> None:
    channel = scene.guild.create_channel("late")
    role = scene.guild.create_role("late-role")
    other = discord.create_guild("Second", owner=scene.bob)
    await discord.wait_until(
        lambda: bot.get_channel(channel.id) is not None and bot.get_guild(other.id) is not None
    )
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None
    await discord.wait_until(lambda: guild.get_role(role.id) is not None)
    handle = await discord.slash(scene.bob, channel, "migrate make", {"cog": "events"})
    assert (await handle.wait_done()).content == "made events: auto"


async def test_members_intent_gets_members_chunked(discord: LocalDiscord, scene: Scene) -> None:
    intents = nextcord.Intents.default()
    intents.members = True
    async with discord.run_bot(SampleBot(intents=intents)) as bot:
        session = discord.gateway.session
        assert session is not None
        assert session.wants(Intents.GUILD_MEMBERS)
        guild = bot.get_guild(scene.guild.id)
        assert guild is not None
        assert guild.chunked
        assert {m.name for m in guild.members} == {"alice", "bob", "carol", "TestBot"}


async def test_many_bots_in_a_row_leave_nothing_behind(scene: Scene) -> None:
    real_base = Route.BASE
    for round_ in range(4):
        async with LocalDiscord(heartbeat_interval=0.25) as local:
            user = local.create_user("u")
            guild = local.create_guild("G", owner=user)
            bot_class = SampleBot if round_ % 2 else commands.Bot
            bot = bot_class(intents=nextcord.Intents.default(), guild_ready_timeout=0.05)
            async with local.run_bot(bot):
                assert local.api_url == Route.BASE
                if isinstance(bot, SampleBot):
                    handle = await local.slash(user, guild.channel("general"), "report")
                    await handle.wait_done()
            assert bot.is_closed()
            assert real_base == Route.BASE
            assert local.gateway.session is None
            assert local.unknown_routes == []
        assert not local.running
    assert await _other_tasks() == set()


@pytest.mark.parametrize(
    "client_class", [nextcord.Client, nextcord.AutoShardedClient, commands.AutoShardedBot]
)
async def test_plain_and_sharded_clients_run_too(
    discord: LocalDiscord, scene: Scene, client_class: type[nextcord.Client]
) -> None:
    client = client_class(intents=nextcord.Intents.default(), guild_ready_timeout=0.05)

    @client.slash_command(name="hi", description="hi")
    async def hi(interaction: nextcord.Interaction) -> None:
        await interaction.response.send_message("hello")

    async with discord.run_bot(client):
        handle = await discord.slash(scene.bob, scene.general, "hi")
        assert (await handle.wait_done()).content == "hello"


async def test_an_error_before_ready_is_raised_and_cleaned_up(discord: LocalDiscord) -> None:
    class Broken(commands.Bot):
        async def login(self, token: str) -> None:
            raise RuntimeError("database unreachable")

    real_base = Route.BASE
    with pytest.raises(RuntimeError, match="database unreachable"):
        async with discord.run_bot(Broken(intents=nextcord.Intents.default())):
            pytest.fail("must not get here")
    assert real_base == Route.BASE


async def test_acting_without_a_connected_bot_is_an_error(
    discord: LocalDiscord, scene: Scene
) -> None:
    async with discord.run_bot(SampleBot()):
        pass
    with pytest.raises(RuntimeError, match="no bot is connected"):
        await discord.slash(scene.bob, scene.general, "migrate make", {"cog": "economy"})


async def test_the_projects_own_bot_runs_with_its_database(
    discord: LocalDiscord, scene: Scene, tmp_path: Path
) -> None:
    ormar_bot = pytest.importorskip("nextcord_ormar.bot")
    bot = ormar_bot.Bot(
        intents=nextcord.Intents.default(),
        guild_ready_timeout=0.05,
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    bot.add_cog(SampleCog(bot))
    async with discord.run_bot(bot):
        assert bot.database.is_connected
        handle = await discord.slash(scene.bob, scene.general, "report")
        assert (await handle.wait_done()).files[0].filename == "report.csv"
    assert not bot.database.is_connected
