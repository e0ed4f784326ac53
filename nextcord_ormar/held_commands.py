"""Application-command interactions of the cogs the start-up policy holds back.

A held cog's slash, user and message commands get the maintenance reply (autocomplete gets
no choices). The command is found as nextcord finds it: by its id, or, when the id is not
associated yet (nextcord's lazy loading, e.g. after another deployment of the bot
registered the command again), by its signature: the guild's command first, then the
global one.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import nextcord

if TYPE_CHECKING:
    from .startup import StartupGate

__all__ = ["answer_if_held", "command_of"]

_KINDS = (
    nextcord.InteractionType.application_command,
    nextcord.InteractionType.application_command_autocomplete,
)


async def answer_if_held(gate: StartupGate, interaction: Any) -> bool:
    """Answer the interaction if it is for a held cog's command; ``True`` if answered."""
    if not isinstance(interaction.data, dict) or interaction.type not in _KINDS:
        return False
    command = command_of(gate.bot, interaction)
    if command is None or gate.held_for(getattr(command, "parent_cog", None)) is None:
        return False
    if interaction.type is nextcord.InteractionType.application_command_autocomplete:
        await interaction.response.send_autocomplete([])
    else:
        await interaction.response.send_message(gate.message, ephemeral=True)
    return True


def command_of(bot: Any, interaction: Any) -> Any:
    """The bot's command the interaction invokes, or ``None``."""
    data = interaction.data
    command_id = data.get("id")
    if command_id is not None:
        command = bot.get_application_command(int(command_id))
        if command is not None:
            return command
    name, kind = data.get("name"), int(data.get("type") or 1)
    if not isinstance(name, str):
        return None
    lookup = bot.get_application_command_from_signature
    # nextcord 3.x: (qualified_name, *, type=, guild=); 2.6: (name, cmd_type, guild_id)
    keywords = "qualified_name" in inspect.signature(lookup).parameters
    guilds = [int(g) for g in (data.get("guild_id"), interaction.guild_id) if g]
    for guild in [*dict.fromkeys(guilds), None]:
        command = lookup(name, type=kind, guild=guild) if keywords else lookup(name, kind, guild)
        if command is not None:
            return command
    return None
