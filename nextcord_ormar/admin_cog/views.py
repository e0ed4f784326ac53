"""Confirmation buttons that only the person who asked can press."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import nextcord

if TYPE_CHECKING:
    Interaction = nextcord.Interaction[Any]
else:  # nextcord 2.6's Interaction is not generic; nextcord reads these at runtime
    Interaction = nextcord.Interaction

__all__ = ["NO_LONGER_OWNER", "ConfirmView", "Interaction"]

NO_LONGER_OWNER = "Not confirmed: you are no longer one of the bot's owners. Nothing changed."


class ConfirmView(nextcord.ui.View):
    """Confirm / Cancel for one user; anyone else is told so and nothing happens.

    ``await view.wait()`` then read :attr:`choice`: ``True`` (confirmed), ``False``
    (cancelled) or ``None`` (timed out). ``still_owner`` (if given) is asked again when
    Confirm is pressed: someone who stopped being an owner while the question waited
    confirms nothing (:attr:`refused` is then set).
    """

    def __init__(
        self,
        owner_id: int,
        *,
        timeout: float,
        still_owner: Callable[[Interaction], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.still_owner = still_owner
        self.refused = False
        self.choice: bool | None = None
        #: Set by the first press: later presses are acknowledged and ignored.
        self.answered = False
        self.done = asyncio.Event()

    async def interaction_check(self, interaction: Interaction) -> bool:
        if interaction.user is not None and interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the person who started this command can answer.", ephemeral=True
        )
        return False

    async def _finish(self, interaction: Interaction, choice: bool) -> None:
        if self.answered or self.done.is_set():
            # Answered already (or timed out): a second press, however quick, changes nothing.
            await interaction.response.defer()
            return
        self.answered = True  # before any await, so a press racing this one sees it
        if choice and self.still_owner is not None and not await self.still_owner(interaction):
            choice, self.refused = False, True
        self.choice = choice
        for child in self.children:
            if isinstance(child, nextcord.ui.Button):
                child.disabled = True
        if self.refused:
            label = NO_LONGER_OWNER
        else:
            label = "Confirmed, working…" if choice else "Cancelled. Nothing changed."
        await interaction.response.edit_message(content=label, view=self)
        self.done.set()
        self.stop()

    @nextcord.ui.button(label="Confirm", style=nextcord.ButtonStyle.danger)
    async def confirm(self, button: Any, interaction: Interaction) -> None:
        await self._finish(interaction, True)

    @nextcord.ui.button(label="Cancel", style=nextcord.ButtonStyle.secondary)
    async def cancel(self, button: Any, interaction: Interaction) -> None:
        await self._finish(interaction, False)

    async def on_timeout(self) -> None:
        self.done.set()
