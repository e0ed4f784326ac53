"""How ``/migrate`` talks back: edit the deferred reply, show progress, ask with buttons.

:class:`Responder` edits the interaction's reply (after the token's lifetime it posts to the
channel instead), :class:`Progress` turns the engine's progress events into throttled edits,
and :class:`Buttons` is the cog's questioner: the engine's question with Confirm / Cancel.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import nextcord

from ..errors import NextcordOrmarError, NotConfirmedError
from ..migrations import ProgressEvent
from ..migrations.questions import Question
from . import render
from .render import Rendered
from .views import NO_LONGER_OWNER, ConfirmView, Interaction

__all__ = ["Buttons", "Progress", "Responder", "outcome"]

log = logging.getLogger("nextcord_ormar.admin_cog")

# Discord error codes meaning the interaction token can no longer be used.
_TOKEN_GONE = {10015, 10062, 50027}


class Responder:
    """Edits the interaction's reply; after the token's lifetime, posts to the channel instead.

    The channel gets one message, edited by every later update, that may ping the invoker
    and nobody else (an ``@everyone`` in a migration message stays text).
    """

    def __init__(self, interaction: Interaction, lifetime: float) -> None:
        self.interaction = interaction
        self.started = time.monotonic()
        self.lifetime = lifetime
        self._fallback: nextcord.Message | None = None

    async def edit(self, reply: Rendered, *, view: nextcord.ui.View | None = None) -> None:
        reply = reply.fit()
        if time.monotonic() - self.started >= self.lifetime:
            await self.to_channel(reply)
            return
        try:
            await self.interaction.edit_original_message(
                content=reply.content or None,
                embed=reply.embed,
                files=reply.file_objects(),
                view=view,
            )
        except nextcord.HTTPException as exc:
            if exc.code in _TOKEN_GONE or exc.status == 401:
                await self.to_channel(reply)
            else:
                raise

    async def to_channel(self, reply: Rendered) -> None:
        channel = self.interaction.channel
        user = self.interaction.user
        mention = f"{user.mention} " if user is not None else ""
        content = render.clip(mention + (reply.content or "(result of /migrate)"), 2000)
        if channel is None or not hasattr(channel, "send"):
            log.warning("cannot deliver a /migrate result: no channel")
            return
        mentions = nextcord.AllowedMentions(
            everyone=False, roles=False, replied_user=False, users=[user] if user else False
        )
        extra: dict[str, Any] = {"allowed_mentions": mentions}
        if reply.files:  # files=[] makes nextcord send a url-encoded form, not JSON
            extra["files"] = reply.file_objects()
        if self._fallback is not None:  # embed=None removes an earlier update's embed
            await self._fallback.edit(content=content, embed=reply.embed, **extra)
            return
        if reply.embed is not None:
            extra["embed"] = reply.embed
        self._fallback = await channel.send(content=content, **extra)


class Progress:
    """Collects progress lines and edits the reply with them, at most once per interval."""

    def __init__(self, responder: Responder, title: str, interval: float, labels: dict[str, str]):
        self.responder = responder
        self.title = title
        self.interval = interval
        self.labels = labels
        self.lines: list[str] = []
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    def on_event(self, event: ProgressEvent) -> None:
        label = self.labels.get(event.app, event.app)
        if event.kind == "app_started":
            self.lines.append(f"{label}: {event.total} migration(s) to run")
        elif event.kind == "step_done" and event.step is not None:
            arrow = "applied" if event.step.direction == "up" else "undone"
            self.lines.append(
                f"{label}: {arrow} {event.step.revision} {event.step.message} "
                f"({event.index}/{event.total})"
            )
        elif event.kind == "app_failed":
            self.lines.append(f"{label}: failed")
        else:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._push())

    async def _push(self) -> None:
        wait = self.interval - (time.monotonic() - self._last)
        if wait > 0:
            await asyncio.sleep(wait)
        self._last = time.monotonic()
        try:
            await self.responder.edit(render.progress(self.lines, self.title))
        except nextcord.HTTPException:
            log.debug("progress edit failed", exc_info=True)

    async def flush(self) -> None:
        if self._task is not None:
            await self._task


class Buttons:
    """The cog's questioner: the engine's question as a message with Confirm / Cancel."""

    def __init__(
        self,
        interaction: Interaction,
        responder: Responder,
        labels: dict[str, str],
        timeout: float,
        still_owner: Callable[[Interaction], Awaitable[bool]] | None = None,
    ) -> None:
        self.interaction = interaction
        self.responder = responder
        self.labels = labels
        self.timeout = timeout
        self.still_owner = still_owner

    async def ask(self, question: Question) -> bool:
        user = self.interaction.user
        view = ConfirmView(
            user.id if user is not None else 0, timeout=self.timeout, still_owner=self.still_owner
        )
        await self.responder.edit(render.question(question, self.labels), view=view)
        await view.done.wait()
        if view.refused:
            raise NotConfirmedError(NO_LONGER_OWNER)
        if view.choice is None:
            raise NotConfirmedError("Timed out waiting for confirmation. Nothing changed.")
        if not view.choice:
            raise NotConfirmedError("Cancelled. Nothing changed.")
        return True


async def outcome(work: Awaitable[Rendered]) -> Rendered:
    """What ``work`` renders, or its error rendered: every error of the library once, here."""
    try:
        return await work
    except NotConfirmedError as exc:
        return Rendered(content=str(exc))
    except NextcordOrmarError as exc:
        return render.error(str(exc))
    except Exception as exc:
        log.exception("/migrate failed")
        reply = render.error(f"{type(exc).__name__}: {render.clip(str(exc), 1500)}")
        reply.files.append(("traceback.txt", traceback.format_exc().encode()))
        return reply
