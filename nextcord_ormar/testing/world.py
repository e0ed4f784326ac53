"""The small world a local Discord serves, and the snowflakes that name everything in it.

Changes made to a guild after a bot connected are announced to the world's listeners, so the
gateway can dispatch ``GUILD_CREATE``, ``CHANNEL_CREATE``...
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any

from .models import (
    DEFAULT_EVERYONE_PERMISSIONS,
    Application,
    Channel,
    ChannelType,
    Guild,
    Member,
    PermissionsLike,
    Role,
    Team,
    User,
    permission_value,
)

__all__ = ["DISCORD_EPOCH_MS", "Snowflakes", "World"]

DISCORD_EPOCH_MS = 1420070400000


class Snowflakes:
    """Makes increasing Discord snowflakes from the wall clock, like Discord does."""

    def __init__(self) -> None:
        self._last = 0
        self._counter = itertools.count()

    def next(self) -> int:
        """Return a new snowflake, larger than every one returned before."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        candidate |= (1 << 17) | (next(self._counter) & 0xFFF)
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


Listener = Callable[[str, "Guild", Any], None]


class World:
    """Everything the local Discord knows: users, guilds, channels and the application."""

    def __init__(self, *, bot_name: str = "TestBot", app_name: str = "Test Application") -> None:
        self.snowflakes = Snowflakes()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.dm_channels: dict[int, Channel] = {}
        self._listeners: list[Listener] = []
        bot = self.create_user(bot_name, bot=True)
        owner = self.create_user("app-owner")
        self.application = Application(
            id=self.snowflakes.next(), name=app_name, bot=bot, owner=owner
        )

    @property
    def bot(self) -> User:
        """The application's bot user."""
        return self.application.bot

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event, guild, obj)`` on every change to a guild."""
        self._listeners.append(listener)

    def announce(self, event: str, guild: Guild, obj: Any) -> None:
        """Tell listeners that ``obj`` changed in ``guild``."""
        for listener in self._listeners:
            listener(event, guild, obj)

    def create_user(self, name: str, *, bot: bool = False) -> User:
        """A new user; not a member of any guild yet."""
        user = User(id=self.snowflakes.next(), name=name, bot=bot)
        self.users[user.id] = user
        return user

    def create_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: User | None = None,
        channels: Iterable[str] = ("general",),
        everyone_permissions: PermissionsLike = DEFAULT_EVERYONE_PERMISSIONS,
        with_bot: bool = True,
    ) -> Guild:
        """A guild with ``@everyone``, text ``channels``, its owner and (by default) the bot."""
        guild = Guild(id=self.snowflakes.next(), name=name, world=self, owner=owner)
        guild.roles.append(
            Role(
                id=guild.id,
                guild=guild,
                name="@everyone",
                permissions=permission_value(everyone_permissions),
            )
        )
        for channel_name in channels:
            channel = Channel(
                id=self.snowflakes.next(),
                name=channel_name,
                guild=guild,
                position=len(guild.channels),
            )
            guild.channels.append(channel)
            self.channels[channel.id] = channel
        if owner is not None:
            guild.members[owner.id] = Member(user=owner, guild=guild)
        if with_bot:
            guild.members[self.bot.id] = Member(user=self.bot, guild=guild)
        self.guilds[guild.id] = guild
        self.announce("GUILD_CREATE", guild, guild)
        return guild

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between ``user`` and the bot (made on first use)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(
                id=self.snowflakes.next(),
                name="",
                type=ChannelType.DM,
                recipients=[user],
            )
            self.dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return channel

    def set_owner(self, user: User) -> None:
        """Make ``user`` the application's single owner."""
        self.application.owner = user
        self.application.team = None

    def set_team(self, members: Iterable[User], *, name: str = "Test Team") -> Team:
        """Make the application team-owned: the first member owns the team; every member
        starts as an accepted admin (change them with :class:`Team`'s methods)."""
        people = list(members)
        if not people:
            raise ValueError("a team needs at least one member")
        team = Team(id=self.snowflakes.next(), name=name, owner=people[0], members=people)
        self.application.team = team
        self.application.owner = people[0]
        return team

    def guilds_of_bot(self) -> list[Guild]:
        """Guilds the bot is a member of."""
        return [g for g in self.guilds.values() if self.bot.id in g.members]
