"""Who counts as the bot's owner for ``/migrate``: one rule, from fresh application info.

The rule: a user-owned application's owner; for a team-owned application, the team's owner
always, and members who *accepted* the invitation and whose role is ``admin`` or
``developer``. Invited members and ``read_only`` members are not owners. The cog's
``owner_ids`` option narrows that: when given, a user must be listed *and* pass the rule.

nextcord's ``Bot.is_owner`` is not used: it counts every team member, whatever their role
or state, and keeps ``owner_ids`` until the bot restarts. Neither nextcord 2.6 nor 3.x has a
member's ``role`` on ``TeamMember``, so the rule reads Discord's own application payload
(``bot.http.application_info()``, the request behind ``bot.application_info()``); it depends
on Discord's documented fields only, not on which nextcord is installed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Collection, Mapping
from typing import Any

import nextcord

from .views import Interaction

__all__ = [
    "OwnerRule",
    "application_owner",
    "is_read_only",
    "owners_in",
    "valid_owner_ids",
    "valid_refresh",
]

log = logging.getLogger("nextcord_ormar.admin_cog")

#: Discord's ``membership_state`` of a member who accepted the team's invitation.
ACCEPTED = 2
#: Team roles that may run ``/migrate`` (``read_only`` may not).
OWNER_ROLES = frozenset({"admin", "developer"})
#: Subcommands that only read; every other one writes and is checked on fresh info.
READ_ONLY = frozenset({"show", "history", "sql", "check"})


def owners_in(info: Mapping[str, Any]) -> frozenset[int]:
    """The ids the rule admits, from ``GET /oauth2/applications/@me``'s JSON."""
    team = info.get("team")
    if not isinstance(team, Mapping):
        owner = info.get("owner")
        return frozenset(_ids([owner.get("id")] if isinstance(owner, Mapping) else []))
    found = [team.get("owner_user_id")]
    for member in team.get("members") or ():
        if not isinstance(member, Mapping):
            continue
        if member.get("membership_state") == ACCEPTED and member.get("role") in OWNER_ROLES:
            user = member.get("user")
            found.append(user.get("id") if isinstance(user, Mapping) else None)
    return frozenset(_ids(found))


def application_owner(info: Mapping[str, Any]) -> int | None:
    """The application's one owner: a team's owner, or the user who owns it."""
    team = info.get("team")
    if isinstance(team, Mapping):
        found = _ids([team.get("owner_user_id")])
    else:
        owner = info.get("owner")
        found = _ids([owner.get("id")] if isinstance(owner, Mapping) else [])
    return found[0] if found else None


def _ids(values: list[Any]) -> list[int]:
    """Snowflakes (Discord sends them as strings); anything else is ignored."""
    found = [v for v in values if isinstance(v, (str, int)) and not isinstance(v, bool)]
    return [int(v) for v in found if str(v).isascii() and str(v).isdigit()]


def is_read_only(interaction: Interaction) -> bool:
    """Whether the invoked ``/migrate`` subcommand only reads (unknown ones count as writes)."""
    data = interaction.data
    options = data.get("options") if isinstance(data, Mapping) else None
    first = options[0] if isinstance(options, list) and options else None
    return isinstance(first, Mapping) and first.get("name") in READ_ONLY


def valid_owner_ids(value: object) -> frozenset[int] | None:
    """``owner_ids`` as a set, or a clear :class:`TypeError`."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Collection):
        raise TypeError("owner_ids must be a list of user ids (ints), or None")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise TypeError("owner_ids must hold user ids (ints) only")
    return frozenset(value)


def valid_refresh(value: object) -> float:
    """``owner_refresh`` in seconds, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("owner_refresh must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise ValueError("owner_refresh must be 0 or more seconds")
    return float(value)


class OwnerRule:
    """The owner rule for one bot, with the application info cached ``refresh`` seconds.

    :meth:`allows` with ``fresh=True`` (every write) asks Discord again first. If Discord
    cannot be asked, nobody is an owner until it can (the failure is logged).
    """

    def __init__(
        self, bot: nextcord.Client, refresh: float, only: Collection[int] | None = None
    ) -> None:
        self.bot = bot
        self.refresh = refresh
        self.only = frozenset(only) if only is not None else None
        self._owners: frozenset[int] = frozenset()
        self._fetched: float | None = None
        self._lock = asyncio.Lock()

    async def allows(self, user: nextcord.abc.Snowflake | None, *, fresh: bool) -> bool:
        """Whether ``user`` may run ``/migrate`` now."""
        if user is None or (self.only is not None and user.id not in self.only):
            return False
        return user.id in await self.owners(fresh=fresh)

    async def owners(self, *, fresh: bool = False) -> frozenset[int]:
        """The ids the rule admits (before ``owner_ids`` narrows them)."""
        async with self._lock:
            started = time.monotonic()
            stale = self._fetched is None or started - self._fetched >= self.refresh
            if fresh or stale:
                try:
                    info = await self.bot.http.application_info()
                except (TimeoutError, nextcord.HTTPException, OSError) as exc:
                    log.warning("could not read the application's owners: %s", exc)
                    self._fetched = None
                    self._owners = frozenset()
                    return self._owners
                self._owners = owners_in(info)
                self._fetched = started
            return self._owners
