"""Two cogs whose apps have the longest allowed names (40 characters), and every kind of
identifier ormar and SQLAlchemy make on their own: a cross-app foreign key, a UniqueColumns,
an IndexColumns, ``index=True``, ``unique=True``, and many-to-manys within and across apps."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy

#: The app that is referenced (40 characters: the longest allowed app name).
DIRECTORY = "member_directory_of_a_very_big_guild_net"
#: The app that references it (40 characters too).
CASES = "moderation_case_records_of_the_big_guild"

DIRECTORY_MODELS = """
class GuildMember(AppModel):
    ormar_config = app.config()
    id: int = ormar.BigInteger(primary_key=True, autoincrement=False)
    display_name: str = ormar.String(max_length=100)
"""

CASES_MODELS = """
class CaseTag(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    label: str = ormar.String(max_length=30)


class ModerationCase(AppModel):
    ormar_config = app.config(
        constraints=[
            ormar.UniqueColumns("guild_identifier", "case_number"),
            ormar.IndexColumns("guild_identifier", "opened_by_moderator"),
        ]
    )
    id: int = ormar.Integer(primary_key=True)
    guild_identifier: int = ormar.BigInteger()
    case_number: int = ormar.Integer()
    opened_by_moderator: int = ormar.BigInteger(index=True)
    external_reference: str = ormar.String(max_length=40, unique=True)
    offending_member = ormar.ForeignKey(GuildMember, related_name="moderation_cases")
    tags = ormar.ManyToMany(CaseTag, related_name="cases")
    witnesses = ormar.ManyToMany(GuildMember, related_name="witnessed_cases")
"""

CASES_IMPORTS = f"from cogs.{DIRECTORY} import GuildMember"


def identifiers(tables: Iterable[sqlalchemy.Table]) -> list[tuple[str, str]]:
    """Every name the tables put in a database, as (what it names, the name), sorted."""
    found: list[tuple[str, str]] = []
    for table in tables:
        found.append(("table", table.name))
        found += [(f"column of {table.name}", str(column.name)) for column in table.columns]
        found += [(f"index of {table.name}", str(index.name)) for index in table.indexes]
        found += [
            (f"{type(constraint).__name__} of {table.name}", str(constraint.name))
            for constraint in table.constraints
        ]
    return sorted(found)


def too_long(tables: Iterable[sqlalchemy.Table], limit: int = 63) -> list[str]:
    """The identifiers of ``tables`` longer than ``limit`` characters (none is the goal)."""
    return [f"{what}: {name}" for what, name in identifiers(tables) if len(name) > limit]


def write_cogs(write: Callable[[str, str], object]) -> None:
    """Write both cogs (``cogs/<app>.py``) with a project's ``write(relative, source)``."""
    from tests.cli.project import cog_source

    write("cogs/__init__.py", "")
    write(f"cogs/{DIRECTORY}.py", cog_source(DIRECTORY, DIRECTORY_MODELS))
    write(f"cogs/{CASES}.py", cog_source(CASES, CASES_MODELS, imports=CASES_IMPORTS))
