"""Revision ids, file names and messages: readable, safe, never colliding."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ..errors import InvalidMessageError

__all__ = ["MAX_MESSAGE_LENGTH", "MAX_SLUG_LENGTH", "clean_message", "next_revision_id", "slugify"]

#: The longest slug in a migration file name.
MAX_SLUG_LENGTH = 40
#: The longest message a migration may carry (it becomes the script's docstring).
MAX_MESSAGE_LENGTH = 500

_ID_RE = re.compile(r"^(\d+)_")
#: Alembic's own ids (nextcord-ormar 0.3 used them) are 12 hex digits, sometimes all
#: decimal ones; numbers that long are not ours and must not set the next id.
_HASH_ID_LENGTH = 12


def slugify(text: str, limit: int = MAX_SLUG_LENGTH) -> str:
    """ASCII ``[a-z0-9_]`` words from ``text``, at most ``limit`` characters; may be empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if len(slug) > limit:
        cut = slug[:limit]
        # end at a word boundary when one is reasonably close
        if "_" in cut[limit // 2 :]:
            cut = cut[: cut.rindex("_")]
        slug = cut.strip("_")
    return slug


def clean_message(message: str | None) -> str | None:
    """The message as it goes into the script: one line, no control characters, docstring-safe.

    Characters UTF-8 cannot encode (lone surrogates) become ``?``.

    ``None`` or a message with nothing printable gives ``None`` (a name is then derived
    from the operations). Messages longer than :data:`MAX_MESSAGE_LENGTH` are refused.
    """
    if message is None:
        return None
    if len(message) > MAX_MESSAGE_LENGTH:
        raise InvalidMessageError(
            f"the message is {len(message)} characters long; at most {MAX_MESSAGE_LENGTH} are "
            "allowed (it becomes the migration's docstring)"
        )
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in message
    )
    # Lone surrogates (undecodable bytes from the command line) cannot be written to a file.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = " ".join(text.split())
    # The message is written into a triple-quoted docstring.
    text = text.replace("\\", "/").replace('"""', "'''")
    if text.endswith('"'):
        text += " "
    return text or None


def existing_ids(folder: Path) -> list[int]:
    """Numeric prefixes of the ``.py`` files already in a versions folder."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _ID_RE.match(path.name)
        if match and path.suffix == ".py" and len(match.group(1)) < _HASH_ID_LENGTH:
            found.append(int(match.group(1)))
    return found


def next_revision_id(folder: Path, known_revisions: set[str]) -> str:
    """The next sequential id (``0001``, ``0002``...) not used by any file or revision.

    Alembic's hash ids (a history begun with nextcord-ormar 0.3) do not count: the first
    id of ours after them is ``0001``.
    """
    numbers = existing_ids(folder) + [
        int(r) for r in known_revisions if r.isdigit() and len(r) < _HASH_ID_LENGTH
    ]
    candidate = max(numbers, default=0) + 1
    while f"{candidate:04d}" in known_revisions:
        candidate += 1
    return f"{candidate:04d}"
