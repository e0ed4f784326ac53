"""The ``/migrate`` admin cog: ``bot.load_extension("nextcord_ormar.admin_cog")``.

Options go through nextcord's ``extras``, for example
``bot.load_extension("nextcord_ormar.admin_cog", extras={"guild_ids": [ADMIN_GUILD]})``;
see :class:`CogOptions`.
"""

from __future__ import annotations

from typing import Any

from nextcord.ext import commands

from .cog import MigrationsCog, UnknownCogError
from .options import CogOptions

__all__ = ["CogOptions", "MigrationsCog", "UnknownCogError", "setup"]


def setup(bot: commands.Bot, **extras: Any) -> None:
    """Entry point for ``load_extension``; ``extras`` become :class:`CogOptions`."""
    bot.add_cog(MigrationsCog(bot, **extras))
