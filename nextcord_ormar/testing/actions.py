"""Acting as users of the local Discord (slash commands, autocomplete, components, modals,
plain messages) and waiting for what the bot does in response."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .gateway import Gateway
from .handles import InteractionHandle, Waitable
from .interactions import Interactions
from .messages import RecordedMessage
from .models import Channel, User
from .world import World

__all__ = ["UserActions"]


class UserActions(Waitable):
    """The user-facing half of :class:`~nextcord_ormar.testing.LocalDiscord`."""

    world: World
    gateway: Gateway
    interactions: Interactions
    messages: dict[int, RecordedMessage]
    reaction_delay: float

    async def _flush(self) -> None:
        raise NotImplementedError

    async def post_message(self, message: RecordedMessage) -> None:
        """Store a new message and tell the bot (implemented by ``LocalDiscord``)."""
        raise NotImplementedError

    # -- acting as a user ----------------------------------------------------------------

    async def _send_interaction(self, handle: InteractionHandle) -> InteractionHandle:
        await self._flush()
        session = self.gateway.session
        if session is None:
            raise RuntimeError("no bot is connected to this local Discord (use run_bot)")
        await session.dispatch("INTERACTION_CREATE", handle.payload)
        return handle

    async def slash(
        self,
        user: User,
        channel: Channel,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        check_permissions: bool = True,
    ) -> InteractionHandle:
        """Invoke ``/command`` as ``user`` in ``channel`` and return the interaction's handle.

        ``command`` may name subcommands: ``"migrate make"``. ``options`` maps option names
        to values: str, int, float, bool, :class:`User`/:class:`Member`, :class:`Role`,
        :class:`Channel`, or :class:`RecordedFile` for attachments. With
        ``check_permissions`` (default) a user who could not see the command (its
        ``default_member_permissions``, or DMs when not allowed there) gets
        ``CommandNotAvailable`` instead. The call returns once the bot has been sent the
        interaction; use the handle's ``wait_*`` methods for the answer.
        """
        handle = self.interactions.command_interaction(
            user, channel, command, options or {}, check_permissions=check_permissions
        )
        return await self._send_interaction(handle)

    async def autocomplete(
        self,
        user: User,
        channel: Channel,
        command: str,
        focused: str,
        options: Mapping[str, Any] | None = None,
    ) -> InteractionHandle:
        """Send an autocomplete interaction for option ``focused`` (its partial value in
        ``options``); ``await handle.wait_choices()`` returns the bot's choices."""
        given = dict(options or {})
        given.setdefault(focused, "")
        handle = self.interactions.command_interaction(
            user, channel, command, given, focused=focused, check_permissions=True
        )
        return await self._send_interaction(handle)

    def _message_from(self, target: RecordedMessage | InteractionHandle | int) -> RecordedMessage:
        if isinstance(target, RecordedMessage):
            return target
        if isinstance(target, InteractionHandle):
            if target.message is None:
                raise ValueError(f"{target!r} has no message (yet)")
            return target.message
        message = self.messages.get(target)
        if message is None:
            raise LookupError(f"no message {target}")
        return message

    async def _settled(self, message: RecordedMessage) -> RecordedMessage:
        changed = max(message.created_at, message.edited_at or 0.0)
        wait = changed + self.reaction_delay - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return message

    async def click(
        self,
        user: User,
        message: RecordedMessage | InteractionHandle | int,
        *,
        custom_id: str | None = None,
        label: str | None = None,
    ) -> InteractionHandle:
        """Press the button with ``custom_id`` (or ``label``) on a message the bot sent.

        ``message`` may be the message, its id, or the handle whose reply carries the button.
        """
        target = await self._settled(self._message_from(message))
        handle = self.interactions.component_interaction(
            user, target, custom_id=custom_id, label=label, values=None
        )
        return await self._send_interaction(handle)

    async def select(
        self,
        user: User,
        message: RecordedMessage | InteractionHandle | int,
        custom_id: str,
        values: Iterable[str],
    ) -> InteractionHandle:
        """Choose ``values`` in the select menu ``custom_id`` of a message the bot sent."""
        target = await self._settled(self._message_from(message))
        handle = self.interactions.component_interaction(
            user, target, custom_id=custom_id, label=None, values=list(values)
        )
        return await self._send_interaction(handle)

    async def submit_modal(
        self, user: User, handle: InteractionHandle, values: Mapping[str, str]
    ) -> InteractionHandle:
        """Fill in and submit the modal the bot opened in answer to ``handle``.

        ``values`` maps each text input's ``custom_id`` (or label) to the text typed.
        """
        opened = next((r for r in handle.replies if r.kind == "modal"), None)
        if opened is not None:
            wait = opened.at + self.reaction_delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        return await self._send_interaction(
            self.interactions.modal_interaction(user, handle, values)
        )

    async def send_message(self, user: User, channel: Channel, content: str) -> RecordedMessage:
        """Post a message as ``user`` (the bot gets ``MESSAGE_CREATE`` if its intents allow)."""
        await self._flush()
        message = RecordedMessage(
            id=self.world.snowflakes.next(), channel=channel, author=user, content=content
        )
        await self.post_message(message)
        return message

    # -- waiting -------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], object], *, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true, re-checking after every request."""
        await self._wait(lambda: bool(predicate()), timeout, "the predicate")

    async def wait_for_message(
        self,
        channel: Channel,
        predicate: Callable[[RecordedMessage], object] | None = None,
        *,
        timeout: float = 10.0,
    ) -> RecordedMessage:
        """The first message in ``channel`` matching ``predicate`` (default: any message by the
        bot), waiting for it if needed. Messages already there count."""

        def matches(message: RecordedMessage) -> bool:
            if predicate is None:
                return message.author is self.world.bot
            return bool(predicate(message))

        def found() -> RecordedMessage | None:
            return next((m for m in channel.messages if matches(m)), None)

        await self._wait(lambda: found() is not None, timeout, f"a message in #{channel.name}")
        result = found()
        assert result is not None
        return result
