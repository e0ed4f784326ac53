"""The gateway: a websocket speaking Discord's JSON protocol (optionally zlib-stream compressed)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .world import World

__all__ = ["Gateway", "GatewaySession", "Intents", "Op"]

_log = logging.getLogger(__name__)

Json = dict[str, Any]


class Op:
    """Gateway opcodes."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intents:
    """The intent bits the local Discord looks at when deciding what to dispatch."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15


def max_gap(times: list[float]) -> float:
    """The largest difference between consecutive arrival times (0.0 with fewer than two)."""
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


class GatewaySession:
    """One websocket connection from a bot, from HELLO to close."""

    def __init__(self, ws: web.WebSocketResponse, *, compress: bool, url: str) -> None:
        self.ws = ws
        self.id = secrets.token_hex(16)
        self.url = url
        self.compress = compress
        self.sequence = 0
        self.intents = 0
        self.identified = False
        self.resumed = False
        self.closed = False
        self.connected_at = time.monotonic()
        #: ``time.monotonic()`` arrival time of every heartbeat (op 1) from the bot.
        self.heartbeats: list[float] = []
        #: Every payload received from the bot, in order.
        self.received: list[Json] = []
        #: Every payload sent to the bot, in order.
        self.sent: list[Json] = []
        self._deflate = zlib.compressobj() if compress else None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<GatewaySession {self.id} seq={self.sequence} heartbeats={len(self.heartbeats)}>"

    def max_heartbeat_gap(self) -> float:
        """The largest gap between two heartbeats of this session, in seconds."""
        return max_gap(self.heartbeats)

    def wants(self, intent: int) -> bool:
        """Whether the bot identified with ``intent``."""
        return bool(self.intents & intent)

    async def send(self, op: int, d: Any, t: str | None = None) -> None:
        """Send one payload; dispatches (op 0) get the next sequence number."""
        async with self._lock:
            if self.closed or self.ws.closed:
                return
            seq: int | None = None
            if op == Op.DISPATCH:
                self.sequence += 1
                seq = self.sequence
            payload = {"op": op, "d": d, "s": seq, "t": t}
            self.sent.append(payload)
            text = json.dumps(payload)
            try:
                if self._deflate is not None:
                    data = self._deflate.compress(text.encode("utf-8"))
                    data += self._deflate.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self.closed = True

    async def dispatch(self, event: str, data: Json) -> None:
        """Send a dispatch (op 0) named ``event``."""
        await self.send(Op.DISPATCH, data, event)

    async def close(self, code: int = 1000, message: str = "") -> None:
        """Close the websocket with ``code``."""
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode("utf-8"))
        self.closed = True


class Gateway:
    """Accepts bot connections, identifies them and sends them the world's guilds."""

    def __init__(
        self,
        world: World,
        *,
        token: Callable[[], str],
        heartbeat_interval: float,
        compress: bool = True,
    ) -> None:
        self.world = world
        self._token = token
        self.heartbeat_interval = heartbeat_interval
        self.allow_compression = compress
        self.sessions: list[GatewaySession] = []
        self.url = ""

    @property
    def session(self) -> GatewaySession | None:
        """The most recent identified, open session (the connected bot), if any."""
        for session in reversed(self.sessions):
            if session.identified and not session.closed:
                return session
        return None

    @property
    def heartbeats(self) -> list[float]:
        """Heartbeat arrival times (``time.monotonic()``) of every session, in order."""
        return [t for s in self.sessions for t in s.heartbeats]

    def max_heartbeat_gap(self) -> float:
        """The largest gap between consecutive heartbeats within any one session, in seconds."""
        return max((s.max_heartbeat_gap() for s in self.sessions), default=0.0)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The websocket endpoint."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        compress = self.allow_compression and request.query.get("compress") == "zlib-stream"
        session = GatewaySession(ws, compress=compress, url=self.url)
        self.sessions.append(session)
        await session.send(Op.HELLO, {"heartbeat_interval": int(self.heartbeat_interval * 1000)})
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._receive(session, json.loads(message.data))
                elif message.type is WSMsgType.BINARY:
                    await self._receive(session, json.loads(message.data.decode("utf-8")))
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            session.closed = True
        return ws

    async def _receive(self, session: GatewaySession, payload: Json) -> None:
        session.received.append(payload)
        op = payload.get("op")
        data = payload.get("d")
        if op == Op.HEARTBEAT:
            session.heartbeats.append(time.monotonic())
            await session.send(Op.HEARTBEAT_ACK, None)
        elif op == Op.IDENTIFY:
            await self._identify(session, data or {})
        elif op == Op.RESUME:
            await self._resume(session, data or {})
        elif op == Op.REQUEST_GUILD_MEMBERS:
            await self._members_chunk(session, data or {})
        elif op in (Op.PRESENCE_UPDATE, Op.VOICE_STATE_UPDATE):
            return
        else:
            _log.debug("local Discord gateway ignores op %s", op)

    async def _identify(self, session: GatewaySession, data: Json) -> None:
        if data.get("token") != self._token():
            await session.close(4004, "Authentication failed.")
            return
        session.intents = int(data.get("intents") or 0)
        session.identified = True
        world = self.world
        bot = world.bot
        guilds = world.guilds_of_bot()
        user = bot.payload() | {"verified": True, "mfa_enabled": False, "email": None}
        await session.dispatch(
            "READY",
            {
                "v": 10,
                "user": user,
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "resume_gateway_url": self.url,
                "session_type": "normal",
                "shard": data.get("shard") or [0, 1],
                "application": {"id": str(world.application.id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "user_settings": {},
                "geo_ordered_rtc_regions": [],
                "_trace": ["local-discord"],
            },
        )
        for guild in guilds:
            await session.dispatch("GUILD_CREATE", guild.payload(for_user=bot))

    async def _resume(self, session: GatewaySession, data: Json) -> None:
        if data.get("token") != self._token():
            await session.close(4004, "Authentication failed.")
            return
        previous = next((s for s in self.sessions if s.id == data.get("session_id")), None)
        if previous is None:
            await session.send(Op.INVALID_SESSION, False)
            return
        session.id = previous.id
        session.intents = previous.intents
        session.sequence = previous.sequence
        session.identified = True
        session.resumed = True
        await session.dispatch("RESUMED", {"_trace": ["local-discord"]})

    async def _members_chunk(self, session: GatewaySession, data: Json) -> None:
        guild_ids = data.get("guild_id")
        ids = guild_ids if isinstance(guild_ids, list) else [guild_ids]
        for raw_id in ids:
            guild = self.world.guilds.get(int(raw_id or 0))
            if guild is None:
                continue
            members = list(guild.members.values())
            wanted = data.get("user_ids")
            if wanted:
                wanted_ids = {int(u) for u in (wanted if isinstance(wanted, list) else [wanted])}
                members = [m for m in members if m.user.id in wanted_ids]
            query = data.get("query") or ""
            if query:
                members = [m for m in members if m.user.name.startswith(query)]
            limit = int(data.get("limit") or 0)
            if limit:
                members = members[:limit]
            chunk: Json = {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def close_all(self) -> None:
        """Close every open session (going away)."""
        for session in self.sessions:
            if not session.closed:
                await session.close(1001, "local Discord stopped")
