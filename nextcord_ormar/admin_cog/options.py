"""The admin cog's settings."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CogOptions"]


@dataclass
class CogOptions:
    """Settings of the cog, given as ``bot.load_extension(..., extras={...})``.

    ``guild_ids``: register ``/migrate`` only in these guilds (e.g. the team's admin
    server); without it the command is registered the usual way (globally, or in the
    bot's ``default_guild_ids``). ``confirm_timeout``: seconds a downgrade waits for its
    confirmation. ``progress_interval``: least seconds between progress edits.
    ``token_lifetime``: after this many seconds a result goes to the channel instead of
    the interaction (Discord's tokens last 15 minutes).
    """

    guild_ids: list[int] | None = None
    confirm_timeout: float = 60.0
    progress_interval: float = 1.0
    token_lifetime: float = 14.5 * 60
