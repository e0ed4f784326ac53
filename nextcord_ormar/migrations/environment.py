"""What the bundled ``env.py`` runs: Alembic configured for one app.

The engine puts an :class:`AppEnvironment` into ``Config.attributes``; this module reads it
and configures Alembic's context so that only the app's own tables are reflected
(``include_name``) and compared (``include_object``), in the app's own version table. While
``make`` compares, the database is asked only for the tables ``include_name`` accepts
(:mod:`.listing`), not for all of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from sqlalchemy.engine import Connection

from . import compare, enum_compare, operations, render
from .ledger import LEDGER_TABLE
from .listing import listing_only

__all__ = ["ATTRIBUTE", "AppEnvironment", "includes", "run_environment"]

#: The key of ``Config.attributes`` holding the :class:`AppEnvironment`.
ATTRIBUTE = "nextcord_ormar"


def includes(listed: frozenset[str], name: str | None, type_: str) -> bool:
    """The ``include_name`` rule over ``listed`` table names: a table is reflected only if
    listed; every name of another kind (columns, indexes, ...) is let through."""
    return type_ != "table" or name in listed


@dataclass
class AppEnvironment:
    """Everything ``env.py`` needs to run Alembic for one app."""

    app: str
    table_names: frozenset[str]
    metadata: sqlalchemy.MetaData
    version_table: str
    dialect_name: str
    connection: Connection | None = None
    on_version_apply: Callable[..., None] | None = None
    #: Tables the app's own scripts created whose models were removed: compared, so dropped.
    removed_tables: frozenset[str] = frozenset()
    #: A run that only reads (``make``): Alembic does not create the version table for it.
    #: Creating it and rolling it back would change the schema, and SQLite then drops the
    #: connection's parsed schema and parses the whole file again on its next statement.
    #: Its comparison lists only the tables :meth:`include_name` accepts (see .listing).
    read_only: bool = False

    def include_name(self, name: str | None, type_: str, parent_names: Any) -> bool:
        """Reflect only this app's tables: other apps' and unowned tables are never read.

        The engine's own ledger table is let through too (and then left out of the
        comparison by :meth:`include_object`): Alembic 1.20 reflects *every* table when the
        list of included tables is empty, as it is before an app's first migration.
        """
        return includes(self.listed_names(), name, type_)

    def listed_names(self) -> frozenset[str]:
        """Every table name :meth:`include_name` accepts (the one rule for both): all a
        comparison may list (see :mod:`.listing`)."""
        return self._listed

    @functools.cached_property
    def _listed(self) -> frozenset[str]:
        return self.table_names | self.removed_tables | {LEDGER_TABLE}

    def include_object(
        self, obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        """Compare only this app's tables of the shared metadata (and its removed tables)."""
        if type_ == "table":
            if reflected and compare_to is None and name in self.removed_tables:
                return True  # in the database only: the app's own table, its model removed
            return name in self.table_names
        table = getattr(obj, "table", None)
        if table is not None and getattr(table, "name", None) is not None:
            return table.name in self.table_names
        return True

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``context.configure`` shared by online and offline runs."""
        opts: dict[str, Any] = {
            "target_metadata": self.metadata,
            "version_table": self.version_table,
            "include_name": self.include_name,
            "include_object": self.include_object,
            # Our comparisons answer where Alembic's give false differences and defer to
            # Alembic's otherwise; our renderer writes types the script can import.
            "compare_type": compare.compare_type,
            "compare_server_default": compare.compare_server_default,
            "render_item": render.render_item,
            "render_as_batch": self.dialect_name == "sqlite",
        }
        # -- enum types owned by the app (PostgreSQL; see .enum_compare) --
        opts["autogenerate_plugins"] = [
            "alembic.autogenerate.*",
            enum_compare.PLUGIN,
            operations.PLUGIN,
        ]
        # -- end enum types --
        return opts


def run_environment(context: Any) -> None:
    """Run the migrations Alembic asked for, online or offline (``--sql``)."""
    env = context.config.attributes.get(ATTRIBUTE)
    if not isinstance(env, AppEnvironment):
        raise RuntimeError(
            "this env.py belongs to nextcord-ormar and runs only through its migration engine "
            "(nxalembic or the /migrate cog), not through plain alembic"
        )
    if context.is_offline_mode():
        context.configure(dialect_name=env.dialect_name, literal_binds=True, **env.options())
        with context.begin_transaction():
            context.run_migrations()
        return
    callbacks = [env.on_version_apply] if env.on_version_apply is not None else []
    context.configure(
        connection=env.connection,
        transaction_per_migration=True,
        on_version_apply=callbacks,
        dont_mutate=env.read_only,
        **env.options(),
    )
    # A run that only reads is make's comparison: the database is asked only for the tables
    # the app's include_name accepts (see .listing). Upgrades list as they always did.
    scope: AbstractContextManager[None] = nullcontext()
    if env.read_only and env.connection is not None:
        scope = listing_only(env.connection, env.listed_names())
    with scope, context.begin_transaction():
        context.run_migrations()
