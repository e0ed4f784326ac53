"""Type and server-default comparison that knows how each database reports what it stores.

Alembic compares the model's column with the column it reflects. Some databases report a
value differently from how the model spells it, and Alembic then sees a difference that
is not there, after every upgrade, forever: MariaDB reflects ``server_default=true()`` as
``1``, ``func.now()`` as ``current_timestamp()``, and stores ``LargeBinary(100000)`` as a
``MEDIUMBLOB``. These hooks settle such cases as *equal*; anything they do not recognise
is left to Alembic's own comparison (they return ``None``), so real changes still show.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["compare_server_default", "compare_type", "normalise_default"]

# MySQL/MariaDB BLOB and TEXT families: the largest size each holds.
_BLOB_SIZES = (("TINYBLOB", 255), ("BLOB", 65535), ("MEDIUMBLOB", 16777215), ("LONGBLOB", None))
_TEXT_SIZES = (("TINYTEXT", 255), ("TEXT", 65535), ("MEDIUMTEXT", 16777215), ("LONGTEXT", None))

# Spellings of one default value, per dialect: reflected form → the model's rendered form.
_SAME_DEFAULTS = {
    "mysql": {
        "true": "1",
        "false": "0",
        "now()": "current_timestamp()",
        "current_timestamp": "current_timestamp()",
        "localtimestamp": "current_timestamp()",
        "localtimestamp()": "current_timestamp()",
    },
    "postgresql": {
        "current_timestamp": "now()",
        "current_timestamp()": "now()",
    },
    "sqlite": {
        "true": "1",
        "false": "0",
        "now()": "current_timestamp",
        "current_timestamp()": "current_timestamp",
    },
}


def compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic's ``compare_type`` hook: ``False`` when the types store the same thing,
    ``None`` to let Alembic compare."""
    dialect = context.dialect
    stored = _stored(metadata_type, dialect)
    if dialect.name == "mysql":
        family = _mysql_blob_family(stored)
        if family is not None:
            return type(inspected_type).__name__.upper() != family
    return None


def _stored(metadata_type: TypeEngine[Any], dialect: Any) -> TypeEngine[Any]:
    """The type a (possibly decorated) model type is kept as on ``dialect``."""
    stored: Any = metadata_type
    for _ in range(10):
        if not isinstance(stored, TypeDecorator):
            break
        stored = stored.load_dialect_impl(dialect)
    return stored  # type: ignore[no-any-return]


def _mysql_blob_family(stored: TypeEngine[Any]) -> str | None:
    """The MySQL type a sized ``LargeBinary``/``Text`` becomes (MySQL picks it by size)."""
    if isinstance(stored, sqlalchemy.LargeBinary) and type(stored).__name__ in (
        "LargeBinary",
        "BLOB",
        "_Binary",
    ):
        sizes = _BLOB_SIZES
    elif type(stored) in (sqlalchemy.Text, sqlalchemy.TEXT):
        sizes = _TEXT_SIZES
    else:
        return None
    length = getattr(stored, "length", None)
    if not length:
        return sizes[1][0]
    for name, limit in sizes:
        if limit is None or length <= limit:
            return name
    return None


def normalise_default(text: str | None, dialect_name: str) -> str | None:
    """A server default as text, in one spelling per value (see :data:`_SAME_DEFAULTS`)."""
    if text is None:
        return None
    value = text.strip()
    while len(value) > 1 and value[0] == "(" and value[-1] == ")" and _balanced(value[1:-1]):
        value = value[1:-1].strip()
    value = re.sub(r"::[a-z ]+(\([0-9, ]*\))?$", "", value, flags=re.IGNORECASE)
    if len(value) > 1 and value[0] == value[-1] == "'":
        value = value[1:-1].replace("''", "'")
        return "'" + value + "'"
    lowered = value.lower()
    lowered = _SAME_DEFAULTS.get(dialect_name, {}).get(lowered, lowered)
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", lowered):
        return "'" + lowered + "'"  # numbers come back quoted or not, depending on the type
    return lowered


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if depth < 0:
            return False
    return depth == 0


def compare_server_default(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's ``compare_server_default`` hook: ``False`` when both spell one value,
    ``None`` to let Alembic compare."""
    if inspected_default is None or rendered_metadata_default is None:
        return None
    dialect_name = context.dialect.name
    reflected = normalise_default(inspected_default, dialect_name)
    wanted = normalise_default(rendered_metadata_default, dialect_name)
    if reflected == wanted:
        return False
    return None
