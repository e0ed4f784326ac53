"""JSON in and out of the local Discord's routes, the way Discord's API answers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import DiscordAPIError

__all__ = ["json_response", "parse_json"]


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json``."""
    return web.Response(
        body=json.dumps(data).encode("utf-8"),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def parse_json(text: str) -> Any:
    """Parse a JSON request body; invalid JSON is Discord's 400 (code 50109)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from exc
