"""Identifiers the library emits: one length limit, one way to shorten, one naming convention."""

from __future__ import annotations

import hashlib

import sqlalchemy

__all__ = ["MAX_IDENTIFIER_LENGTH", "NAMING_CONVENTION", "fit_identifier", "metadata"]

#: The shortest identifier limit of the supported databases (PostgreSQL: 63, MySQL: 64).
MAX_IDENTIFIER_LENGTH = 63

#: Names for constraints SQLAlchemy would otherwise leave anonymous; Alembic can only
#: compare and drop constraints that have names.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The metadata every app's tables live in.
metadata = sqlalchemy.MetaData(naming_convention=NAMING_CONVENTION)


def fit_identifier(name: str, limit: int = MAX_IDENTIFIER_LENGTH) -> str:
    """Shorten ``name`` to ``limit`` characters, keeping it unique with a short hash suffix."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('_')}_{digest}"
