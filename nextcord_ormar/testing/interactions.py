"""Interactions built the way a user triggers them: slash commands with typed options,
autocomplete, component clicks and modal submits (the bot's answers are in ``responses``)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .commands import OptionType
from .handles import InteractionHandle
from .messages import Limits, RecordedFile, RecordedMessage
from .models import Channel, ChannelType, Guild, Member, Role, User

if TYPE_CHECKING:
    from .cdn import Cdn
    from .commands import CommandStore
    from .server import Clock
    from .world import World

__all__ = ["CommandNotAvailable", "Interactions"]

Json = dict[str, Any]

_INTERACTION_COMMAND = 2
_INTERACTION_COMPONENT = 3
_INTERACTION_AUTOCOMPLETE = 4
_INTERACTION_MODAL = 5


class CommandNotAvailable(LookupError):
    """The user could not invoke this command: not registered, hidden by permissions, or no DMs."""


class Interactions:
    """Creates interactions and their handles; ``handles``/``by_token`` find them again.

    Users, guilds and the bot come from ``world``, commands from ``commands``; attachments
    given as options go to ``cdn``; ``clock`` dates each interaction and ``limits()`` (read
    when an interaction is made) gives the upload size it announces.
    """

    def __init__(
        self,
        world: World,
        commands: CommandStore,
        cdn: Cdn,
        clock: Clock,
        limits: Callable[[], Limits],
    ) -> None:
        self._world = world
        self._commands = commands
        self._cdn = cdn
        self._clock = clock
        self._limits = limits
        self.handles: dict[int, InteractionHandle] = {}
        self.by_token: dict[str, InteractionHandle] = {}

    # -- building ------------------------------------------------------------------------

    def _convert(
        self, option: Json, value: Any, resolved: Json, guild: Guild | None, channel: Channel
    ) -> Any:
        kind = int(option["type"])
        name = option["name"]
        if kind == OptionType.STRING:
            return str(value)
        if kind == OptionType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"option {name!r} takes an integer, not {value!r}")
            return value
        if kind == OptionType.NUMBER:
            return float(value)
        if kind == OptionType.BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError(f"option {name!r} takes a bool, not {value!r}")
            return value
        if kind in (OptionType.USER, OptionType.MENTIONABLE) and isinstance(value, User | Member):
            user = value.user if isinstance(value, Member) else value
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            member = guild.get_member(user) if guild else None
            if member is not None:
                resolved.setdefault("members", {})[str(user.id)] = member.payload(
                    with_user=False, with_permissions=True
                )
            return str(user.id)
        if kind in (OptionType.ROLE, OptionType.MENTIONABLE) and isinstance(value, Role):
            resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return str(value.id)
        if kind == OptionType.CHANNEL and isinstance(value, Channel):
            data = value.payload() | {"permissions": str(self._permissions_in(value, guild))}
            resolved.setdefault("channels", {})[str(value.id)] = data
            return str(value.id)
        if kind == OptionType.ATTACHMENT and isinstance(value, RecordedFile):
            stored = self._cdn.add(
                value.filename, value.data, value.content_type, value.description
            )
            url = f"{self._cdn.base_url}/attachments/{channel.id}/{stored.id}/{value.filename}"
            resolved.setdefault("attachments", {})[str(stored.id)] = {
                "id": str(stored.id),
                "filename": value.filename,
                "size": len(value.data),
                "url": url,
                "proxy_url": url,
                "content_type": value.content_type or "application/octet-stream",
            }
            return str(stored.id)
        raise TypeError(f"option {name!r} (type {kind}) cannot take {value!r}")

    def _permissions_in(self, channel: Channel, guild: Guild | None) -> int:
        member = guild.get_member(self._world.bot) if guild else None
        return member.permissions if member else 0

    def _options(
        self,
        definitions: list[Json],
        given: Mapping[str, Any],
        *,
        focused: str | None,
        resolved: Json,
        guild: Guild | None,
        channel: Channel,
        where: str,
    ) -> list[Json]:
        by_name = {o["name"]: o for o in definitions}
        unknown = set(given) - set(by_name)
        if unknown:
            raise ValueError(
                f"{where} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}"
            )
        result = []
        for name, value in given.items():
            option = by_name[name]
            if name == focused:
                if not option.get("autocomplete"):
                    raise ValueError(f"option {name!r} of {where} has no autocomplete")
                result.append(
                    {"name": name, "type": option["type"], "value": value, "focused": True}
                )
                continue
            converted = self._convert(option, value, resolved, guild, channel)
            choices = option.get("choices")
            allowed = [c["value"] for c in choices or []]
            if choices and converted not in allowed:
                raise ValueError(f"{converted!r} is not a choice of option {name!r}: {allowed}")
            result.append({"name": name, "type": option["type"], "value": converted})
        if focused is None:
            missing = [
                o["name"] for o in definitions if o.get("required") and o["name"] not in given
            ]
            if missing:
                raise ValueError(f"{where} needs option(s) {missing}")
        elif focused not in given:
            raise ValueError(f"the focused option {focused!r} needs a value in options")
        return result

    def _command_data(
        self,
        command: Json,
        path: list[str],
        given: Mapping[str, Any],
        *,
        focused: str | None,
        guild: Guild | None,
        channel: Channel,
    ) -> Json:
        resolved: Json = {}
        where = command["name"]
        definitions: list[Json] = command.get("options") or []
        chain: list[Json] = []
        for part in path:
            match = next(
                (
                    o
                    for o in definitions
                    if o["name"] == part
                    and o["type"] in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
                ),
                None,
            )
            if match is None:
                subs = [o["name"] for o in definitions if o["type"] in (1, 2)]
                raise ValueError(f"/{where} has no subcommand {part!r}; it has {subs}")
            chain.append(match)
            where = f"{where} {part}"
            definitions = match.get("options") or []
        subs = [o["name"] for o in definitions if o["type"] in (1, 2)]
        if subs:
            raise ValueError(f"/{where} needs a subcommand: one of {subs}")
        options = self._options(
            definitions,
            given,
            focused=focused,
            resolved=resolved,
            guild=guild,
            channel=channel,
            where=f"/{where}",
        )
        for link in reversed(chain):
            options = [{"name": link["name"], "type": link["type"], "options": options}]
        data: Json = {
            "id": command["id"],
            "name": command["name"],
            "type": command["type"],
            "options": options,
        }
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    def find_command(
        self, user: User, channel: Channel, name: str, *, check_permissions: bool
    ) -> Json:
        """The command ``user`` reaches by typing ``/name`` in ``channel``."""
        guild = channel.guild
        command = self._commands.resolve(name, guild.id if guild else None)
        if command is None:
            registered = [c["name"] for c in self._commands.all()]
            raise CommandNotAvailable(f"no command /{name} is registered; registered: {registered}")
        if not check_permissions:
            return command
        if guild is None:
            if user not in channel.recipients:
                raise CommandNotAvailable(f"{user.name} is not in this DM")
            contexts = command.get("contexts")
            in_dm = 1 in contexts if contexts is not None else command.get("dm_permission", True)
            if not in_dm or command.get("guild_id"):
                raise CommandNotAvailable(f"/{name} cannot be used in DMs")
        else:
            member = guild.get_member(user)
            if member is None:
                raise CommandNotAvailable(f"{user.name} is not a member of {guild.name}")
            needed = command.get("default_member_permissions")
            if needed is not None and not member.has_permissions(int(needed)):
                raise CommandNotAvailable(
                    f"/{name} needs permissions {needed} (default_member_permissions), "
                    f"which {user.name} lacks"
                )
            contexts = command.get("contexts")
            if contexts is not None and 0 not in contexts:
                raise CommandNotAvailable(f"/{name} cannot be used in guilds")
        return command

    def create(
        self,
        type: int,
        user: User,
        channel: Channel,
        data: Json,
        *,
        name: str,
        message: RecordedMessage | None = None,
    ) -> InteractionHandle:
        """Make an interaction payload and its handle (not yet dispatched)."""
        world = self._world
        guild = channel.guild
        interaction_id = world.snowflakes.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(world.application.id),
            "type": type,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": self._limits().upload_bytes,
        }
        if guild is not None:
            member = guild.get_member(user)
            if member is None:
                raise CommandNotAvailable(f"{user.name} is not a member of {guild.name}")
            bot_member = guild.get_member(world.bot)
            payload["guild_id"] = str(guild.id)
            payload["guild_locale"] = "en-US"
            payload["guild"] = {"id": str(guild.id), "locale": "en-US", "features": []}
            payload["member"] = member.payload(with_permissions=True)
            payload["app_permissions"] = str(bot_member.permissions if bot_member else 0)
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        else:
            payload["user"] = user.payload()
            payload["app_permissions"] = "0"
            payload["authorizing_integration_owners"] = {"0": str(user.id)}
            payload["context"] = 1
        if message is not None:
            payload["message"] = message.payload(self._cdn.base_url)
        handle = InteractionHandle(
            id=interaction_id,
            token=token,
            type=type,
            name=name,
            user=user,
            channel=channel,
            payload=payload,
            created_at=time.monotonic(),
            clock_created_at=self._clock.now(),
            source_message=message,
        )
        self.handles[interaction_id] = handle
        self.by_token[token] = handle
        return handle

    def command_interaction(
        self,
        user: User,
        channel: Channel,
        command_line: str,
        options: Mapping[str, Any],
        *,
        focused: str | None = None,
        check_permissions: bool = True,
    ) -> InteractionHandle:
        """Build a slash-command (or, with ``focused``, an autocomplete) interaction."""
        name, *path = command_line.strip().lstrip("/").split()
        command = self.find_command(user, channel, name, check_permissions=check_permissions)
        data = self._command_data(
            command, path, options, focused=focused, guild=channel.guild, channel=channel
        )
        kind = _INTERACTION_AUTOCOMPLETE if focused else _INTERACTION_COMMAND
        return self.create(kind, user, channel, data, name=" ".join([name, *path]))

    def component_interaction(
        self,
        user: User,
        message: RecordedMessage,
        *,
        custom_id: str | None,
        label: str | None,
        values: list[str] | None,
    ) -> InteractionHandle:
        """Build the interaction for clicking a button or choosing from a select menu."""
        if message.deleted:
            raise ValueError(f"message {message.id} was deleted")
        if message.ephemeral and message.interaction_user is not user:
            raise ValueError("only the invoking user sees (and can click) an ephemeral message")
        component = message.find_component(custom_id=custom_id, label=label)
        if component.get("disabled"):
            raise ValueError(f"component {component.get('label') or custom_id!r} is disabled")
        if "custom_id" not in component:
            raise ValueError("link buttons have no custom_id and make no interaction")
        data: Json = {"custom_id": component["custom_id"], "component_type": component["type"]}
        if component["type"] == 2:
            if values is not None:
                raise ValueError("buttons take no values")
        else:
            data["values"] = list(values or [])
        channel = message.channel
        if channel.type is ChannelType.DM and user not in channel.recipients:
            raise ValueError(f"{user.name} cannot see this DM")
        name = str(component.get("label") or component["custom_id"])
        return self.create(_INTERACTION_COMPONENT, user, channel, data, name=name, message=message)

    def modal_interaction(
        self, user: User, handle: InteractionHandle, values: Mapping[str, str]
    ) -> InteractionHandle:
        """Build the interaction for submitting the modal the bot opened on ``handle``."""
        reply = next((r for r in handle.replies if r.kind == "modal"), None)
        if reply is None:
            raise ValueError(f"{handle!r} did not open a modal")
        modal = reply.data
        inputs: list[Json] = []
        for row in modal.get("components") or []:
            for item in [*(row.get("components") or []), row.get("component")]:
                if isinstance(item, dict) and item.get("type") == 4:
                    inputs.append(item)
        by_id = {str(i["custom_id"]): i for i in inputs}
        by_label = {str(i.get("label")): i for i in inputs if i.get("label")}
        answers: dict[str, str] = {}
        for key, value in values.items():
            item = by_id.get(key) or by_label.get(key)
            if item is None:
                raise ValueError(f"the modal has no text input {key!r}; it has {sorted(by_id)}")
            answers[str(item["custom_id"])] = str(value)
        missing = [
            cid for cid, i in by_id.items() if i.get("required", True) and cid not in answers
        ]
        if missing:
            raise ValueError(f"the modal needs values for {missing}")
        data: Json = {
            "custom_id": modal.get("custom_id"),
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 4, "custom_id": cid, "value": answers.get(cid, "")}],
                }
                for cid in by_id
            ],
        }
        title = str(modal.get("title") or modal.get("custom_id") or "modal")
        return self.create(
            _INTERACTION_MODAL,
            user,
            handle.channel,
            data,
            name=title,
            message=handle.source_message,
        )
