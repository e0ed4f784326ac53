"""One cog's app: its table prefix, its models and tables, its migration history."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy

from .identifiers import fit_identifier
from .layout import default_migrations_path, module_file
from .names import validate_app_name

if TYPE_CHECKING:
    import ormar

    from ..database import BotDatabase
    from .app_registry import Registry
    from .models import AppConfig

__all__ = ["OrmarApp"]


class _Contents(NamedTuple):
    """What an app holds, found once by scanning ormar's model classes."""

    models: tuple[type[ormar.Model], ...]
    tables: tuple[sqlalchemy.Table, ...]
    table_names: frozenset[str]


class OrmarApp:
    """One cog's app: its table prefix, its models, its migration history.

    Create it with :meth:`create_app` at the top of the cog's module. Creating the same app
    again from the same module (as ``bot.reload_extension`` does) replaces its models.
    """

    def __init__(
        self,
        name: str,
        *,
        module: str,
        module_file: str | None,
        migrations: str | os.PathLike[str] | None,
        registry: Registry,
    ) -> None:
        self.name = validate_app_name(name)
        self.module = module
        self.module_file = module_file
        self._registry = registry
        self._migrations = Path(migrations).resolve() if migrations is not None else None
        self._configs: list[AppConfig] = []
        self._extra_tables: list[sqlalchemy.Table] = []
        self._contents: _Contents | None = None

    # -- creation ---------------------------------------------------------------------

    @classmethod
    def create_app(
        cls,
        name: str,
        *,
        migrations: str | os.PathLike[str] | None = None,
        module: str | None = None,
    ) -> OrmarApp:
        """Create (or, from the module that owns it, re-create) the app called ``name``.

        ``migrations`` overrides the versions folder (see :func:`default_migrations_path`).
        ``module`` defaults to the calling module; it decides who owns the name.
        """
        from .app_registry import registry

        frame_globals = sys._getframe(1).f_globals
        module_name = module or str(frame_globals.get("__name__", "__main__"))
        file = frame_globals.get("__file__") if module is None else module_file(module)
        return registry.create(name, module=module_name, module_file=file, migrations=migrations)

    def config(self, **options: Any) -> AppConfig:
        """An ``ormar_config`` for a model of this app; ormar's options pass through."""
        for forbidden in ("metadata", "database"):
            if forbidden in options:
                raise TypeError(
                    f"{forbidden}= is set by the app; every app shares the bot's {forbidden}"
                )
        from .models import AppConfig  # ormar: only once a model is declared

        return AppConfig(self, **options)

    def table_name(self, base: str) -> str:
        """The prefixed table name for ``base``, shortened to fit every database."""
        return fit_identifier(f"{self.name}_{base}")

    def _adopt(self, config: AppConfig) -> None:
        """Count ``config`` (just made by :meth:`config`) as one of this app's models."""
        self._configs.append(config)
        self._invalidate()

    def _invalidate(self) -> None:
        """Forget the cached contents: a model, a table or the whole app changed."""
        self._contents = None
        self._registry._invalidate()

    def _reset(self, *, migrations: str | os.PathLike[str] | None) -> None:
        if self._configs:
            from .models import detach_reverse_relations

            detach_reverse_relations(self._configs, self.models)
        for table in self.tables:
            if table.key in self.metadata.tables and self.metadata.tables[table.key] is table:
                self.metadata.remove(table)
        self._configs.clear()
        self._extra_tables.clear()
        self._migrations = Path(migrations).resolve() if migrations is not None else None
        self._invalidate()

    # -- what the app holds -----------------------------------------------------------

    @property
    def metadata(self) -> sqlalchemy.MetaData:
        """The shared metadata (see :data:`metadata`); filter it with :attr:`table_names`."""
        return self._registry.metadata

    @property
    def database(self) -> BotDatabase:
        """The shared connection the bot configures."""
        return self._registry.database

    def _scan(self) -> _Contents:
        """This app's models and tables; cached until a model or table of the app changes."""
        if self._contents is not None:
            return self._contents
        if not self._configs:  # no model (nxalembic's recorded apps): ormar has nothing to add
            extra = tuple({id(t): t for t in reversed(self._extra_tables)}.values())[::-1]
            self._contents = _Contents((), extra, frozenset(t.name for t in extra))
            return self._contents
        return self._registry._scan_with_others(self)

    def _contents_from(self, models: list[type[ormar.Model]]) -> _Contents:
        """The contents, given this app's model classes; kept once every model is settled."""
        from .models import settled, tables_of

        tables = tables_of(self._configs, models, self._extra_tables)
        contents = _Contents(tuple(models), tuple(tables), frozenset(t.name for t in tables))
        if settled(self._configs, models):
            self._contents = contents
        return contents

    def _settled(self) -> bool:
        """Whether the lookups are cached (every model finished, no forward reference open)."""
        self._scan()
        return self._contents is not None

    @property
    def models(self) -> list[type[ormar.Model]]:
        """The concrete model classes of this app, through models included, in definition order."""
        return list(self._scan().models)

    @property
    def tables(self) -> list[sqlalchemy.Table]:
        """This app's tables: its models' tables and the through tables of their many-to-manys."""
        return list(self._scan().tables)

    @property
    def table_names(self) -> set[str]:
        """Names of this app's tables."""
        return set(self._scan().table_names)

    @property
    def version_table(self) -> str:
        """Name of this app's Alembic version table."""
        return fit_identifier(f"alembic_version_{self.name}")

    @property
    def migrations_path(self) -> Path:
        """The folder holding this app's migration scripts (its Alembic versions folder)."""
        if self._migrations is not None:
            return self._migrations
        return default_migrations_path(self.name, self.module_file)

    @property
    def dependencies(self) -> set[str]:
        """Names of the other apps whose tables this app's tables reference by foreign key."""
        names = self._scan().table_names
        deps: set[str] = set()
        for table in self._scan().tables:
            for fk in table.foreign_keys:
                # "economy_members.id", "schema.table.id", or a name kept from
                # nextcord-ormar 0.3 with a dot in it ("economy.members.id").
                spec = fk.target_fullname.rsplit(".", 1)[0]
                for target_table in dict.fromkeys((spec, spec.split(".")[-1])):
                    if target_table in names:
                        break
                    owner = self._registry.table_owner(target_table)
                    if owner is not None:
                        if owner is not self:
                            deps.add(owner.name)
                        break
        return deps

    def add_table(self, table: sqlalchemy.Table) -> None:
        """Make a plain SQLAlchemy table (built on :attr:`metadata`) part of this app."""
        if table.metadata is not self.metadata:
            raise ValueError("the table must be defined on nextcord_ormar.apps.metadata")
        self._extra_tables.append(table)
        self._invalidate()

    def __repr__(self) -> str:
        return f"<OrmarApp {self.name!r} module={self.module!r} tables={sorted(self.table_names)}>"
