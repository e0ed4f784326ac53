"""The routes that change messages: a channel's messages, and the bot's answers to
interactions (``/interactions/{id}/{token}/callback`` and the ``/webhooks/{application}/{token}``
routes for edits and followups), with Discord's rules."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import (
    DiscordAPIError,
    already_acknowledged,
    invalid_form_body,
    invalid_webhook_token,
    nest_error,
    unknown_interaction,
    unknown_message,
    unknown_webhook,
)
from .handles import INITIAL_KINDS, InteractionHandle, Rejection, Reply, ReplyKind
from .http import json_response
from .messages import (
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    RecordedFile,
    RecordedMessage,
    check_choices,
    check_message,
    read_body,
)
from .models import ChannelType
from .rest import visible_channel

if TYPE_CHECKING:
    from .server import LocalDiscord

__all__ = ["MessageRoutes"]

Json = dict[str, Any]

_INTERACTION_COMMAND = 2

#: Callback types each interaction type accepts.
_ALLOWED_CALLBACKS = {
    2: {4, 5, 9},  # application command
    3: {4, 5, 6, 7, 9},  # component
    4: {8},  # autocomplete
    5: {4, 5, 6, 7},  # modal submit
}


class MessageRoutes:
    """Serves the routes that create, edit and delete the bot's messages: a channel's
    messages, and the interaction callback and webhook routes (each answer is recorded on
    its interaction's handle).

    It keeps the ``LocalDiscord``: messages change through its public ``post_message``,
    ``edit_message`` and ``delete_message`` (which tell the connected bot), and Discord's
    rules are its attributes, which a test may change at any time (``ack_deadline``,
    ``token_lifetime``, ``limits``, ``clock``).
    """

    def __init__(self, discord: LocalDiscord) -> None:
        self._discord = discord

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        """Register the message, interaction and webhook routes under ``prefix``."""
        channel = prefix + r"/channels/{channel:\d+}"
        router.add_get(channel + "/messages", self._history)
        router.add_post(channel + "/messages", self._send)
        message = channel + r"/messages/{message:\d+}"
        router.add_get(message, self._channel_message)
        router.add_patch(message, self._edit_channel_message)
        router.add_delete(message, self._delete_channel_message)
        router.add_put(message + "/reactions/{emoji}/@me", self._react)
        router.add_delete(message + "/reactions/{emoji}/@me", self._react)

        router.add_post(prefix + r"/interactions/{id:\d+}/{token}/callback", self._callback)
        hook = prefix + r"/webhooks/{app:\d+}/{token}"
        router.add_post(hook, self._followup)
        for target in ("@original", r"{message:\d+}"):
            router.add_get(hook + "/messages/" + target, self._get_message)
            router.add_patch(hook + "/messages/" + target, self._edit_message)
            router.add_delete(hook + "/messages/" + target, self._delete_message)

    # -- channel messages ----------------------------------------------------------------

    def _message_of(self, request: web.Request) -> RecordedMessage:
        channel = visible_channel(self._discord.world, request)
        message = self._discord.messages.get(int(request.match_info["message"]))
        if message is None or message.channel is not channel or message.deleted:
            raise unknown_message()
        return message

    async def _history(self, request: web.Request) -> web.Response:
        channel = visible_channel(self._discord.world, request)
        limit = int(request.query.get("limit", "50"))
        newest_first = list(reversed(channel.messages))[:limit]
        base = self._discord.base_url
        return json_response([m.payload(base) for m in newest_first])

    async def _send(self, request: web.Request) -> web.Response:
        channel = visible_channel(self._discord.world, request)
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

    async def _channel_message(self, request: web.Request) -> web.Response:
        return json_response(self._message_of(request).payload(self._discord.base_url))

    async def _edit_channel_message(self, request: web.Request) -> web.Response:
        message = self._message_of(request)
        discord = self._discord
        if message.author is not discord.world.bot:
            raise DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")
        data, uploads = await read_body(request)
        check_message(data, uploads, discord.limits, creating=False)
        files = discord.cdn.add_uploads(uploads, data)
        discord.edit_message(message, data, files)
        return json_response(message.payload(discord.base_url))

    async def _delete_channel_message(self, request: web.Request) -> web.Response:
        self._discord.delete_message(self._message_of(request))
        return web.Response(status=204)

    async def _react(self, request: web.Request) -> web.Response:
        self._message_of(request)
        return web.Response(status=204)

    # -- interactions --------------------------------------------------------------------

    def _reject(
        self, handle: InteractionHandle, request: web.Request, error: DiscordAPIError
    ) -> DiscordAPIError:
        handle.rejections.append(
            Rejection(
                method=request.method,
                path=request.path,
                status=error.status,
                code=error.code,
                message=error.message,
                at=time.monotonic(),
            )
        )
        handle._notify()
        self._discord._notify()
        return error

    def _record(self, handle: InteractionHandle, reply: Reply) -> None:
        handle.replies.append(reply)
        handle._notify()
        self._discord._notify()

    def _reply(
        self,
        kind: ReplyKind,
        data: Json,
        files: list[RecordedFile],
        message: RecordedMessage | None,
    ) -> Reply:
        return Reply(
            kind=kind,
            at=time.monotonic(),
            content=data.get("content"),
            embeds=list(data.get("embeds") or []),
            files=files,
            components=list(data.get("components") or []),
            flags=int(data.get("flags") or 0),
            message_id=message.id if message else None,
            data=data,
        )

    async def _callback(self, request: web.Request) -> web.Response:
        handle = self._discord.interactions.handles.get(int(request.match_info["id"]))
        if handle is None or handle.token != request.match_info["token"]:
            raise unknown_interaction()
        discord = self._discord
        try:
            body, uploads = await read_body(request)
            if handle.initial is not None:
                raise already_acknowledged()
            age = discord.clock.now() - handle.clock_created_at
            if age > discord.ack_deadline:
                raise unknown_interaction()
            kind = int(body.get("type") or 0)
            if kind not in _ALLOWED_CALLBACKS.get(handle.type, set()):
                raise invalid_form_body(
                    nest_error("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid type")
                )
            data: Json = body.get("data") or {}
            if kind == 4:
                check_message(data, uploads, discord.limits, prefix="data")
            elif kind == 7:
                check_message(data, uploads, discord.limits, prefix="data", creating=False)
            elif kind == 8:
                check_choices(data, discord.limits)
        except DiscordAPIError as error:
            raise self._reject(handle, request, error) from None
        files = self._discord.cdn.add_uploads(uploads, data)
        message: RecordedMessage | None = None
        if kind in (4, 5):
            flags = int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL
            if kind == 5:
                flags |= MESSAGE_FLAG_LOADING
            message = RecordedMessage(
                id=discord.world.snowflakes.next(),
                channel=handle.channel,
                author=discord.world.bot,
                content=(data.get("content") or "") if kind == 4 else "",
                embeds=list(data.get("embeds") or []) if kind == 4 else [],
                files=files,
                components=list(data.get("components") or []) if kind == 4 else [],
                flags=flags,
                interaction_id=handle.id,
                interaction_name=handle.name if handle.type == _INTERACTION_COMMAND else None,
                interaction_user=handle.user,
                webhook_id=discord.world.application.id,
                tts=bool(data.get("tts")),
            )
            handle.message = message
            await discord.post_message(message)
        elif kind == 7 and handle.message is not None:
            message = handle.message
            discord.edit_message(message, data, files)
        elif kind == 6:
            message = handle.message
        self._record(handle, self._reply(INITIAL_KINDS[kind], data, files, message))
        return web.Response(status=204)

    def _webhook_handle(self, request: web.Request) -> InteractionHandle:
        handle = self._discord.interactions.by_token.get(request.match_info["token"])
        app = int(request.match_info["app"])
        if handle is None or app != self._discord.world.application.id:
            raise unknown_webhook()
        return handle

    def _check_webhook(self, handle: InteractionHandle) -> None:
        discord = self._discord
        if discord.clock.now() - handle.clock_created_at > discord.token_lifetime:
            raise invalid_webhook_token()
        if handle.initial is None:
            raise unknown_webhook()

    def _target(self, handle: InteractionHandle, request: web.Request) -> RecordedMessage:
        raw = request.match_info.get("message")
        if raw is None:
            if handle.message is None or handle.message.deleted:
                raise unknown_message()
            return handle.message
        wanted = int(raw)
        candidates = [handle.message, *handle.followup_messages]
        for message in candidates:
            if message is not None and message.id == wanted and not message.deleted:
                return message
        raise unknown_message()

    async def _followup(self, request: web.Request) -> web.Response:
        handle = self._webhook_handle(request)
        discord = self._discord
        try:
            self._check_webhook(handle)
            data, uploads = await read_body(request)
            check_message(data, uploads, discord.limits)
        except DiscordAPIError as error:
            raise self._reject(handle, request, error) from None
        files = self._discord.cdn.add_uploads(uploads, data)
        original = handle.message
        if original is not None and original.loading and original.interaction_id == handle.id:
            # The first followup after a defer fills in the "thinking..." message.
            discord.edit_message(original, data | {"flags": original.flags}, files)
            message = original
        else:
            message = RecordedMessage(
                id=discord.world.snowflakes.next(),
                channel=handle.channel,
                author=discord.world.bot,
                content=data.get("content") or "",
                embeds=list(data.get("embeds") or []),
                files=files,
                components=list(data.get("components") or []),
                flags=int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL,
                interaction_id=handle.id,
                interaction_user=handle.user,
                webhook_id=discord.world.application.id,
                tts=bool(data.get("tts")),
            )
            handle.followup_messages.append(message)
            await discord.post_message(message)
        self._record(handle, self._reply("followup", data, files, message))
        if request.query.get("wait", "false").lower() in ("1", "true"):
            return json_response(message.payload(discord.base_url))
        return web.Response(status=204)

    async def _get_message(self, request: web.Request) -> web.Response:
        handle = self._webhook_handle(request)
        try:
            self._check_webhook(handle)
            message = self._target(handle, request)
        except DiscordAPIError as error:
            raise self._reject(handle, request, error) from None
        return json_response(message.payload(self._discord.base_url))

    async def _edit_message(self, request: web.Request) -> web.Response:
        handle = self._webhook_handle(request)
        discord = self._discord
        try:
            self._check_webhook(handle)
            message = self._target(handle, request)
            data, uploads = await read_body(request)
            check_message(data, uploads, discord.limits, creating=False)
        except DiscordAPIError as error:
            raise self._reject(handle, request, error) from None
        files = self._discord.cdn.add_uploads(uploads, data)
        discord.edit_message(message, data, files)
        kind: ReplyKind = "edit" if message is handle.message else "followup_edit"
        self._record(handle, self._reply(kind, data, files, message))
        return json_response(message.payload(discord.base_url))

    async def _delete_message(self, request: web.Request) -> web.Response:
        handle = self._webhook_handle(request)
        try:
            self._check_webhook(handle)
            message = self._target(handle, request)
        except DiscordAPIError as error:
            raise self._reject(handle, request, error) from None
        self._discord.delete_message(message)
        self._record(handle, self._reply("delete", {}, [], message))
        return web.Response(status=204)
