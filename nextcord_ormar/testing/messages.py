"""Messages: reading request bodies (JSON or multipart), enforcing limits, recording, rendering."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from .errors import (
    DiscordAPIError,
    empty_message,
    invalid_form_body,
    merge_errors,
    nest_error,
)
from .models import Channel, User, iso_timestamp

__all__ = [
    "MESSAGE_FLAG_EPHEMERAL",
    "MESSAGE_FLAG_LOADING",
    "Limits",
    "RecordedFile",
    "RecordedMessage",
    "read_body",
]

Json = dict[str, Any]

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7


@dataclass
class Limits:
    """Discord's size limits, enforced on every message the bot sends (400, code 50035)."""

    content: int = 2000
    embeds: int = 10
    files: int = 10
    choices: int = 25
    embed_title: int = 256
    embed_description: int = 4096
    embed_fields: int = 25
    embed_field_name: int = 256
    embed_field_value: int = 1024
    embed_footer: int = 2048
    embed_author: int = 256
    embed_total: int = 6000
    #: Total upload size per request; larger uploads get 413, code 40005.
    upload_bytes: int = 10 * 1024 * 1024


@dataclass
class RecordedFile:
    """A file the bot uploaded: its name and bytes."""

    filename: str
    data: bytes
    id: int = 0
    content_type: str | None = None
    description: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def text(self, encoding: str = "utf-8") -> str:
        """The file's content decoded as text."""
        return self.data.decode(encoding)


@dataclass
class UploadedFile:
    """A ``files[n]`` part of a multipart request, before it gets an attachment id."""

    index: int
    filename: str
    data: bytes
    content_type: str | None


async def read_body(request: web.Request) -> tuple[Json, list[UploadedFile]]:
    """Read a JSON body, or a multipart body with a ``payload_json`` part and ``files[n]``."""
    if request.content_type.startswith("multipart/"):
        payload: Json = {}
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):  # nested multipart: not used by Discord
                continue
            name = part.name or ""
            raw = await part.read(decode=False)
            if name == "payload_json":
                payload = json.loads(bytes(raw).decode("utf-8"))
            elif name.startswith("files[") or name.startswith("file"):
                index_text = name[6:-1] if name.startswith("files[") else str(len(files))
                files.append(
                    UploadedFile(
                        index=int(index_text) if index_text.isdigit() else len(files),
                        filename=part.filename or f"file{len(files)}",
                        data=bytes(raw),
                        content_type=part.headers.get("Content-Type"),
                    )
                )
            else:
                # Plain form fields are sent by some clients instead of payload_json.
                payload[name] = bytes(raw).decode("utf-8")
        return payload, files
    if not request.can_read_body:
        return {}, []
    text = await request.text()
    if not text:
        return {}, []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from exc
    if not isinstance(data, dict):
        raise invalid_form_body(nest_error("_root", "DICT_TYPE_CONVERT", "Only dictionaries."))
    return data, []


def _embed_errors(embeds: list[Json], limits: Limits, prefix: str) -> Json:
    errors: Json = {}

    def too_long(path: str, limit: int) -> None:
        merge_errors(
            errors,
            nest_error(
                f"{prefix}.{path}",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {limit} or fewer in length.",
            ),
        )

    for index, embed in enumerate(embeds):
        total = 0
        for key, limit in (
            ("title", limits.embed_title),
            ("description", limits.embed_description),
        ):
            value = embed.get(key) or ""
            total += len(value)
            if len(value) > limit:
                too_long(f"{index}.{key}", limit)
        fields = embed.get("fields") or []
        if len(fields) > limits.embed_fields:
            too_long(f"{index}.fields", limits.embed_fields)
        for findex, embed_field in enumerate(fields):
            name, value = embed_field.get("name") or "", embed_field.get("value") or ""
            total += len(name) + len(value)
            if len(name) > limits.embed_field_name:
                too_long(f"{index}.fields.{findex}.name", limits.embed_field_name)
            if len(value) > limits.embed_field_value:
                too_long(f"{index}.fields.{findex}.value", limits.embed_field_value)
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
        if len(footer) > limits.embed_footer:
            too_long(f"{index}.footer.text", limits.embed_footer)
        if len(author) > limits.embed_author:
            too_long(f"{index}.author.name", limits.embed_author)
        if total > limits.embed_total:
            merge_errors(
                errors,
                nest_error(
                    f"{prefix}.{index}",
                    "MAX_EMBED_SIZE_EXCEEDED",
                    f"Embed size exceeds maximum size of {limits.embed_total}",
                ),
            )
    return errors


def check_message(
    data: Json,
    files: list[UploadedFile],
    limits: Limits,
    *,
    prefix: str = "",
    creating: bool = True,
) -> None:
    """Raise Discord's 400/413 for a message body that breaks a limit or is empty."""
    where = f"{prefix}." if prefix else ""
    errors: Json = {}
    content = data.get("content")
    if content is not None and len(str(content)) > limits.content:
        merge_errors(
            errors,
            nest_error(
                f"{where}content",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {limits.content} or fewer in length.",
            ),
        )
    embeds = data.get("embeds") or []
    if len(embeds) > limits.embeds:
        merge_errors(
            errors,
            nest_error(
                f"{where}embeds",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {limits.embeds} or fewer in length.",
            ),
        )
    merge_errors(errors, _embed_errors(embeds, limits, f"{where}embeds"))
    if len(files) > limits.files:
        merge_errors(
            errors,
            nest_error(
                f"{where}attachments",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {limits.files} or fewer in length.",
            ),
        )
    if errors:
        raise invalid_form_body(errors)
    if sum(len(f.data) for f in files) > limits.upload_bytes:
        raise DiscordAPIError(413, 40005, "Request entity too large")
    if creating and not (
        content or embeds or files or data.get("components") or data.get("sticker_ids")
    ):
        raise empty_message()


def check_choices(data: Json, limits: Limits) -> None:
    """Raise 400 when an autocomplete answer offers more than 25 choices."""
    choices = data.get("choices") or []
    if len(choices) > limits.choices:
        raise invalid_form_body(
            nest_error(
                "data.choices",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {limits.choices} or fewer in length.",
            )
        )


@dataclass(eq=False)
class RecordedMessage:
    """A message as the local Discord holds it (current state after edits).

    ``interaction_id`` is set for interaction replies (initial response or followup);
    ``created_at`` and ``edited_at`` are ``time.monotonic()`` arrival times.
    """

    id: int
    channel: Channel
    author: User
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    files: list[RecordedFile] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    flags: int = 0
    interaction_id: int | None = None
    interaction_name: str | None = None
    interaction_user: User | None = None
    webhook_id: int | None = None
    tts: bool = False
    #: the ``allowed_mentions`` the message was sent with (``None``: Discord's default, all)
    allowed_mentions: Json | None = None
    created_at: float = field(default_factory=time.monotonic)
    timestamp: str = field(default_factory=iso_timestamp)
    edited_at: float | None = None
    edited_timestamp: str | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees this message."""
        return bool(self.flags & MESSAGE_FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Whether this is a deferred reply still showing "thinking..."."""
        return bool(self.flags & MESSAGE_FLAG_LOADING)

    def buttons(self) -> list[Json]:
        """Every button (type 2) in the message's components, in order."""
        return [c for c in self.iter_components() if c.get("type") == 2]

    def iter_components(self) -> list[Json]:
        """Every component, rows and nested ones included, depth first."""
        found: list[Json] = []

        def walk(items: list[Json]) -> None:
            for item in items:
                found.append(item)
                walk(item.get("components") or [])
                accessory = item.get("accessory")
                if isinstance(accessory, dict):
                    found.append(accessory)

        walk(self.components)
        return found

    def find_component(self, *, custom_id: str | None = None, label: str | None = None) -> Json:
        """The component with this ``custom_id`` or ``label``; ``LookupError`` when absent."""
        if custom_id is None and label is None:
            raise ValueError("give custom_id or label")
        for component in self.iter_components():
            if custom_id is not None and component.get("custom_id") == custom_id:
                return component
            if label is not None and component.get("label") == label:
                return component
        wanted = f"custom_id={custom_id!r}" if custom_id is not None else f"label={label!r}"
        present = [
            (c.get("label"), c.get("custom_id"))
            for c in self.iter_components()
            if c.get("type") != 1
        ]
        raise LookupError(f"message {self.id} has no component with {wanted}; it has {present}")

    def apply(
        self, data: Json, new_files: list[RecordedFile], *, replace_files: bool = False
    ) -> None:
        """Apply an edit (``PATCH``-style: only the keys present change)."""
        self.flags &= ~MESSAGE_FLAG_LOADING  # any edit ends "thinking..."
        if "content" in data:
            self.content = data["content"] or ""
        if "embeds" in data:
            self.embeds = list(data["embeds"] or [])
        if "components" in data:
            self.components = list(data["components"] or [])
        if "flags" in data and data["flags"] is not None:
            keep = self.flags & MESSAGE_FLAG_EPHEMERAL
            self.flags = (int(data["flags"]) & ~MESSAGE_FLAG_LOADING) | keep
        if "attachments" in data or replace_files:
            kept_ids = {
                int(a["id"])
                for a in data.get("attachments") or []
                if isinstance(a, dict) and "id" in a
            }
            self.files = [f for f in self.files if f.id in kept_ids]
        self.files.extend(new_files)

    def payload(self, base_url: str) -> Json:
        """The message object JSON; attachment URLs point at the local CDN under ``base_url``."""
        guild = self.channel.guild
        data: Json = {
            "id": str(self.id),
            "channel_id": str(self.channel.id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": self.tts,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": [
                {
                    "id": str(f.id),
                    "filename": f.filename,
                    "description": f.description,
                    "content_type": f.content_type,
                    "size": f.size,
                    "url": f"{base_url}/attachments/{self.channel.id}/{f.id}/{f.filename}",
                    "proxy_url": f"{base_url}/attachments/{self.channel.id}/{f.id}/{f.filename}",
                }
                for f in self.files
            ],
            "embeds": self.embeds,
            "reactions": [],
            "pinned": False,
            "type": 20 if self.interaction_name else 0,
            "flags": self.flags,
            "components": self.components,
        }
        if guild is not None:
            data["guild_id"] = str(guild.id)
            member = guild.get_member(self.author)
            if member is not None:
                data["member"] = member.payload(with_user=False)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.interaction_id is not None and self.interaction_user is not None:
            data["interaction"] = {
                "id": str(self.interaction_id),
                "type": 2 if self.interaction_name else 3,
                "name": self.interaction_name or "",
                "user": self.interaction_user.payload(),
            }
        return data
