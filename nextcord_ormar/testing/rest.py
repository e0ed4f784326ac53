"""REST routes outside interactions: login, gateway discovery, app info, channels, guilds, CDN."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .errors import DiscordAPIError, unknown_message
from .http import json_response
from .messages import RecordedMessage, check_message, read_body
from .models import Channel, ChannelType

if TYPE_CHECKING:
    from .server import LocalDiscord

__all__ = ["RestRoutes"]


class RestRoutes:
    """The bot-authenticated routes a nextcord client uses around its commands."""

    def __init__(self, discord: LocalDiscord) -> None:
        self._discord = discord

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        """Register the routes under ``prefix`` (the CDN route goes at the root)."""
        p = prefix
        router.add_get(p + "/gateway", self._gateway)
        router.add_get(p + "/gateway/bot", self._gateway_bot)
        router.add_get(p + "/users/@me", self._me)
        router.add_get(p + r"/users/{user:\d+}", self._user)
        router.add_post(p + "/users/@me/channels", self._open_dm)
        router.add_get(p + "/oauth2/applications/@me", self._application)
        router.add_get(p + "/applications/@me", self._application)
        channel = p + r"/channels/{channel:\d+}"
        router.add_get(channel, self._channel)
        router.add_post(channel + "/typing", self._no_content)
        router.add_get(channel + "/messages", self._history)
        router.add_post(channel + "/messages", self._send)
        message = channel + r"/messages/{message:\d+}"
        router.add_get(message, self._get_message)
        router.add_patch(message, self._edit)
        router.add_delete(message, self._delete)
        router.add_put(message + "/reactions/{emoji}/@me", self._react)
        router.add_delete(message + "/reactions/{emoji}/@me", self._react)
        guild = p + r"/guilds/{guild:\d+}"
        router.add_get(guild, self._guild)
        router.add_get(guild + "/channels", self._guild_channels)
        router.add_get(guild + "/roles", self._guild_roles)
        router.add_get(guild + "/members", self._guild_members)
        router.add_get(guild + r"/members/{user:\d+}", self._guild_member)
        router.add_get(r"/attachments/{channel:\d+}/{attachment:\d+}/{filename}", self._cdn)

    # -- login and discovery -------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self._discord.gateway_url})

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self._discord.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86400000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _me(self, request: web.Request) -> web.Response:
        bot = self._discord.world.bot
        return json_response(bot.payload() | {"verified": True, "mfa_enabled": False})

    async def _user(self, request: web.Request) -> web.Response:
        user = self._discord.world.users.get(int(request.match_info["user"]))
        if user is None:
            raise DiscordAPIError(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def _open_dm(self, request: web.Request) -> web.Response:
        data, _ = await read_body(request)
        user = self._discord.world.users.get(int(data.get("recipient_id") or 0))
        if user is None:
            raise DiscordAPIError(400, 50033, "Invalid Recipient(s)")
        return json_response(self._discord.world.dm_channel(user).payload())

    async def _application(self, request: web.Request) -> web.Response:
        application = self._discord.world.application
        if application.unavailable:
            raise DiscordAPIError(503, 0, "503: Service Unavailable")
        return json_response(application.payload())

    # -- channels and messages -----------------------------------------------------------

    def _channel_of(self, request: web.Request) -> Channel:
        channel = self._discord.world.channels.get(int(request.match_info["channel"]))
        if channel is None:
            raise DiscordAPIError(404, 10003, "Unknown Channel")
        guild = channel.guild
        if guild is not None and guild.get_member(self._discord.world.bot) is None:
            raise DiscordAPIError(403, 50001, "Missing Access")
        return channel

    def _message_of(self, request: web.Request) -> RecordedMessage:
        channel = self._channel_of(request)
        message = self._discord.messages.get(int(request.match_info["message"]))
        if message is None or message.channel is not channel or message.deleted:
            raise unknown_message()
        return message

    async def _channel(self, request: web.Request) -> web.Response:
        return json_response(self._channel_of(request).payload())

    async def _no_content(self, request: web.Request) -> web.Response:
        self._channel_of(request)
        return web.Response(status=204)

    async def _history(self, request: web.Request) -> web.Response:
        channel = self._channel_of(request)
        limit = int(request.query.get("limit", "50"))
        newest_first = list(reversed(channel.messages))[:limit]
        base = self._discord.base_url
        return json_response([m.payload(base) for m in newest_first])

    async def _send(self, request: web.Request) -> web.Response:
        channel = self._channel_of(request)
        if channel.type in (ChannelType.VOICE, ChannelType.CATEGORY):
            raise DiscordAPIError(400, 50008, "Cannot send messages in a non-text channel")
        discord = self._discord
        data, uploads = await read_body(request)
        check_message(data, uploads, discord.limits)
        message = RecordedMessage(
            id=discord.world.snowflakes.next(),
            channel=channel,
            author=discord.world.bot,
            content=data.get("content") or "",
            embeds=list(data.get("embeds") or []),
            files=discord.cdn.add_uploads(uploads, data),
            components=list(data.get("components") or []),
            flags=int(data.get("flags") or 0),
            tts=bool(data.get("tts")),
            allowed_mentions=data.get("allowed_mentions"),
        )
        await discord.post_message(message)
        return json_response(message.payload(discord.base_url))

    async def _get_message(self, request: web.Request) -> web.Response:
        return json_response(self._message_of(request).payload(self._discord.base_url))

    async def _edit(self, request: web.Request) -> web.Response:
        message = self._message_of(request)
        discord = self._discord
        if message.author is not discord.world.bot:
            raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        data, uploads = await read_body(request)
        check_message(data, uploads, discord.limits, creating=False)
        files = discord.cdn.add_uploads(uploads, data)
        discord.edit_message(message, data, files)
        return json_response(message.payload(discord.base_url))

    async def _delete(self, request: web.Request) -> web.Response:
        self._discord.delete_message(self._message_of(request))
        return web.Response(status=204)

    async def _react(self, request: web.Request) -> web.Response:
        self._message_of(request)
        return web.Response(status=204)

    # -- guilds --------------------------------------------------------------------------

    def _guild_of(self, request: web.Request) -> int:
        guild_id = int(request.match_info["guild"])
        guild = self._discord.world.guilds.get(guild_id)
        if guild is None or guild.get_member(self._discord.world.bot) is None:
            raise DiscordAPIError(404, 10004, "Unknown Guild")
        return guild_id

    async def _guild(self, request: web.Request) -> web.Response:
        guild = self._discord.world.guilds[self._guild_of(request)]
        data = guild.payload()
        for key in ("channels", "members", "threads", "presences", "voice_states"):
            data.pop(key, None)
        return json_response(data)

    async def _guild_channels(self, request: web.Request) -> web.Response:
        guild = self._discord.world.guilds[self._guild_of(request)]
        return json_response([c.payload() for c in guild.channels])

    async def _guild_roles(self, request: web.Request) -> web.Response:
        guild = self._discord.world.guilds[self._guild_of(request)]
        return json_response([r.payload() for r in guild.roles])

    async def _guild_members(self, request: web.Request) -> web.Response:
        guild = self._discord.world.guilds[self._guild_of(request)]
        limit = int(request.query.get("limit", "1"))
        members = list(guild.members.values())[:limit]
        return json_response([m.payload() for m in members])

    async def _guild_member(self, request: web.Request) -> web.Response:
        guild = self._discord.world.guilds[self._guild_of(request)]
        member = guild.get_member(int(request.match_info["user"]))
        if member is None:
            raise DiscordAPIError(404, 10007, "Unknown Member")
        return json_response(member.payload())

    # -- CDN -----------------------------------------------------------------------------

    async def _cdn(self, request: web.Request) -> web.Response:
        item = self._discord.cdn.get(int(request.match_info["attachment"]))
        if item is None or item.filename != request.match_info["filename"]:
            raise DiscordAPIError(404, 0, "404: Not Found")
        return web.Response(
            body=item.data, content_type=item.content_type or "application/octet-stream"
        )
