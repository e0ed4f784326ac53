"""The admin cog's settings."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from .owners import valid_owner_ids, valid_refresh

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

    Who may run it (see :mod:`.owners`): ``owner_ids``: when given, only these users, and
    only if the owner rule admits them too (it narrows, never widens; ``[]`` lets nobody
    in). ``owner_refresh``: seconds the application's info (its owner or team) is kept for
    read-only subcommands; writes always ask Discord again first.
    """

    guild_ids: list[int] | None = None
    confirm_timeout: float = 60.0
    progress_interval: float = 1.0
    token_lifetime: float = 14.5 * 60
    owner_ids: Collection[int] | None = None
    owner_refresh: float = 60.0

    def __post_init__(self) -> None:
        self.owner_ids = valid_owner_ids(self.owner_ids)
        self.owner_refresh = valid_refresh(self.owner_refresh)
