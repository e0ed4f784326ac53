"""The registry: every app of the process, who owns which table, and their dependency order."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy

from ..errors import AppConflictError, UnknownAppError
from .app import OrmarApp, _Contents
from .identifiers import metadata
from .names import validate_app_name

if TYPE_CHECKING:
    from ..database import BotDatabase

__all__ = ["Registry", "registry"]


class Registry:
    """Every app of this process: what the migration engine and the admin cog look at."""

    def __init__(self, *, metadata: sqlalchemy.MetaData, database: BotDatabase) -> None:
        self.metadata = metadata
        self.database = database
        self._apps: dict[str, OrmarApp] = {}
        self._owners: dict[str, OrmarApp] | None = None
        #: Dependencies known without the models (nxalembic's recorded apps); by app name.
        self.recorded_dependencies: dict[str, set[str]] = {}

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
        self._invalidate()
        return app

    def remove(self, name: str) -> None:
        """Forget an app and drop its tables from the metadata (not from the database)."""
        app = self._apps.pop(name, None)
        if app is not None:
            app._reset(migrations=None)
        self._invalidate()

    def _invalidate(self) -> None:
        """Forget which app owns which table (an app was created, reset or changed)."""
        self._owners = None

    def _scan_with_others(self, app: OrmarApp) -> _Contents:
        """``app``'s contents, found in one walk of the model classes together with those of
        every other app not yet scanned (after a start or a reload, each app is asked in turn:
        the first question answers them all)."""
        from .models import models_of_each

        apps = [app] + [
            other
            for other in self._apps.values()
            if other is not app and other._contents is None and other._configs
        ]
        found = models_of_each([each._configs for each in apps])
        for other, models in zip(apps[1:], found[1:], strict=True):
            other._contents_from(models)
        return app._contents_from(found[0])

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
        return self._owner_map().get(table_name)

    def owned_table_names(self) -> frozenset[str]:
        """The names of the tables some app owns."""
        return frozenset(self._owner_map())

    def _owner_map(self) -> dict[str, OrmarApp]:
        if self._owners is not None:
            return self._owners
        owners: dict[str, OrmarApp] = {}
        for app in self._apps.values():
            for name in app.table_names:
                owners.setdefault(name, app)
        if all(app._settled() for app in self._apps.values()):
            self._owners = owners
        return owners

    def ordered(self, names: Iterable[str] | None = None) -> list[OrmarApp]:
        """Apps in foreign-key dependency order (referenced apps first); ties by name."""
        chosen = [self.get(n) for n in names] if names is not None else list(self._apps.values())
        pending = {app.name: app for app in chosen}
        direct = self._direct_dependencies()
        deps = {name: _reachable(name, direct) & pending.keys() for name in pending}
        result: list[OrmarApp] = []
        while pending:
            ready = sorted(n for n in pending if not (deps[n] & pending.keys()))
            if not ready:  # a cycle: keep going in name order rather than fail
                ready = [min(pending)]
            for name in ready:
                result.append(pending.pop(name))
        return result

    def _direct_dependencies(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for name, app in self._apps.items():
            recorded = self.recorded_dependencies.get(name)
            found[name] = app.dependencies if recorded is None else recorded
        return found

    def with_dependencies(self, names: Iterable[str]) -> list[OrmarApp]:
        """The apps called ``names`` and every app they depend on, in dependency order."""
        chosen = {self.get(name).name for name in names}
        direct = self._direct_dependencies()
        for name in list(chosen):
            chosen |= _reachable(name, direct)
        return self.ordered(sorted(chosen))

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


if TYPE_CHECKING:
    #: The process-wide registry of apps.
    registry: Registry


def __getattr__(name: str) -> Any:
    """The process-wide registry, made on first use: its database is ormar's connection,
    which nxalembic's read-only commands (with their recorded apps) never import."""
    if name == "registry":
        from ..database import database

        made = globals().setdefault("registry", Registry(metadata=metadata, database=database))
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
