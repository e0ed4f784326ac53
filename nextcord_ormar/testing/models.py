"""The world's objects: users, roles, channels, members, guilds, teams and the application.

Plain data with ids (Discord snowflakes); ``payload()`` renders the JSON Discord would send.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .messages import RecordedMessage
    from .world import World

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "TEAM_ROLES",
    "Application",
    "Channel",
    "ChannelType",
    "Guild",
    "Member",
    "MembershipState",
    "Permission",
    "PermissionsLike",
    "Role",
    "Team",
    "User",
    "iso_timestamp",
    "permission_value",
]

Json = dict[str, Any]


class Permission:
    """A few permission bits, for building roles without importing nextcord."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    USE_EXTERNAL_EMOJIS = 1 << 18
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31


#: Every permission bit Discord defines today (and a few spare ones).
ALL_PERMISSIONS = (1 << 51) - 1

#: What ``@everyone`` can do in a new guild.
DEFAULT_EVERYONE_PERMISSIONS = (
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.USE_APPLICATION_COMMANDS
)


class _HasValue(Protocol):
    @property
    def value(self) -> int: ...


PermissionsLike = int | _HasValue


def permission_value(permissions: PermissionsLike) -> int:
    """Accept an int or anything with an int ``.value`` (such as ``nextcord.Permissions``)."""
    if isinstance(permissions, int):
        return permissions
    return int(permissions.value)


class ChannelType(IntEnum):
    """Discord channel types the local Discord knows about."""

    TEXT = 0
    DM = 1
    VOICE = 2
    CATEGORY = 4
    NEWS = 5


def iso_timestamp(moment: datetime | None = None) -> str:
    """An ISO 8601 timestamp as Discord writes them."""
    return (moment or datetime.now(UTC)).isoformat()


@dataclass(eq=False)
class User:
    """A Discord user (a person or a bot)."""

    id: int
    name: str
    bot: bool = False
    global_name: str | None = None

    @property
    def mention(self) -> str:
        """The ``<@id>`` mention string."""
        return f"<@{self.id}>"

    def payload(self) -> Json:
        """The user object JSON."""
        return {
            "id": str(self.id),
            "username": self.name,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass(eq=False)
class Role:
    """A guild role; the role whose id equals the guild id is ``@everyone``."""

    id: int
    guild: Guild
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False

    @property
    def is_everyone(self) -> bool:
        """Whether this is the guild's ``@everyone`` role."""
        return self.id == self.guild.id

    def payload(self) -> Json:
        """The role object JSON."""
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": False,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass(eq=False)
class Channel:
    """A guild text/voice/category channel or a DM channel.

    ``messages`` holds every message visible in the channel, in order (ephemeral interaction
    replies are not visible in a channel and are not listed). A message sent as an interaction
    reply has ``interaction_id`` set; the rest were sent with ``POST /channels/{id}/messages``.
    """

    id: int
    name: str
    type: ChannelType = ChannelType.TEXT
    guild: Guild | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    parent_id: int | None = None
    recipients: list[User] = field(default_factory=list)
    messages: list[RecordedMessage] = field(default_factory=list)

    @property
    def mention(self) -> str:
        """The ``<#id>`` mention string."""
        return f"<#{self.id}>"

    @property
    def plain_messages(self) -> list[RecordedMessage]:
        """Messages sent to this channel outside interactions."""
        return [m for m in self.messages if m.interaction_id is None]

    def payload(self) -> Json:
        """The channel object JSON."""
        data: Json = {"id": str(self.id), "type": int(self.type), "flags": 0}
        if self.type is ChannelType.DM:
            data["recipients"] = [u.payload() for u in self.recipients]
            data["last_message_id"] = None
            return data
        assert self.guild is not None
        data.update(
            {
                "guild_id": str(self.guild.id),
                "name": self.name,
                "position": self.position,
                "permission_overwrites": [],
                "nsfw": self.nsfw,
                "parent_id": str(self.parent_id) if self.parent_id else None,
            }
        )
        if self.type in (ChannelType.TEXT, ChannelType.NEWS):
            data.update(
                {
                    "topic": self.topic,
                    "last_message_id": None,
                    "rate_limit_per_user": 0,
                    "default_auto_archive_duration": 1440,
                }
            )
        elif self.type is ChannelType.VOICE:
            data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
        return data


@dataclass(eq=False)
class Member:
    """A user's membership in a guild, with roles and an optional nickname."""

    user: User
    guild: Guild
    roles: list[Role] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_timestamp)

    @property
    def id(self) -> int:
        """The member's user id."""
        return self.user.id

    @property
    def permissions(self) -> int:
        """Guild-level permissions: owner and administrators get all of them."""
        if self.guild.owner is not None and self.guild.owner.id == self.user.id:
            return ALL_PERMISSIONS
        value = self.guild.default_role.permissions
        for role in self.roles:
            value |= role.permissions
        if value & Permission.ADMINISTRATOR:
            return ALL_PERMISSIONS
        return value

    def has_permissions(self, permissions: PermissionsLike) -> bool:
        """Whether the member holds every bit of ``permissions``."""
        wanted = permission_value(permissions)
        return self.permissions & wanted == wanted

    def payload(self, *, with_user: bool = True, with_permissions: bool = False) -> Json:
        """The guild member object JSON."""
        data: Json = {
            "roles": [str(r.id) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if with_permissions:
            data["permissions"] = str(self.permissions)
        return data


@dataclass(eq=False)
class Guild:
    """A guild (server) with its roles, channels and members."""

    id: int
    name: str
    world: World
    owner: User | None = None
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def default_role(self) -> Role:
        """The ``@everyone`` role."""
        return self.roles[0]

    def channel(self, name: str) -> Channel:
        """The channel called ``name``."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    def role(self, name: str) -> Role:
        """The role called ``name``."""
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(f"guild {self.name!r} has no role {name!r}")

    def get_member(self, user: User | int) -> Member | None:
        """The member for ``user``, or ``None`` when the user is not in this guild."""
        return self.members.get(user if isinstance(user, int) else user.id)

    def create_role(
        self,
        name: str,
        permissions: PermissionsLike = 0,
        *,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> Role:
        """Add a role above the existing ones."""
        role = Role(
            id=self.world.snowflakes.next(),
            guild=self,
            name=name,
            permissions=permission_value(permissions),
            position=len(self.roles),
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )
        self.roles.append(role)
        self.world.announce("GUILD_ROLE_CREATE", self, role)
        return role

    def create_channel(
        self,
        name: str,
        type: ChannelType = ChannelType.TEXT,
        *,
        topic: str | None = None,
        nsfw: bool = False,
        category: Channel | None = None,
    ) -> Channel:
        """Add a channel (text by default) to the guild."""
        channel = Channel(
            id=self.world.snowflakes.next(),
            name=name,
            type=type,
            guild=self,
            position=len(self.channels),
            topic=topic,
            nsfw=nsfw,
            parent_id=category.id if category else None,
        )
        self.channels.append(channel)
        self.world.channels[channel.id] = channel
        self.world.announce("CHANNEL_CREATE", self, channel)
        return channel

    def add_member(
        self, user: User, roles: Iterable[Role] = (), *, nick: str | None = None
    ) -> Member:
        """Make ``user`` a member with ``roles`` (replacing an existing membership's roles)."""
        member = Member(user=user, guild=self, roles=list(roles), nick=nick)
        for role in member.roles:
            if role.guild is not self:
                raise ValueError(f"role {role.name!r} belongs to another guild")
        existed = user.id in self.members
        self.members[user.id] = member
        self.world.announce("GUILD_MEMBER_UPDATE" if existed else "GUILD_MEMBER_ADD", self, member)
        return member

    def payload(self, *, for_user: User | None = None) -> Json:
        """The full guild object as sent in ``GUILD_CREATE``."""
        me = self.members.get(for_user.id) if for_user else None
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner.id) if self.owner else None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "preferred_locale": "en-US",
            "features": [],
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "roles": [r.payload() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload() for c in self.channels],
            "threads": [],
            "members": [m.payload() for m in self.members.values()],
            "member_count": len(self.members),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "large": False,
            "unavailable": False,
            "lazy": True,
            "joined_at": me.joined_at if me else iso_timestamp(),
        }


class MembershipState(IntEnum):
    """A team member's ``membership_state``: invited (not yet accepted) or accepted."""

    INVITED = 1
    ACCEPTED = 2


#: The roles a team member can have on Discord's developer portal.
TEAM_ROLES = ("admin", "developer", "read_only")


@dataclass(eq=False)
class Team:
    """A developer team: its owner and members, each with a role and a membership state.

    Members added without a role are accepted admins. Change the team at any time, also
    while a bot runs: the bot sees it the next time it asks for the application's info.
    """

    id: int
    name: str
    owner: User
    members: list[User]
    roles: dict[int, str] = field(default_factory=dict)
    states: dict[int, MembershipState] = field(default_factory=dict)

    def role(self, user: User) -> str:
        """The member's role: ``"admin"``, ``"developer"`` or ``"read_only"``."""
        self._known(user)
        return self.roles.get(user.id, "admin")

    def membership_state(self, user: User) -> MembershipState:
        """Whether the member accepted the invitation."""
        self._known(user)
        return self.states.get(user.id, MembershipState.ACCEPTED)

    def add_member(self, user: User, *, role: str = "admin", invited: bool = False) -> None:
        """Add ``user`` with ``role``; ``invited=True``: invited, not yet accepted."""
        if any(m.id == user.id for m in self.members):
            raise ValueError(f"{user.name} is in the team already")
        _check_role(role)
        self.members.append(user)
        self.roles[user.id] = role
        self.states[user.id] = MembershipState.INVITED if invited else MembershipState.ACCEPTED

    def remove_member(self, user: User) -> None:
        """Take ``user`` off the team (the team's owner cannot leave it)."""
        self._known(user)
        if user.id == self.owner.id:
            raise ValueError("the team's owner cannot be removed from the team")
        self.members = [m for m in self.members if m.id != user.id]
        self.roles.pop(user.id, None)
        self.states.pop(user.id, None)

    def set_role(self, user: User, role: str) -> None:
        """Give the member another role."""
        self._known(user)
        _check_role(role)
        self.roles[user.id] = role

    def accept(self, user: User) -> None:
        """The invited member accepts the invitation."""
        self._known(user)
        self.states[user.id] = MembershipState.ACCEPTED

    def _known(self, user: User) -> None:
        if not any(m.id == user.id for m in self.members):
            raise ValueError(f"{user.name} is not in the team")

    def payload(self) -> Json:
        """The team object JSON."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_user_id": str(self.owner.id),
            "members": [
                {
                    "membership_state": int(self.membership_state(user)),
                    "permissions": ["*"],
                    "role": self.role(user),
                    "team_id": str(self.id),
                    "user": user.payload(),
                }
                for user in self.members
            ],
        }


def _check_role(role: str) -> None:
    if role not in TEAM_ROLES:
        raise ValueError(f"a team role is one of {', '.join(TEAM_ROLES)}, not {role!r}")


@dataclass(eq=False)
class Application:
    """The bot's application: its id, bot user and owner (a user or a team)."""

    id: int
    name: str
    bot: User
    owner: User
    team: Team | None = None
    verify_key: str = field(default_factory=lambda: secrets.token_hex(32))
    #: While true, ``GET /oauth2/applications/@me`` answers 503 (Discord is having trouble).
    unavailable: bool = False

    @property
    def owner_ids(self) -> set[int]:
        """Ids of the users nextcord's ``is_owner`` treats as owners (every team member,
        whatever their role or state; the admin cog applies a stricter rule)."""
        if self.team is not None:
            return {u.id for u in self.team.members}
        return {self.owner.id}

    def payload(self) -> Json:
        """``GET /oauth2/applications/@me``."""
        if self.team is not None:
            # Discord reports a team-owned application's owner as a pseudo-user for the team.
            owner: Json = User(id=self.team.id, name=f"team{self.team.id}").payload()
            owner["flags"] = 1024
        else:
            owner = self.owner.payload()
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "terms_of_service_url": None,
            "privacy_policy_url": None,
            "verify_key": self.verify_key,
            "flags": 0,
            "tags": [],
            "owner": owner,
            "team": self.team.payload() if self.team else None,
            "bot": self.bot.payload(),
            "install_params": None,
            "integration_types_config": {"0": {}},
        }
