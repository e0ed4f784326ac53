"""Identifiers the library emits: one length limit, one way to shorten, one naming convention.

PostgreSQL cuts identifiers at 63 characters, MySQL and MariaDB refuse more than 64, SQLite
takes anything. With app prefixes the names ormar and SQLAlchemy make on their own
(``fk_<table>_<target>_<pk>_<field>``, ``uc_…``, ``ix_…``, ``pk_<table>``) easily pass that, so
every name on the apps' metadata is fitted to 63 characters here, the same way on every
database, run and machine: the name is cut and ends with a hash of the full name. A column
name cannot be shortened (models and queries use it), so a longer one is refused when the
model is defined. Enum types are named after their app, so that two cogs' ``Status`` enums
are two types on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.sql.elements import conv
from sqlalchemy.sql.naming import ConventionDict

from ..errors import AppNameError

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "NAMING_CONVENTION",
    "check_identifier",
    "fit_identifier",
    "metadata",
    "name_enum_types",
]

#: The shortest identifier limit of the supported databases (PostgreSQL: 63, MySQL: 64).
MAX_IDENTIFIER_LENGTH = 63

#: Names for constraints SQLAlchemy would otherwise leave anonymous; Alembic can only
#: compare and drop constraints that have names. A name longer than
#: :data:`MAX_IDENTIFIER_LENGTH` is shortened with :func:`fit_identifier`.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Marks the metadata whose tables this module watches (in ``MetaData.info``).
_WATCHED = "nextcord_ormar.identifiers"


def fit_identifier(name: str, limit: int = MAX_IDENTIFIER_LENGTH) -> str:
    """Shorten ``name`` to ``limit`` characters, keeping it unique with a short hash suffix."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('_')}_{digest}"


def check_identifier(what: str, name: str) -> str:
    """Return ``name`` if it fits every database, else raise :class:`AppNameError`.

    For names that cannot be shortened behind the model's back (tables named explicitly,
    columns): ``what`` says which, as in ``"column name"``.
    """
    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise AppNameError(
            f"{what} {name!r} is {len(name)} characters long, longer than "
            f"{MAX_IDENTIFIER_LENGTH}, the limit PostgreSQL sets (MariaDB: 64); "
            "shorten it (for a field, ormar's name= sets the column name)"
        )
    return name


def _fitted(template: str) -> Any:
    """A naming-convention token that fills ``template`` and fits the result."""

    def token(constraint: Any, table: sqlalchemy.Table) -> str:
        values = ConventionDict(constraint, table, NAMING_CONVENTION)  # type: ignore[no-untyped-call]
        return fit_identifier(template % values)

    return token


def _convention() -> dict[str, Any]:
    """:data:`NAMING_CONVENTION` with every template routed through :func:`fit_identifier`."""
    convention: dict[str, Any] = {}
    for key, template in NAMING_CONVENTION.items():
        convention[f"fitted_{key}"] = _fitted(template)
        convention[key] = f"%(fitted_{key})s"
    return convention


def watched_metadata() -> sqlalchemy.MetaData:
    """A metadata whose every identifier is fitted or checked (see the module's notes)."""
    watched = sqlalchemy.MetaData(naming_convention=_convention())
    watched.info[_WATCHED] = True
    return watched


def _watched(parent: object) -> bool:
    return isinstance(parent, sqlalchemy.Table) and bool(parent.metadata.info.get(_WATCHED))


@event.listens_for(sqlalchemy.Table, "after_parent_attach")
def _check_table(table: sqlalchemy.Table, parent: object) -> None:
    if isinstance(parent, sqlalchemy.MetaData) and parent.info.get(_WATCHED):
        check_identifier("table name", table.name)


@event.listens_for(sqlalchemy.Column, "after_parent_attach")
def _check_column(column: sqlalchemy.Column[Any], table: object) -> None:
    if _watched(table):
        check_identifier("column name", column.name)


@event.listens_for(sqlalchemy.Constraint, "after_parent_attach")
@event.listens_for(sqlalchemy.Index, "after_parent_attach")
def _fit_name(item: sqlalchemy.Constraint | sqlalchemy.Index, table: object) -> None:
    """Fit a name given before the table saw it (ormar names foreign keys and constraints)."""
    name = item.name
    if _watched(table) and isinstance(name, str) and len(name) > MAX_IDENTIFIER_LENGTH:
        fitted = fit_identifier(name)
        item.name = conv(fitted) if isinstance(name, conv) else fitted


def name_enum_types(table: sqlalchemy.Table, app_name: str) -> None:
    """Name the enum types of ``table``'s columns ``<app>_<enum class, lowercase>``, fitted.

    PostgreSQL keeps enum types beside tables, one namespace per schema: without the
    prefix, two cogs that each define ``class Status(enum.Enum)`` would share one type.
    """
    for column in table.columns:
        kind = column.type
        if isinstance(kind, sqlalchemy.Enum) and kind.enum_class is not None:
            kind.name = fit_identifier(f"{app_name}_{kind.enum_class.__name__.lower()}")


#: The metadata every app's tables live in.
metadata = watched_metadata()
