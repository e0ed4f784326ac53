"""REST routes that change nothing: login, gateway discovery, app info, channels, guilds, CDN."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from .errors import DiscordAPIError
from .http import json_response
from .messages import read_body
from .models import Channel

if TYPE_CHECKING:
    from .cdn import Cdn
    from .world import World

__all__ = ["RestRoutes", "visible_channel"]


def visible_channel(world: World, request: web.Request) -> Channel:
    """The ``{channel}`` of the request, if the bot can see it (404 or 403 otherwise)."""
    channel = world.channels.get(int(request.match_info["channel"]))
    if channel is None:
        raise DiscordAPIError(404, 10003, "Unknown Channel")
    guild = channel.guild
    if guild is not None and guild.get_member(world.bot) is None:
        raise DiscordAPIError(403, 50001, "Missing Access")
    return channel


class RestRoutes:
    """The bot-authenticated routes a nextcord client uses around its commands (the
    routes that change messages are in ``responses``).

    ``world`` is what they show, ``cdn`` serves files, ``gateway_url()`` is handed out by
    ``GET /gateway`` (known once the server listens).
    """

    def __init__(self, world: World, cdn: Cdn, gateway_url: Callable[[], str]) -> None:
        self._world = world
        self._files = cdn
        self._gateway_url = gateway_url

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
        guild = p + r"/guilds/{guild:\d+}"
        router.add_get(guild, self._guild)
        router.add_get(guild + "/channels", self._guild_channels)
        router.add_get(guild + "/roles", self._guild_roles)
        router.add_get(guild + "/members", self._guild_members)
        router.add_get(guild + r"/members/{user:\d+}", self._guild_member)
        router.add_get(r"/attachments/{channel:\d+}/{attachment:\d+}/{filename}", self._cdn)

    # -- login and discovery -------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self._gateway_url()})

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self._gateway_url(),
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
        bot = self._world.bot
        return json_response(bot.payload() | {"verified": True, "mfa_enabled": False})

    async def _user(self, request: web.Request) -> web.Response:
        user = self._world.users.get(int(request.match_info["user"]))
        if user is None:
            raise DiscordAPIError(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def _open_dm(self, request: web.Request) -> web.Response:
        data, _ = await read_body(request)
        user = self._world.users.get(int(data.get("recipient_id") or 0))
        if user is None:
            raise DiscordAPIError(400, 50033, "Invalid Recipient(s)")
        return json_response(self._world.dm_channel(user).payload())

    async def _application(self, request: web.Request) -> web.Response:
        application = self._world.application
        if application.unavailable:
            raise DiscordAPIError(503, 0, "503: Service Unavailable")
        return json_response(application.payload())

    # -- channels and messages -----------------------------------------------------------

    async def _channel(self, request: web.Request) -> web.Response:
        return json_response(visible_channel(self._world, request).payload())

    async def _no_content(self, request: web.Request) -> web.Response:
        visible_channel(self._world, request)
        return web.Response(status=204)

    # -- guilds --------------------------------------------------------------------------

    def _guild_of(self, request: web.Request) -> int:
        guild_id = int(request.match_info["guild"])
        guild = self._world.guilds.get(guild_id)
        if guild is None or guild.get_member(self._world.bot) is None:
            raise DiscordAPIError(404, 10004, "Unknown Guild")
        return guild_id

    async def _guild(self, request: web.Request) -> web.Response:
        guild = self._world.guilds[self._guild_of(request)]
        data = guild.payload()
        for key in ("channels", "members", "threads", "presences", "voice_states"):
            data.pop(key, None)
        return json_response(data)

    async def _guild_channels(self, request: web.Request) -> web.Response:
        guild = self._world.guilds[self._guild_of(request)]
        return json_response([c.payload() for c in guild.channels])

    async def _guild_roles(self, request: web.Request) -> web.Response:
        guild = self._world.guilds[self._guild_of(request)]
        return json_response([r.payload() for r in guild.roles])

    async def _guild_members(self, request: web.Request) -> web.Response:
        guild = self._world.guilds[self._guild_of(request)]
        limit = int(request.query.get("limit", "1"))
        members = list(guild.members.values())[:limit]
        return json_response([m.payload() for m in members])

    async def _guild_member(self, request: web.Request) -> web.Response:
        guild = self._world.guilds[self._guild_of(request)]
        member = guild.get_member(int(request.match_info["user"]))
        if member is None:
            raise DiscordAPIError(404, 10007, "Unknown Member")
        return json_response(member.payload())

    # -- CDN -----------------------------------------------------------------------------

    async def _cdn(self, request: web.Request) -> web.Response:
        item = self._files.get(int(request.match_info["attachment"]))
        if item is None or item.filename != request.match_info["filename"]:
            raise DiscordAPIError(404, 0, "404: Not Found")
        return web.Response(
            body=item.data, content_type=item.content_type or "application/octet-stream"
        )
