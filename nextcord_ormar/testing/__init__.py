"""A local Discord for tests: a loopback stand-in for Discord's REST API (v10) and gateway.

A real, unpatched nextcord client connects to it over sockets; tests build a small world
(users, guilds, roles, channels, an application owned by a user or a team), run the bot,
act as users (slash commands, autocomplete, buttons) and assert on what the bot sent::

    async with LocalDiscord(heartbeat_interval=0.5) as discord:
        alice = discord.create_user("alice")
        guild = discord.create_guild("Guild", owner=alice)
        async with discord.run_bot(bot):
            handle = await discord.slash(alice, guild.channel("general"), "ping")
            reply = await handle.wait_done()
            assert reply.content == "pong"

Discord's rules are enforced the way Discord answers: the 3 s acknowledgement deadline
(404, code 10062), a single acknowledgement (400, code 40060), the 15-minute interaction
token (401, code 50027), message limits (400, code 50035); unknown routes answer 404 JSON and
are listed in :attr:`LocalDiscord.unknown_routes`.
"""

from .commands import CommandStore, OptionType
from .errors import DiscordAPIError
from .gateway import Gateway, GatewaySession, Intents, Op
from .handles import InteractionHandle, Rejection, Reply, ReplyKind
from .interactions import CommandNotAvailable
from .messages import Limits, RecordedFile, RecordedMessage
from .models import (
    ALL_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    Application,
    Channel,
    ChannelType,
    Guild,
    Member,
    MembershipState,
    Permission,
    Role,
    Team,
    User,
)
from .runner import run_bot
from .server import Clock, LocalDiscord, RequestRecord
from .world import World

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "Application",
    "Channel",
    "ChannelType",
    "Clock",
    "CommandNotAvailable",
    "CommandStore",
    "DiscordAPIError",
    "Gateway",
    "GatewaySession",
    "Guild",
    "Intents",
    "InteractionHandle",
    "Limits",
    "LocalDiscord",
    "Member",
    "MembershipState",
    "Op",
    "OptionType",
    "Permission",
    "RecordedFile",
    "RecordedMessage",
    "Rejection",
    "Reply",
    "ReplyKind",
    "RequestRecord",
    "Role",
    "Team",
    "User",
    "World",
    "run_bot",
]
