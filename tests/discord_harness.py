"""A real nextcord_ormar.Bot with cogs and the admin cog, running against the local Discord."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nextcord
import sqlalchemy

from nextcord_ormar import Bot
from nextcord_ormar.testing import (
    InteractionHandle,
    LocalDiscord,
    Permission,
    Reply,
)
from tests.conftest import CogProject
from tests.leakcheck import saw


@dataclass
class Scene:
    discord: LocalDiscord
    bot: Bot
    guild: Any
    general: Any
    owner: Any
    admin: Any
    stranger: Any

    async def run(
        self, user: Any, command: str, options: dict[str, Any] | None = None, **kw: Any
    ) -> InteractionHandle:
        return await self.discord.slash(user, self.general, command, options or {}, **kw)

    async def finished(
        self, handle: InteractionHandle, title_or_text: str, timeout: float = 30.0
    ) -> Reply:
        """Wait for a reply whose content or embed title or description holds the text."""

        def matching() -> Reply | None:
            for reply in reversed(handle.replies):
                texts = [reply.content or ""]
                texts += [
                    str(e.get("title", "")) + str(e.get("description", "")) for e in reply.embeds
                ]
                if any(title_or_text in text for text in texts):
                    return reply
            return None

        await handle.wait_for(lambda h: matching() is not None, timeout=timeout)
        found = matching()
        assert found is not None
        return found


@contextlib.asynccontextmanager
async def running_bot(
    db_url: str,
    project: CogProject,
    *,
    extensions: tuple[str, ...] = ("cogs.economy", "cogs.moderation"),
    extras: dict[str, Any] | None = None,
    heartbeat_interval: float = 0.5,
    team: bool = False,
    bot_options: dict[str, Any] | None = None,
) -> AsyncIterator[Scene]:
    async with LocalDiscord(heartbeat_interval=heartbeat_interval) as discord:
        owner = discord.create_user("owner")
        admin = discord.create_user("admin")
        stranger = discord.create_user("stranger")
        guild = discord.create_guild("Bot HQ", owner=owner, channels=["general"])
        admins = guild.create_role("admins", Permission.ADMINISTRATOR)
        guild.add_member(admin, roles=[admins])
        guild.add_member(stranger)
        if team:
            discord.set_team([owner, admin])
        else:
            discord.set_owner(owner)
        bot = Bot(
            database_url=db_url,
            intents=nextcord.Intents.default(),
            guild_ready_timeout=0.05,
            **(bot_options or {}),
        )
        for ext in extensions:
            bot.load_extension(ext)
        options = {"guild_ids": [guild.id], "progress_interval": 0.0, **(extras or {})}
        bot.load_extension("nextcord_ormar.admin_cog", extras=options)
        try:
            async with discord.run_bot(bot):
                yield Scene(discord, bot, guild, guild.channel("general"), owner, admin, stranger)
        finally:
            record_everything_sent(discord)
        assert not discord.unknown_routes, [str(r) for r in discord.unknown_routes]
        assert not discord.server_errors, [str(r) for r in discord.server_errors]


def record_everything_sent(discord: LocalDiscord) -> None:
    """Hand every reply, message and file the bot sent to the suite's password scan."""
    for handle in discord.interactions.handles.values():
        for reply in handle.replies:
            files = (f.data.decode("utf-8", "replace") for f in reply.files)
            saw(repr(handle), reply.content or "", json.dumps(reply.embeds), *files)
    for message in discord.messages.values():
        files = (f.data.decode("utf-8", "replace") for f in message.files)
        saw("channel message", message.content or "", json.dumps(message.embeds), *files)


async def table_names(db_url: str) -> set[str]:
    """Tables in the database, read over a connection of its own."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from nextcord_ormar import normalize_url

    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def columns(db_url: str, table: str) -> set[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from nextcord_ormar import normalize_url

    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.connect() as conn:
            cols = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_columns(table))
    finally:
        await engine.dispose()
    return {c["name"] for c in cols}


__all__ = ["Scene", "columns", "record_everything_sent", "running_bot", "table_names"]
