"""App names: what a cog may call its app, so that the name can prefix its tables everywhere."""

from __future__ import annotations

import re

from ..errors import AppNameError

__all__ = ["MAX_APP_NAME_LENGTH", "validate_app_name"]

#: Longest app name: ``alembic_version_`` plus the name must stay within the limit.
MAX_APP_NAME_LENGTH = 40

# fullmatch, never match with ``$``: ``$`` also matches just before a trailing newline.
_APP_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


def validate_app_name(name: object) -> str:
    """Return ``name`` if it can be a table prefix on every supported database, else raise."""
    if not isinstance(name, str) or not name:
        raise AppNameError(f"an app name must be a non-empty string, got {name!r}")
    if len(name) > MAX_APP_NAME_LENGTH:
        raise AppNameError(
            f"app name {name!r} is {len(name)} characters long; the limit is "
            f"{MAX_APP_NAME_LENGTH} so that its tables and version table fit every database"
        )
    if not _APP_NAME_RE.fullmatch(name):
        hint = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
        suggestion = f" (for example {hint!r})" if hint and _APP_NAME_RE.fullmatch(hint) else ""
        raise AppNameError(
            f"app name {name!r} cannot become a table prefix: use lowercase letters, digits and "
            f"underscores, starting with a letter{suggestion}"
        )
    return name
