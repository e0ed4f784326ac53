"""What the bot did with one interaction, recorded in order, with async waiting helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from .messages import MESSAGE_FLAG_EPHEMERAL, RecordedFile, RecordedMessage
from .models import Channel, User

__all__ = ["InteractionHandle", "Rejection", "Reply", "ReplyKind", "Waitable"]

Json = dict[str, Any]

#: ``deferred``: type 5 (thinking...), ``message``: type 4, ``deferred_update``: type 6,
#: ``update``: type 7, ``autocomplete``: type 8, ``modal``: type 9, ``edit``: an edit of the
#: original response, ``followup``: a followup message, ``followup_edit``: an edit of a followup,
#: ``delete``: the original or a followup was deleted.
ReplyKind = Literal[
    "deferred",
    "message",
    "deferred_update",
    "update",
    "autocomplete",
    "modal",
    "edit",
    "followup",
    "followup_edit",
    "delete",
]

INITIAL_KINDS: dict[int, ReplyKind] = {
    4: "message",
    5: "deferred",
    6: "deferred_update",
    7: "update",
    8: "autocomplete",
    9: "modal",
}


@dataclass
class Reply:
    """One thing the bot sent for an interaction; ``at`` is its ``time.monotonic()`` arrival."""

    kind: ReplyKind
    at: float
    content: str | None = None
    embeds: list[Json] = field(default_factory=list)
    files: list[RecordedFile] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    flags: int = 0
    message_id: int | None = None
    data: Json = field(default_factory=dict)

    @property
    def ephemeral(self) -> bool:
        """Whether the message (or the deferred reply to come) is ephemeral."""
        return bool(self.flags & MESSAGE_FLAG_EPHEMERAL)

    @property
    def text(self) -> str:
        """Content plus every embed's title, description, fields and footer, one per line."""
        parts = [self.content or ""]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for embed_field in embed.get("fields") or []:
                parts += [embed_field.get("name") or "", embed_field.get("value") or ""]
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)

    @property
    def choices(self) -> list[Json]:
        """Autocomplete choices (``kind == "autocomplete"``)."""
        return list(self.data.get("choices") or [])

    def file(self, filename: str) -> RecordedFile:
        """The uploaded file called ``filename``."""
        for recorded in self.files:
            if recorded.filename == filename:
                return recorded
        raise LookupError(f"no file {filename!r}; got {[f.filename for f in self.files]}")


@dataclass
class Rejection:
    """A request for this interaction that the local Discord refused, as Discord would."""

    method: str
    path: str
    status: int
    code: int
    message: str
    at: float


class Waitable:
    """Something that changes as requests arrive and can be waited on with a predicate.

    Predicates are re-checked whenever a request arrives, and every ``poll_interval`` seconds
    in case they look at state outside the local Discord (such as the bot's own).
    """

    poll_interval = 0.02

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _describe(self) -> str:
        return repr(self)

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout} s waiting for {what}; {self._describe()}"
                )
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), min(remaining, self.poll_interval))
            except TimeoutError:
                continue


class InteractionHandle(Waitable):
    """An interaction the local Discord sent to the bot, and everything the bot answered.

    ``replies`` lists, in arrival order, the initial response, edits of the original,
    followups and deletions; ``rejections`` lists requests refused with Discord's errors
    (late acknowledgement 10062, double acknowledgement 40060, limits 50035, ...).
    """

    def __init__(
        self,
        *,
        id: int,
        token: str,
        type: int,
        name: str,
        user: User,
        channel: Channel,
        payload: Json,
        created_at: float,
        clock_created_at: float,
        source_message: RecordedMessage | None = None,
    ) -> None:
        super().__init__()
        self.id = id
        self.token = token
        self.type = type
        self.name = name
        self.user = user
        self.channel = channel
        self.payload = payload
        self.created_at = created_at
        self.clock_created_at = clock_created_at
        self.source_message = source_message
        self.replies: list[Reply] = []
        self.rejections: list[Rejection] = []
        self.message: RecordedMessage | None = source_message if type == 3 else None
        self.followup_messages: list[RecordedMessage] = []

    def __repr__(self) -> str:
        return f"<InteractionHandle {self.name!r} id={self.id} type={self.type}>"

    def _describe(self) -> str:
        replies = ", ".join(f"{r.kind}({r.content!r})" for r in self.replies) or "none"
        rejections = ", ".join(f"{r.status}/{r.code} {r.method} {r.path}" for r in self.rejections)
        text = f"{self!r}: replies: {replies}"
        if rejections:
            text += f"; rejected: {rejections}"
        return text

    # -- what happened -------------------------------------------------------------------

    @property
    def initial(self) -> Reply | None:
        """The initial response (callback), if one was accepted."""
        for reply in self.replies:
            if reply.kind in INITIAL_KINDS.values():
                return reply
        return None

    @property
    def acknowledged(self) -> bool:
        """Whether an initial response was accepted."""
        return self.initial is not None

    @property
    def deferred(self) -> bool:
        """Whether the initial response was a defer (type 5 or 6)."""
        initial = self.initial
        return initial is not None and initial.kind in ("deferred", "deferred_update")

    @property
    def ephemeral(self) -> bool:
        """Whether the original response is ephemeral."""
        initial = self.initial
        return initial is not None and initial.ephemeral

    @property
    def edits(self) -> list[Reply]:
        """Edits of the original response, in order."""
        return [r for r in self.replies if r.kind == "edit"]

    @property
    def followups(self) -> list[Reply]:
        """Followup messages, in order."""
        return [r for r in self.replies if r.kind == "followup"]

    @property
    def choices(self) -> list[Json] | None:
        """Autocomplete choices, once the bot answered an autocomplete interaction."""
        initial = self.initial
        if initial is None or initial.kind != "autocomplete":
            return None
        return initial.choices

    @property
    def final(self) -> Reply | None:
        """The reply that completes the interaction for the user, if any yet.

        A message, update, autocomplete or modal initial response is final at once; after a
        defer, the first edit of the original or the first followup is.
        """
        initial = self.initial
        if initial is None:
            return None
        if initial.kind not in ("deferred", "deferred_update"):
            return initial
        for reply in self.replies:
            if reply.kind in ("edit", "followup", "delete") and reply.at >= initial.at:
                return reply
        return None

    @property
    def done(self) -> bool:
        """Whether :attr:`final` exists."""
        return self.final is not None

    @property
    def files(self) -> list[RecordedFile]:
        """Every file uploaded for this interaction, in order."""
        return [f for r in self.replies for f in r.files]

    # -- waiting -------------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[InteractionHandle], object], *, timeout: float = 10.0
    ) -> Self:
        """Wait until ``predicate(handle)`` is true; ``TimeoutError`` after ``timeout`` s."""
        await self._wait(lambda: bool(predicate(self)), timeout, "the predicate")
        return self

    async def wait_acknowledged(self, *, timeout: float = 10.0) -> Reply:
        """Wait for the initial response and return it."""
        await self._wait(lambda: self.initial is not None, timeout, "an initial response")
        assert self.initial is not None
        return self.initial

    async def wait_done(self, *, timeout: float = 10.0) -> Reply:
        """Wait for the :attr:`final` reply and return it."""
        await self._wait(lambda: self.final is not None, timeout, "a final response")
        assert self.final is not None
        return self.final

    async def wait_reply(
        self, predicate: Callable[[Reply], object], *, timeout: float = 10.0
    ) -> Reply:
        """Wait for a reply matching ``predicate`` and return the latest such reply."""

        def latest() -> Reply | None:
            return next((r for r in reversed(self.replies) if predicate(r)), None)

        await self._wait(lambda: latest() is not None, timeout, "a matching reply")
        found = latest()
        assert found is not None
        return found

    async def wait_text(self, text: str, *, timeout: float = 10.0) -> Reply:
        """Wait for a reply whose :attr:`Reply.text` contains ``text`` and return it."""
        return await self.wait_reply(lambda r: text in r.text, timeout=timeout)

    async def wait_choices(self, *, timeout: float = 10.0) -> list[Json]:
        """Wait for an autocomplete answer and return its choices."""
        await self._wait(lambda: self.choices is not None, timeout, "autocomplete choices")
        return self.choices or []

    async def wait_followups(self, count: int = 1, *, timeout: float = 10.0) -> list[Reply]:
        """Wait until at least ``count`` followups arrived and return them all."""
        await self._wait(lambda: len(self.followups) >= count, timeout, f"{count} followup(s)")
        return self.followups

    async def wait_rejection(self, *, timeout: float = 10.0) -> Rejection:
        """Wait until the local Discord refused a request for this interaction."""
        await self._wait(lambda: bool(self.rejections), timeout, "a rejected request")
        return self.rejections[0]
