"""``LocalDiscord``: the loopback Discord (REST v10 + gateway) and the facade tests use."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .actions import UserActions
from .cdn import Cdn
from .commands import CommandStore
from .errors import DiscordAPIError
from .gateway import Gateway, Intents
from .http import json_response
from .interactions import Interactions
from .messages import Limits, RecordedFile, RecordedMessage
from .models import (
    DEFAULT_EVERYONE_PERMISSIONS,
    Application,
    Channel,
    Guild,
    Member,
    PermissionsLike,
    Role,
    Team,
    User,
    iso_timestamp,
)
from .responses import MessageRoutes
from .rest import RestRoutes
from .runner import ClientT, run_bot
from .world import World

__all__ = ["API_PREFIX", "Clock", "LocalDiscord", "RequestRecord"]

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"

Json = dict[str, Any]


class Clock:
    """The clock Discord's deadlines are measured on: ``time.monotonic()`` plus an offset.

    ``advance(seconds)`` moves it forward, so a test can expire a 15-minute interaction
    token without waiting.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        """Current clock reading in seconds."""
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds


@dataclass
class RequestRecord:
    """One REST request the local Discord received."""

    method: str
    path: str
    query: dict[str, str]
    at: float
    status: int = 0
    unknown: bool = False
    error: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class _Pending:
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class LocalDiscord(UserActions):
    """A Discord stand-in on 127.0.0.1 that a real, unpatched nextcord client talks to.

    Use it as ``async with LocalDiscord() as discord:``; build the world with
    :meth:`create_user`, :meth:`create_guild` (and the guild's ``create_role``,
    ``create_channel``, ``add_member``), :meth:`set_owner` / :meth:`set_team`; run a bot with
    :meth:`run_bot`; act as users with :meth:`slash`, :meth:`autocomplete`, :meth:`click`,
    :meth:`select`, :meth:`submit_modal` and :meth:`send_message`.

    ``heartbeat_interval`` is what HELLO tells the bot (seconds); ``ack_deadline`` is the time
    an interaction may go unacknowledged (Discord: 3 s); ``token_lifetime`` how long its token
    works (Discord: 15 minutes), both measured on :attr:`clock`. ``reaction_delay`` is the
    least time between a message appearing (or changing) and a simulated click on it: a bot
    registers a view only after Discord answered the request that sent it, and a person cannot
    click faster than the message renders either.

    What tests read: :attr:`world` (users, guilds, channels with their ``messages``),
    :attr:`commands` (registered application commands), :attr:`gateway` (sessions, payloads,
    heartbeats), :attr:`requests`, :attr:`unknown_routes`, :attr:`server_errors`,
    :attr:`messages` (every message by id) and :attr:`clock`.
    """

    def __init__(
        self,
        *,
        heartbeat_interval: float = 41.25,
        ack_deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        limits: Limits | None = None,
        gateway_compression: bool = True,
        reaction_delay: float = 0.05,
        bot_name: str = "TestBot",
        app_name: str = "Test Application",
    ) -> None:
        super().__init__()
        self.world = World(bot_name=bot_name, app_name=app_name)
        self.clock = Clock()
        self.ack_deadline = ack_deadline
        self.token_lifetime = token_lifetime
        self.limits = limits or Limits()
        self.reaction_delay = reaction_delay
        self.token = self._make_token()
        self.commands = CommandStore(self.world)
        self.cdn = Cdn(self.world.snowflakes, lambda: self.base_url)
        self.interactions = Interactions(
            self.world, self.commands, self.cdn, self.clock, lambda: self.limits
        )
        self.gateway = Gateway(
            self.world,
            token=lambda: self.token,
            heartbeat_interval=heartbeat_interval,
            compress=gateway_compression,
        )
        self.messages: dict[int, RecordedMessage] = {}
        #: Every REST request, in arrival order.
        self.requests: list[RequestRecord] = []
        #: Requests to routes this local Discord does not serve (answered 404/405 JSON).
        self.unknown_routes: list[RequestRecord] = []
        #: Requests that crashed a route handler (answered 400 so nextcord does not retry).
        self.server_errors: list[RequestRecord] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._pending = _Pending()
        self.world.add_listener(self._world_changed)

    def _make_token(self) -> str:
        app_id = str(self.world.application.id).encode()
        head = base64.urlsafe_b64encode(app_id).decode().rstrip("=")
        return f"{head}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What nextcord's ``Route.BASE`` is set to: ``http://127.0.0.1:<port>/api/v10``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The websocket URL ``GET /gateway`` hands out."""
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        if self._runner is not None:
            raise RuntimeError("this LocalDiscord is already running")
        app = web.Application(
            middlewares=[self._middleware], client_max_size=self.limits.upload_bytes * 4
        )
        router = app.router
        router.add_get("/ws", self.gateway.handle)
        RestRoutes(self.world, self.cdn, lambda: self.gateway_url).add_routes(router, API_PREFIX)
        self.commands.add_routes(router, API_PREFIX)
        MessageRoutes(self).add_routes(router, API_PREFIX)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        self.port = int(sock.getsockname()[1])
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        self.gateway.url = self.gateway_url

    async def stop(self) -> None:
        """Close gateway sessions and stop listening."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self._flush()
        await self.gateway.close_all()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- HTTP plumbing -------------------------------------------------------------------

    def _needs_auth(self, path: str) -> bool:
        if not path.startswith(API_PREFIX):
            return False
        rest = path[len(API_PREFIX) :]
        return not rest.startswith(("/interactions/", "/webhooks/")) and rest != "/gateway"

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            at=time.monotonic(),
        )
        self.requests.append(record)
        try:
            http_error = request.match_info.http_exception
            if http_error is not None:
                record.unknown = True
                self.unknown_routes.append(record)
                _log.warning("local Discord: unknown route %s %s", request.method, request.path)
                status = http_error.status
                raise DiscordAPIError(status, 0, f"{status}: {http_error.reason}")
            authorization = request.headers.get("Authorization")
            if self._needs_auth(request.path) and authorization != f"Bot {self.token}":
                raise DiscordAPIError(401, 0, "401: Unauthorized")
            response = await handler(request)
        except DiscordAPIError as error:
            response = json_response(error.body(), status=error.status)
            record.error = error.message
        except web.HTTPException:
            raise
        except Exception as exc:
            _log.exception("local Discord: %s %s crashed", request.method, request.path)
            record.error = repr(exc)
            self.server_errors.append(record)
            response = json_response(
                {"message": f"local Discord could not handle this: {exc!r}", "code": 50035},
                status=400,
            )
        record.status = response.status
        self._notify()
        return response

    # -- messages ------------------------------------------------------------------------

    def _message_intent(self, channel: Channel) -> int:
        return Intents.GUILD_MESSAGES if channel.guild is not None else Intents.DIRECT_MESSAGES

    def _message_event(self, message: RecordedMessage) -> Json:
        data = message.payload(self.base_url)
        session = self.gateway.session
        bot = self.world.bot
        if (
            session is not None
            and message.author is not bot
            and not session.wants(Intents.MESSAGE_CONTENT)
        ) and f"<@{bot.id}>" not in message.content:
            data.update(content="", embeds=[], attachments=[], components=[])
        return data

    async def post_message(self, message: RecordedMessage) -> None:
        """Store a new message, show it in its channel and tell the bot (``MESSAGE_CREATE``)."""
        self.messages[message.id] = message
        if not message.ephemeral:
            message.channel.messages.append(message)
            session = self.gateway.session
            if session is not None and session.wants(self._message_intent(message.channel)):
                await session.dispatch("MESSAGE_CREATE", self._message_event(message))
        self._notify()

    def edit_message(self, message: RecordedMessage, data: Json, files: list[RecordedFile]) -> None:
        """Apply an edit and tell the bot (``MESSAGE_UPDATE``)."""
        message.apply(data, files)
        message.edits += 1
        message.edited_at = time.monotonic()
        message.edited_timestamp = iso_timestamp()
        session = self.gateway.session
        if (
            session is not None
            and not message.ephemeral
            and session.wants(self._message_intent(message.channel))
        ):
            self._spawn(session.dispatch("MESSAGE_UPDATE", self._message_event(message)))
        self._notify()

    def delete_message(self, message: RecordedMessage) -> None:
        """Delete a message and tell the bot (``MESSAGE_DELETE``)."""
        message.deleted = True
        if message in message.channel.messages:
            message.channel.messages.remove(message)
        session = self.gateway.session
        if session is not None and session.wants(self._message_intent(message.channel)):
            data: Json = {"id": str(message.id), "channel_id": str(message.channel.id)}
            if message.channel.guild is not None:
                data["guild_id"] = str(message.channel.guild.id)
            self._spawn(session.dispatch("MESSAGE_DELETE", data))
        self._notify()

    # -- world changes reach the connected bot -------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name="local-discord: dispatch")
        self._pending.tasks.add(task)
        task.add_done_callback(self._dispatched)

    def _dispatched(self, task: asyncio.Task[None]) -> None:
        self._pending.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.warning("local Discord: a gateway dispatch failed", exc_info=task.exception())

    async def _flush(self) -> None:
        """Wait until queued gateway dispatches went out."""
        while pending := [t for t in self._pending.tasks if not t.done()]:
            await asyncio.wait(pending)

    def _world_changed(self, event: str, guild: Guild, obj: Any) -> None:
        session = self.gateway.session
        bot = self.world.bot
        if session is None or guild.get_member(bot) is None:
            return
        gid = str(guild.id)
        if event == "GUILD_CREATE":
            self._spawn(session.dispatch("GUILD_CREATE", guild.payload(for_user=bot)))
        elif event == "CHANNEL_CREATE" and isinstance(obj, Channel):
            self._spawn(session.dispatch("CHANNEL_CREATE", obj.payload()))
        elif event == "GUILD_ROLE_CREATE" and isinstance(obj, Role):
            self._spawn(session.dispatch(event, {"guild_id": gid, "role": obj.payload()}))
        elif isinstance(obj, Member):
            if obj.user is bot and event == "GUILD_MEMBER_ADD":
                self._spawn(session.dispatch("GUILD_CREATE", guild.payload(for_user=bot)))
            elif session.wants(Intents.GUILD_MEMBERS):
                self._spawn(session.dispatch(event, obj.payload() | {"guild_id": gid}))

    # -- world building (shortcuts to :attr:`world`) -------------------------------------

    @property
    def application(self) -> Application:
        """The bot's application."""
        return self.world.application

    @property
    def bot_user(self) -> User:
        """The bot's user."""
        return self.world.bot

    def create_user(self, name: str, *, bot: bool = False) -> User:
        """A new user (not in any guild yet)."""
        return self.world.create_user(name, bot=bot)

    def create_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: User | None = None,
        channels: Iterable[str] = ("general",),
        everyone_permissions: PermissionsLike = DEFAULT_EVERYONE_PERMISSIONS,
        with_bot: bool = True,
    ) -> Guild:
        """A guild with ``@everyone``, text channels, its owner and (by default) the bot."""
        return self.world.create_guild(
            name,
            owner=owner,
            channels=channels,
            everyone_permissions=everyone_permissions,
            with_bot=with_bot,
        )

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between ``user`` and the bot."""
        return self.world.dm_channel(user)

    def set_owner(self, user: User) -> None:
        """Make ``user`` the application's only owner."""
        self.world.set_owner(user)

    def set_team(self, members: Iterable[User], *, name: str = "Test Team") -> Team:
        """Make the application team-owned: the first member owns the team; every member
        starts as an accepted admin. Change members, roles and states on the returned
        :class:`Team`, also while the bot runs."""
        return self.world.set_team(members, name=name)

    @property
    def team(self) -> Team | None:
        """The team that owns the application, or ``None`` when a user owns it."""
        return self.world.application.team

    # -- waiting -------------------------------------------------------------------------

    def _describe(self) -> str:
        recent = ", ".join(str(r) for r in self.requests[-8:]) or "none"
        text = f"last requests: {recent}"
        if self.unknown_routes:
            text += f"; unknown routes: {', '.join(str(r) for r in self.unknown_routes)}"
        return text

    # -- running a bot -------------------------------------------------------------------

    def run_bot(
        self,
        bot: ClientT,
        *,
        token: str | None = None,
        timeout: float = 15.0,
        wait_for_commands: bool = True,
    ) -> AbstractAsyncContextManager[ClientT]:
        """Run ``bot`` against this local Discord: ``async with discord.run_bot(bot) as bot:``.

        See :func:`nextcord_ormar.testing.run_bot`.
        """
        return run_bot(self, bot, token=token, timeout=timeout, wait_for_commands=wait_for_commands)
