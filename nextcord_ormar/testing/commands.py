"""Application commands as Discord stores them, and the REST routes that sync them."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import DiscordAPIError, invalid_form_body, merge_errors, nest_error
from .http import json_response, parse_json
from .messages import read_body

if TYPE_CHECKING:
    from .models import Guild
    from .world import World

__all__ = ["CommandStore", "OptionType"]

Json = dict[str, Any]

_NAME = re.compile(r"^[-_\w]{1,32}$")


class OptionType:
    """Application command option types."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


def _check_options(options: list[Json], path: str, errors: Json) -> None:
    if len(options) > 25:
        merge_errors(
            errors, nest_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        )
    for index, option in enumerate(options):
        name = str(option.get("name", ""))
        if not _NAME.match(name) or name != name.lower():
            merge_errors(
                errors,
                nest_error(
                    f"{path}.{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid name"
                ),
            )
        if len(option.get("choices") or []) > 25:
            merge_errors(
                errors,
                nest_error(
                    f"{path}.{index}.choices",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                ),
            )
        _check_options(option.get("options") or [], f"{path}.{index}.options", errors)


def check_command(payload: Json) -> None:
    """Raise Discord's 400 for an invalid command name, description or option list."""
    errors: Json = {}
    name = str(payload.get("name", ""))
    kind = int(payload.get("type") or 1)
    if kind == 1 and (not _NAME.match(name) or name != name.lower()):
        merge_errors(errors, nest_error("name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid name"))
    elif not 1 <= len(name) <= 32:
        merge_errors(errors, nest_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32"))
    if kind == 1 and not 1 <= len(str(payload.get("description") or "")) <= 100:
        merge_errors(
            errors, nest_error("description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100")
        )
    _check_options(payload.get("options") or [], "options", errors)
    if errors:
        raise invalid_form_body(errors)


class CommandStore:
    """The application's registered commands: global ones and per guild, as stored JSON."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._global: dict[int, Json] = {}
        self._guilds: dict[int, dict[int, Json]] = {}

    def _bucket(self, guild_id: int | None) -> dict[int, Json]:
        if guild_id is None:
            return self._global
        return self._guilds.setdefault(guild_id, {})

    def global_commands(self) -> list[Json]:
        """Global commands, as ``GET /applications/{id}/commands`` returns them."""
        return [copy.deepcopy(c) for c in self._global.values()]

    def guild_commands(self, guild: Guild | int) -> list[Json]:
        """One guild's commands."""
        guild_id = guild if isinstance(guild, int) else guild.id
        return [copy.deepcopy(c) for c in self._guilds.get(guild_id, {}).values()]

    def all(self) -> list[Json]:
        """Global commands, then every guild's."""
        result = self.global_commands()
        for guild_id in self._guilds:
            result.extend(self.guild_commands(guild_id))
        return result

    def names(self, guild: Guild | int | None = None) -> list[str]:
        """Sorted names of the global commands, or of one guild's commands."""
        commands = self.global_commands() if guild is None else self.guild_commands(guild)
        return sorted(c["name"] for c in commands)

    def get(self, name: str, *, guild: Guild | int | None = None, type: int = 1) -> Json:
        """The stored command called ``name`` (global, or in ``guild``); ``LookupError`` if none."""
        guild_id = guild if isinstance(guild, int) or guild is None else guild.id
        for command in self._bucket(guild_id).values():
            if command["name"] == name and command["type"] == type:
                return copy.deepcopy(command)
        where = "globally" if guild_id is None else f"in guild {guild_id}"
        raise LookupError(
            f"no command {name!r} registered {where}; registered: {self.names(guild_id)}"
        )

    def resolve(self, name: str, guild_id: int | None, type: int = 1) -> Json | None:
        """The command a user invoking ``name`` in ``guild_id`` would reach (guild first)."""
        buckets = [self._guilds.get(guild_id, {})] if guild_id is not None else []
        buckets.append(self._global)
        for bucket in buckets:
            for command in bucket.values():
                if command["name"] == name and command["type"] == type:
                    return command
        return None

    def _store(self, payload: Json, guild_id: int | None, existing: Json | None) -> Json:
        check_command(payload)
        world = self._world
        stored = copy.deepcopy(payload)
        stored["type"] = int(stored.get("type") or 1)
        stored.setdefault("description", "")
        stored.setdefault("options", [])
        stored.setdefault("nsfw", False)
        permissions = stored.get("default_member_permissions")
        stored["default_member_permissions"] = None if permissions is None else str(permissions)
        if guild_id is None:
            if stored.get("contexts") is None:
                stored.setdefault("dm_permission", True)
            stored.setdefault("integration_types", [0])
        else:
            stored["guild_id"] = str(guild_id)
        stored["id"] = existing["id"] if existing else str(world.snowflakes.next())
        stored["application_id"] = str(world.application.id)
        stored["version"] = str(world.snowflakes.next())
        self._bucket(guild_id)[int(stored["id"])] = stored
        return stored

    def upsert(self, payload: Json, guild_id: int | None) -> tuple[Json, bool]:
        """Create, or overwrite the same-named command; returns ``(command, created)``."""
        bucket = self._bucket(guild_id)
        kind = int(payload.get("type") or 1)
        existing = next(
            (c for c in bucket.values() if c["name"] == payload.get("name") and c["type"] == kind),
            None,
        )
        return copy.deepcopy(self._store(payload, guild_id, existing)), existing is None

    def edit(self, command_id: int, payload: Json, guild_id: int | None) -> Json:
        """Apply a partial edit to a command."""
        bucket = self._bucket(guild_id)
        existing = bucket.get(command_id)
        if existing is None:
            raise DiscordAPIError(404, 10063, "Unknown application command")
        merged = {k: v for k, v in existing.items() if k not in ("id", "version")}
        merged.update(payload)
        return copy.deepcopy(self._store(merged, guild_id, existing))

    def delete(self, command_id: int, guild_id: int | None) -> None:
        """Delete a command."""
        if self._bucket(guild_id).pop(command_id, None) is None:
            raise DiscordAPIError(404, 10063, "Unknown application command")

    def overwrite(self, payloads: list[Json], guild_id: int | None) -> list[Json]:
        """Bulk overwrite: the given list becomes the whole set (ids kept by name)."""
        old = {(c["name"], c["type"]): c for c in self._bucket(guild_id).values()}
        for payload in payloads:
            check_command(payload)
        self._bucket(guild_id).clear()
        result = []
        for payload in payloads:
            existing = old.get((payload.get("name"), int(payload.get("type") or 1)))
            result.append(copy.deepcopy(self._store(payload, guild_id, existing)))
        return result

    # -- routes --------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        """Register the command routes under ``prefix``."""
        base = prefix + r"/applications/{app:\d+}"
        for scope in ("", r"/guilds/{guild:\d+}"):
            router.add_get(base + scope + "/commands", self._list)
            router.add_post(base + scope + "/commands", self._create)
            router.add_put(base + scope + "/commands", self._overwrite)
            router.add_get(base + scope + r"/commands/{command:\d+}", self._get_one)
            router.add_patch(base + scope + r"/commands/{command:\d+}", self._edit)
            router.add_delete(base + scope + r"/commands/{command:\d+}", self._delete)
        router.add_get(base + r"/guilds/{guild:\d+}/commands/permissions", self._permissions)
        router.add_get(
            base + r"/guilds/{guild:\d+}/commands/{command:\d+}/permissions", self._no_perms
        )

    def _scope(self, request: web.Request) -> int | None:
        if int(request.match_info["app"]) != self._world.application.id:
            raise DiscordAPIError(403, 50001, "Missing Access")
        guild = request.match_info.get("guild")
        if guild is None:
            return None
        if int(guild) not in self._world.guilds:
            raise DiscordAPIError(404, 10004, "Unknown Guild")
        return int(guild)

    async def _list(self, request: web.Request) -> web.Response:
        guild_id = self._scope(request)
        commands = self.global_commands() if guild_id is None else self.guild_commands(guild_id)
        return json_response(commands)

    async def _create(self, request: web.Request) -> web.Response:
        guild_id = self._scope(request)
        payload, _ = await read_body(request)
        command, created = self.upsert(payload, guild_id)
        return json_response(command, status=201 if created else 200)

    async def _overwrite(self, request: web.Request) -> web.Response:
        guild_id = self._scope(request)
        text = await request.text()
        payloads = parse_json(text or "[]")
        if not isinstance(payloads, list):
            raise invalid_form_body(nest_error("_root", "LIST_TYPE_CONVERT", "Only arrays."))
        return json_response(self.overwrite(payloads, guild_id))

    def _find(self, request: web.Request) -> tuple[int | None, int]:
        guild_id = self._scope(request)
        command_id = int(request.match_info["command"])
        if command_id not in self._bucket(guild_id):
            raise DiscordAPIError(404, 10063, "Unknown application command")
        return guild_id, command_id

    async def _get_one(self, request: web.Request) -> web.Response:
        guild_id, command_id = self._find(request)
        return json_response(copy.deepcopy(self._bucket(guild_id)[command_id]))

    async def _edit(self, request: web.Request) -> web.Response:
        guild_id, command_id = self._find(request)
        payload, _ = await read_body(request)
        return json_response(self.edit(command_id, payload, guild_id))

    async def _delete(self, request: web.Request) -> web.Response:
        guild_id, command_id = self._find(request)
        self.delete(command_id, guild_id)
        return web.Response(status=204)

    async def _permissions(self, request: web.Request) -> web.Response:
        self._scope(request)
        return json_response([])

    async def _no_perms(self, request: web.Request) -> web.Response:
        self._scope(request)
        raise DiscordAPIError(404, 10066, "Unknown application command permissions")
