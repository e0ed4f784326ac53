"""Discord-style API errors, raised inside route handlers and rendered as Discord's JSON."""

from __future__ import annotations

from typing import Any

__all__ = [
    "DiscordAPIError",
    "already_acknowledged",
    "empty_message",
    "invalid_form_body",
    "invalid_webhook_token",
    "unknown_interaction",
    "unknown_message",
    "unknown_webhook",
]

Json = dict[str, Any]


class DiscordAPIError(Exception):
    """An error answer: HTTP ``status`` with ``{"code": ..., "message": ..., "errors": ...}``."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> Json:
        """The JSON body Discord sends with this error."""
        data: Json = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


def nest_error(path: str, code: str, message: str) -> Json:
    """Discord's nested ``errors`` object for a dotted field path, e.g. ``data.choices``."""
    node: Json = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        node = {part: node}
    return node


def merge_errors(target: Json, extra: Json) -> Json:
    """Merge two nested ``errors`` objects in place and return ``target``."""
    for key, value in extra.items():
        if key == "_errors":
            target.setdefault("_errors", []).extend(value)
        elif key in target and isinstance(target[key], dict) and isinstance(value, dict):
            merge_errors(target[key], value)
        else:
            target[key] = value
    return target


def invalid_form_body(errors: Json) -> DiscordAPIError:
    """400, code 50035: one or more fields broke Discord's limits."""
    return DiscordAPIError(400, 50035, "Invalid Form Body", errors)


def unknown_interaction() -> DiscordAPIError:
    """404, code 10062: the interaction was not acknowledged in time, or never existed."""
    return DiscordAPIError(404, 10062, "Unknown interaction")


def already_acknowledged() -> DiscordAPIError:
    """400, code 40060: the interaction already has an initial response."""
    return DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")


def unknown_webhook() -> DiscordAPIError:
    """404, code 10015: no such webhook (or the interaction was never acknowledged)."""
    return DiscordAPIError(404, 10015, "Unknown Webhook")


def invalid_webhook_token() -> DiscordAPIError:
    """401, code 50027: the interaction token expired (15 minutes) or is wrong."""
    return DiscordAPIError(401, 50027, "Invalid Webhook Token")


def unknown_message() -> DiscordAPIError:
    """404, code 10008."""
    return DiscordAPIError(404, 10008, "Unknown Message")


def empty_message() -> DiscordAPIError:
    """400, code 50006: no content, embeds, files or components."""
    return DiscordAPIError(400, 50006, "Cannot send an empty message")
