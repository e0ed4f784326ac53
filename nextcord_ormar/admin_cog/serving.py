"""The skeleton every ``/migrate`` subcommand runs in: claim → defer → run → release → report.

A subcommand hands :meth:`Desk.serve` a ``work`` function; ``work`` gets a :class:`Turn`
(the interaction, its reply and the cog's settings) and returns what to show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bot import DatabaseBotMixin
from ..migrations import UpgradeResult
from . import render
from .delivery import Buttons, Progress, Responder, outcome
from .options import CogOptions
from .render import Rendered
from .views import Interaction

__all__ = ["Desk", "Turn", "attachable", "rechecked", "route_error"]


@dataclass
class _Holder:
    what: str
    who: str


@dataclass
class Turn:
    """One run of a subcommand: the interaction, the reply being edited, the settings, and
    the loaded cogs' names by app name (``labels``) as they were when the run began."""

    interaction: Interaction
    responder: Responder
    options: CogOptions
    labels: dict[str, str]
    still_owner: Callable[[Interaction], Awaitable[bool]] | None = None

    def buttons(self) -> Buttons:
        """The questioner for this run: Confirm / Cancel buttons on the reply (Confirm asks
        the owner rule again, on fresh information)."""
        return Buttons(
            self.interaction,
            self.responder,
            self.labels,
            self.options.confirm_timeout,
            self.still_owner,
        )

    async def move(
        self, title: str, run: Callable[[Progress, Buttons], Awaitable[UpgradeResult]]
    ) -> Rendered:
        """An upgrade or downgrade: questions on buttons, progress by edits, the summary."""
        progress = Progress(self.responder, title, self.options.progress_interval, self.labels)
        result = await run(progress, self.buttons())
        await progress.flush()
        return render.moved(result, self.labels)


class Desk:
    """Runs subcommands: writes one at a time, every reply acknowledged at once."""

    def __init__(
        self,
        options: CogOptions,
        labels: Callable[[], dict[str, str]],
        still_owner: Callable[[Interaction], Awaitable[bool]] | None = None,
    ) -> None:
        self.options = options
        self.labels = labels
        self.still_owner = still_owner
        self._holder: _Holder | None = None

    async def serve(
        self,
        interaction: Interaction,
        work: Callable[[Turn], Awaitable[Rendered]],
        *,
        write: str | None = None,
    ) -> None:
        """Run ``work`` (a write if ``write`` names it; then only one at a time); send what
        it renders, or the error, by editing the deferred reply."""
        if write is not None:
            if self._holder is not None:
                reply = render.busy(self._holder.what, self._holder.who)
                await interaction.response.send_message(reply.content, ephemeral=True)
                return
            user = interaction.user
            self._holder = _Holder(write, user.mention if user is not None else "someone")
        try:
            await interaction.response.defer()
            responder = Responder(interaction, self.options.token_lifetime)
            turn = Turn(interaction, responder, self.options, self.labels(), self.still_owner)
            await turn.responder.edit(await outcome(work(turn)))
        finally:
            if write is not None:
                self._holder = None


async def attachable(path: Path | None) -> bytes | None:
    """The file's bytes if it fits in a Discord attachment, else ``None``."""
    if path is None or path.stat().st_size > render.ATTACHMENT_LIMIT:
        return None
    return await asyncio.to_thread(path.read_bytes)


async def rechecked(bot: object, rendered: Rendered, everything: bool = True) -> Rendered:
    """The reply to a write that moved versions, after the start-up policy re-checked the
    cogs (only the held ones unless ``everything``): which were released, which held."""
    if not isinstance(bot, DatabaseBotMixin):
        return rendered
    if everything:
        released, held = await bot.recheck_cogs()
    else:
        released, held = await bot.release_migrated_cogs(), []
    notes = [rendered.content] if rendered.content else []
    if released:
        notes.append("Released the held cogs: " + ", ".join(released))
    if held:
        reasons = bot.held_cogs
        notes.append("Held back until migrated: " + ", ".join(f"{n} ({reasons[n]})" for n in held))
    rendered.content = "\n".join(notes)
    return rendered


async def route_error(*args: Any) -> None:
    """A command's error handler sending its errors to the cog's handler: nextcord 2.6 has no
    cog-wide one, and calls a command's handler with ``(cog, interaction, error)``."""
    cog, interaction, error = args[-3], args[-2], args[-1]
    await cog.cog_application_command_error(interaction, error)
