"""Per-cog apps: each cog declares one, and its models get a table prefix and a migration history.

All apps share one SQLAlchemy :class:`~sqlalchemy.MetaData` (:data:`metadata`), so a
foreign key from one cog's table to another cog's table resolves like any other; which
tables belong to which app is recorded by the app itself. The migration engine compares
one app at a time by filtering on that ownership.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ormar
import sqlalchemy
from ormar.fields.many_to_many import ManyToManyField
from ormar.models.metaclass import ModelMetaclass

from .database import BotDatabase, database
from .errors import AppConflictError, AppNameError, UnknownAppError

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "NAMING_CONVENTION",
    "AppConfig",
    "AppModel",
    "OrmarApp",
    "Registry",
    "fit_identifier",
    "metadata",
    "registry",
]

#: The shortest identifier limit of the supported databases (PostgreSQL: 63, MySQL: 64).
MAX_IDENTIFIER_LENGTH = 63
#: Longest app name: ``alembic_version_`` plus the name must stay within the limit.
MAX_APP_NAME_LENGTH = 40

_APP_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

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


def validate_app_name(name: object) -> str:
    """Return ``name`` if it can be a table prefix on every supported database, else raise."""
    if not isinstance(name, str) or not name:
        raise AppNameError(f"an app name must be a non-empty string, got {name!r}")
    if len(name) > MAX_APP_NAME_LENGTH:
        raise AppNameError(
            f"app name {name!r} is {len(name)} characters long; the limit is "
            f"{MAX_APP_NAME_LENGTH} so that its tables and version table fit every database"
        )
    if not _APP_NAME_RE.match(name):
        hint = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
        suggestion = f" (for example {hint!r})" if hint and _APP_NAME_RE.match(hint) else ""
        raise AppNameError(
            f"app name {name!r} cannot become a table prefix: use lowercase letters, digits and "
            f"underscores, starting with a letter{suggestion}"
        )
    return name


class AppConfig(ormar.OrmarConfig):
    """An :class:`ormar.OrmarConfig` that ties a model to an :class:`OrmarApp`.

    Made by :meth:`OrmarApp.config`. When no ``tablename`` is given, the table is named
    ``<app>_<model name, lowercase>s`` (ormar's own default, with the app's prefix).
    """

    def __init__(self, app: OrmarApp, **options: Any) -> None:
        self._app = app
        self._explicit_tablename = options.get("tablename") is not None
        self._tablename: str | None = None
        super().__init__(metadata=app.metadata, database=app.database, **options)
        app._configs.append(self)

    @property
    def app(self) -> OrmarApp:
        """The app this config's model belongs to."""
        return self._app

    @property  # type: ignore[override]
    def tablename(self) -> str | None:
        return self._tablename

    @tablename.setter
    def tablename(self, value: str | None) -> None:
        # ormar assigns its default (``name.lower() + "s"``) when the model class is built;
        # that first default gets the app's prefix. An explicit name is kept as written.
        if value and self._tablename is None and not self._explicit_tablename:
            value = self._app.table_name(value)
        elif value and len(value) > MAX_IDENTIFIER_LENGTH:
            raise AppNameError(
                f"table name {value!r} is longer than {MAX_IDENTIFIER_LENGTH} characters, "
                "the limit PostgreSQL sets"
            )
        self._tablename = value


class AppModelMeta(ModelMetaclass):
    """Gives many-to-many through tables that ormar would create a name with the app's prefix."""

    def __new__(mcs, name: str, bases: Any, attrs: dict[str, Any], **kwargs: Any) -> Any:
        config = attrs.get("ormar_config")
        if isinstance(config, AppConfig):
            for field in list(attrs.values()):
                if isinstance(field, ManyToManyField) and field.through is None:
                    target = field.to
                    if isinstance(target, type) and hasattr(target, "ormar_config"):
                        field.through = config.app._through_model(
                            owner=name, target=target.__name__, module=attrs.get("__module__")
                        )
        return super().__new__(mcs, name, bases, attrs, **kwargs)  # type: ignore[arg-type]


class AppModel(ormar.Model, metaclass=AppModelMeta):
    """Base class for a cog's models: ``class Wallet(AppModel): ormar_config = app.config()``.

    A plain :class:`ormar.Model` with ``ormar_config = app.config()`` belongs to the app
    too; deriving from ``AppModel`` additionally gives the many-to-many through tables
    ormar creates on its own the app's prefix.
    """

    ormar_config = ormar.OrmarConfig(abstract=True)


def _defines_setup(init_file: Path) -> bool:
    """Whether a package's ``__init__.py`` defines ``setup`` (the package is an extension)."""
    try:
        tree = ast.parse(init_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "setup"
        for node in tree.body
    )


def default_migrations_path(app_name: str, module_file: str | None) -> Path:
    """Where an app's migrations live when ``create_app`` is not given ``migrations=``.

    * App created in a package's ``__init__.py``, or in a module of a package that is a
      nextcord extension (its ``__init__.py`` defines ``setup``): ``<package>/migrations``.
    * App created in a single-file module (``cogs/economy.py``, or a module beside the
      bot's main script): ``<its folder>/<app>/migrations``.

    Cogs side by side in one folder never share a versions folder, and an app's folder
    does not depend on which other cogs exist.
    """
    if module_file is None:
        return Path.cwd() / app_name / "migrations"
    file = Path(module_file).resolve()
    folder = file.parent
    if file.name == "__init__.py" or _defines_setup(folder / "__init__.py"):
        return folder / "migrations"
    return folder / app_name / "migrations"


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
        frame_globals = sys._getframe(1).f_globals
        module_name = module or str(frame_globals.get("__name__", "__main__"))
        module_file = frame_globals.get("__file__") if module is None else _module_file(module)
        return registry.create(
            name, module=module_name, module_file=module_file, migrations=migrations
        )

    def config(self, **options: Any) -> AppConfig:
        """An ``ormar_config`` for a model of this app; ormar's options pass through."""
        for forbidden in ("metadata", "database"):
            if forbidden in options:
                raise TypeError(
                    f"{forbidden}= is set by the app; every app shares the bot's {forbidden}"
                )
        return AppConfig(self, **options)

    def table_name(self, base: str) -> str:
        """The prefixed table name for ``base``, shortened to fit every database."""
        return fit_identifier(f"{self.name}_{base}")

    def _through_model(self, *, owner: str, target: str, module: object) -> type[ormar.Model]:
        table = self.table_name(f"{owner.lower()}s_{target.lower()}s")
        namespace: dict[str, Any] = {
            "__module__": module if isinstance(module, str) else self.module,
            "__qualname__": f"{owner}{target}",
            "ormar_config": self.config(tablename=table),
            "id": ormar.Integer(name="id", primary_key=True),
        }
        return type(f"{owner}{target}", (ormar.Model,), namespace)

    def _reset(self, *, migrations: str | os.PathLike[str] | None) -> None:
        self._detach_reverse_relations()
        for table in self.tables:
            if table.key in self.metadata.tables and self.metadata.tables[table.key] is table:
                self.metadata.remove(table)
        self._configs.clear()
        self._extra_tables.clear()
        self._migrations = Path(migrations).resolve() if migrations is not None else None

    def _detach_reverse_relations(self) -> None:
        """Take back the reverse fields this app's old models put on other apps' models.

        ormar adds a reverse field (``related_name``) to the target of every relation. When
        a cog is reloaded its new models register them again, and ormar refuses a name
        that an older class already holds, so the old ones are removed first.
        """
        own = {id(cfg) for cfg in self._configs}
        for model in self.models:
            for field in list(model.ormar_config.model_fields.values()):
                if not field.is_relation or field.virtual or getattr(field, "is_through", False):
                    continue
                target = field.to
                target_config = getattr(target, "ormar_config", None)
                if target_config is None or id(target_config) in own:
                    continue
                name = field.get_related_name()
                reverse = target_config.model_fields.get(name)
                if reverse is None or not reverse.virtual:
                    continue
                if getattr(reverse.to, "ormar_config", None) is not model.ormar_config:
                    continue
                del target_config.model_fields[name]
                target.model_fields.pop(name, None)
                with contextlib.suppress(Exception):
                    target.model_rebuild(force=True)

    # -- what the app holds -----------------------------------------------------------

    @property
    def metadata(self) -> sqlalchemy.MetaData:
        """The shared metadata (see :data:`metadata`); filter it with :attr:`table_names`."""
        return self._registry.metadata

    @property
    def database(self) -> BotDatabase:
        """The shared connection the bot configures."""
        return self._registry.database

    @property
    def models(self) -> list[type[ormar.Model]]:
        """The concrete model classes of this app, through models included, in definition order."""
        configs = {id(cfg): index for index, cfg in enumerate(self._configs)}
        # ormar and pydantic derive helper subclasses that share the model's config;
        # the model is the one among them that none of the others is a base of.
        by_config: dict[int, type[ormar.Model]] = {}
        for model in _all_models():
            key = id(model.ormar_config)
            if key in configs:
                current = by_config.get(key)
                if current is None or issubclass(current, model):
                    by_config[key] = model
        return sorted(by_config.values(), key=lambda m: configs[id(m.ormar_config)])

    @property
    def tables(self) -> list[sqlalchemy.Table]:
        """This app's tables: its models' tables and the through tables of their many-to-manys."""
        seen: dict[int, sqlalchemy.Table] = {}
        for cfg in self._configs:
            if cfg.table is not None and isinstance(cfg.table, sqlalchemy.Table):
                seen.setdefault(id(cfg.table), cfg.table)
        for model in self.models:
            for field in model.ormar_config.model_fields.values():
                if isinstance(field, ManyToManyField) and not field.virtual:
                    through = getattr(field, "through", None)
                    table = getattr(getattr(through, "ormar_config", None), "table", None)
                    if isinstance(table, sqlalchemy.Table):
                        seen.setdefault(id(table), table)
        for table in self._extra_tables:
            seen.setdefault(id(table), table)
        return list(seen.values())

    @property
    def table_names(self) -> set[str]:
        """Names of this app's tables."""
        return {t.name for t in self.tables}

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
        names = self.table_names
        deps: set[str] = set()
        for table in self.tables:
            for fk in table.foreign_keys:
                target_table = fk.target_fullname.rsplit(".", 1)[0].split(".")[-1]
                if target_table in names:
                    continue
                owner = self._registry.table_owner(target_table)
                if owner is not None and owner is not self:
                    deps.add(owner.name)
        return deps

    def add_table(self, table: sqlalchemy.Table) -> None:
        """Make a plain SQLAlchemy table (built on :attr:`metadata`) part of this app."""
        if table.metadata is not self.metadata:
            raise ValueError("the table must be defined on nextcord_ormar.apps.metadata")
        self._extra_tables.append(table)

    def __repr__(self) -> str:
        return f"<OrmarApp {self.name!r} module={self.module!r} tables={sorted(self.table_names)}>"


def _module_file(module: str) -> str | None:
    mod = sys.modules.get(module)
    file = getattr(mod, "__file__", None)
    return file if isinstance(file, str) else None


def _all_models() -> Iterator[type[ormar.Model]]:
    stack: list[type[Any]] = [ormar.Model]
    seen: set[int] = set()
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            stack.append(sub)
            config = getattr(sub, "ormar_config", None)
            if isinstance(config, ormar.OrmarConfig) and not (config.abstract or config.proxy):
                yield sub


class Registry:
    """Every app of this process: what the migration engine and the admin cog look at."""

    def __init__(self, *, metadata: sqlalchemy.MetaData, database: BotDatabase) -> None:
        self.metadata = metadata
        self.database = database
        self._apps: dict[str, OrmarApp] = {}

    def create(
        self,
        name: str,
        *,
        module: str,
        module_file: str | None,
        migrations: str | os.PathLike[str] | None = None,
    ) -> OrmarApp:
        """Create an app, or reset it when the module that owns it creates it again."""
        validate_app_name(name)
        existing = self._apps.get(name)
        if existing is not None:
            if not _same_source(existing, module, module_file):
                raise AppConflictError(
                    f"app {name!r} already belongs to module {existing.module!r}; "
                    f"module {module!r} cannot create it too (pick another name)"
                )
            existing.module = module
            existing.module_file = module_file
            existing._reset(migrations=migrations)
            return existing
        app = OrmarApp(
            name, module=module, module_file=module_file, migrations=migrations, registry=self
        )
        self._apps[name] = app
        return app

    def remove(self, name: str) -> None:
        """Forget an app and drop its tables from the metadata (not from the database)."""
        app = self._apps.pop(name, None)
        if app is not None:
            app._reset(migrations=None)

    @property
    def apps(self) -> dict[str, OrmarApp]:
        """The apps by name."""
        return dict(self._apps)

    def get(self, name: str) -> OrmarApp:
        """The app called ``name``; :class:`UnknownAppError` lists the known ones otherwise."""
        try:
            return self._apps[name]
        except KeyError:
            known = ", ".join(sorted(self._apps)) or "none"
            raise UnknownAppError(f"unknown app {name!r} (known apps: {known})") from None

    def table_owner(self, table_name: str) -> OrmarApp | None:
        """The app that owns the table called ``table_name``, if any."""
        for app in self._apps.values():
            if table_name in app.table_names:
                return app
        return None

    def ordered(self, names: list[str] | None = None) -> list[OrmarApp]:
        """Apps in foreign-key dependency order (referenced apps first); ties by name."""
        chosen = [self.get(n) for n in names] if names is not None else list(self._apps.values())
        pending = {app.name: app for app in chosen}
        direct = {name: app.dependencies for name, app in self._apps.items()}
        deps = {name: _reachable(name, direct) & pending.keys() for name in pending}
        result: list[OrmarApp] = []
        while pending:
            ready = sorted(n for n in pending if not (deps[n] & pending.keys()))
            if not ready:  # a cycle: keep going in name order rather than fail
                ready = [min(pending)]
            for name in ready:
                result.append(pending.pop(name))
        return result

    def app_for_cog(self, cog: object, extensions: dict[str, Any] | None = None) -> OrmarApp | None:
        """The app a loaded cog owns.

        In order: the app the cog names (a class attribute ``ormar_app``); the app created in
        the cog's own module; the app created in the extension package the cog came from.
        """
        explicit = getattr(cog, "ormar_app", None)
        if isinstance(explicit, OrmarApp):
            return explicit
        if isinstance(explicit, str):
            return self.get(explicit)
        module = type(cog).__module__
        same = [app for app in self._apps.values() if app.module == module]
        if same:
            return same[0]
        for ext in extensions or {}:
            if module.startswith(ext + "."):
                inside = [
                    a
                    for a in self._apps.values()
                    if a.module == ext or a.module.startswith(ext + ".")
                ]
                if inside:
                    return sorted(inside, key=lambda a: a.name)[0]
        return None

    def clear(self) -> None:
        """Forget every app (for tests)."""
        for name in list(self._apps):
            self.remove(name)


def _reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    """Every name reachable from ``start`` along ``edges`` (``start`` itself excluded)."""
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        name = stack.pop()
        if name not in seen and name != start:
            seen.add(name)
            stack.extend(edges.get(name, ()))
    return seen


def _same_source(app: OrmarApp, module: str, module_file: str | None) -> bool:
    if app.module_file and module_file:
        return Path(app.module_file).resolve() == Path(module_file).resolve()
    return app.module == module


#: The process-wide registry of apps.
registry = Registry(metadata=metadata, database=database)
