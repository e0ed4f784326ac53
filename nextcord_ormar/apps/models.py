"""Model configuration: how a model joins an app, and the ormar internals that takes.

Everything here that reaches into ormar (the metaclass, default through models, reverse
relations, the subclass scan that finds an app's model classes) is kept in this one module so
that an ormar upgrade has one place to look.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import ormar
import sqlalchemy
from ormar.fields.many_to_many import ManyToManyField
from ormar.models.metaclass import ModelMetaclass

from .identifiers import check_identifier, name_enum_types

if TYPE_CHECKING:
    from .app import OrmarApp

__all__ = ["AppConfig", "AppModel", "AppModelMeta"]


class AppConfig(ormar.OrmarConfig):
    """An :class:`ormar.OrmarConfig` that ties a model to an :class:`OrmarApp`.

    Made by :meth:`OrmarApp.config`. When no ``tablename`` is given, the table is named
    ``<app>_<model name, lowercase>s`` (ormar's own default, with the app's prefix).
    """

    def __init__(self, app: OrmarApp, **options: Any) -> None:
        self._app = app
        self._explicit_tablename = options.get("tablename") is not None
        self._tablename: str | None = None
        self._table: sqlalchemy.Table | None = None
        super().__init__(metadata=app.metadata, database=app.database, **options)
        app._adopt(self)

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
        elif value:
            check_identifier("table name", value)
        self._tablename = value

    @property  # type: ignore[override]
    def table(self) -> sqlalchemy.Table | None:
        return self._table

    @table.setter
    def table(self, value: sqlalchemy.Table | None) -> None:
        # ormar builds the table once the model's columns are known: the app's contents changed.
        if value is not None:
            name_enum_types(value, self._app.name)
        self._table = value
        self._app._invalidate()


class AppModelMeta(ModelMetaclass):
    """Gives many-to-many through tables that ormar would create a name with the app's prefix."""

    def __new__(mcs, name: str, bases: Any, attrs: dict[str, Any], **kwargs: Any) -> Any:
        config = attrs.get("ormar_config")
        if isinstance(config, AppConfig):
            for field in list(attrs.values()):
                if isinstance(field, ManyToManyField) and field.through is None:
                    target = field.to
                    if isinstance(target, type) and hasattr(target, "ormar_config"):
                        field.through = through_model(
                            config.app,
                            owner=name,
                            target=target.__name__,
                            module=attrs.get("__module__"),
                        )
        return super().__new__(mcs, name, bases, attrs, **kwargs)  # type: ignore[arg-type]


class AppModel(ormar.Model, metaclass=AppModelMeta):
    """Base class for a cog's models: ``class Wallet(AppModel): ormar_config = app.config()``.

    A plain :class:`ormar.Model` with ``ormar_config = app.config()`` belongs to the app
    too; deriving from ``AppModel`` additionally gives the many-to-many through tables
    ormar creates on its own the app's prefix.
    """

    ormar_config = ormar.OrmarConfig(abstract=True)


def through_model(app: OrmarApp, *, owner: str, target: str, module: object) -> type[ormar.Model]:
    """The through model of ``owner``'s many-to-many to ``target``, as a model of ``app``."""
    table = app.table_name(f"{owner.lower()}s_{target.lower()}s")
    namespace: dict[str, Any] = {
        "__module__": module if isinstance(module, str) else app.module,
        "__qualname__": f"{owner}{target}",
        "ormar_config": app.config(tablename=table),
        "id": ormar.Integer(name="id", primary_key=True),
    }
    return type(f"{owner}{target}", (ormar.Model,), namespace)


def all_models() -> Iterator[type[ormar.Model]]:
    """Every concrete ormar model class of the process (abstract and proxy ones skipped)."""
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


def models_of_each(groups: Sequence[Sequence[AppConfig]]) -> list[list[type[ormar.Model]]]:
    """For each group of configs (an app's), the model classes built with them, in the order
    of the configs; all from one walk of the classes.

    The walk visits every ormar model class of the process, and a process that reloads cogs
    keeps the old classes until a full garbage collection: one walk for every app, not one
    per app, keeps the first look at 40 apps from costing 40 walks.
    """
    where: dict[int, tuple[int, int]] = {}  # config id -> (group, index in the group)
    for group, configs in enumerate(groups):
        for index, cfg in enumerate(configs):
            where.setdefault(id(cfg), (group, index))
    # ormar and pydantic derive helper subclasses that share the model's config;
    # the model is the one among them that none of the others is a base of.
    by_config: dict[int, type[ormar.Model]] = {}
    for model in all_models():
        key = id(model.ormar_config)
        if key in where:
            current = by_config.get(key)
            if current is None or issubclass(current, model):
                by_config[key] = model
    found: list[list[tuple[int, type[ormar.Model]]]] = [[] for _ in groups]
    for key, model in by_config.items():
        group, index = where[key]
        found[group].append((index, model))
    return [[model for _, model in sorted(pairs, key=lambda p: p[0])] for pairs in found]


def settled(configs: Sequence[AppConfig], models: Sequence[type[ormar.Model]]) -> bool:
    """Whether every config has its model and table, with no forward reference left open.

    Until then the app's contents may still change without a config being created or a
    table being set (ormar finishes forward references later), so they are not cached.
    """
    return len(models) == len(configs) and all(
        cfg.table is not None and not cfg.requires_ref_update for cfg in configs
    )


def tables_of(
    configs: Iterable[AppConfig],
    models: Iterable[type[ormar.Model]],
    extra: Iterable[sqlalchemy.Table],
) -> list[sqlalchemy.Table]:
    """The tables of ``configs``, of their models' many-to-many through models, and ``extra``."""
    seen: dict[int, sqlalchemy.Table] = {}
    for cfg in configs:
        if isinstance(cfg.table, sqlalchemy.Table):
            seen.setdefault(id(cfg.table), cfg.table)
    for model in models:
        for field in model.ormar_config.model_fields.values():
            if isinstance(field, ManyToManyField) and not field.virtual:
                through = getattr(field, "through", None)
                table = getattr(getattr(through, "ormar_config", None), "table", None)
                if isinstance(table, sqlalchemy.Table):
                    seen.setdefault(id(table), table)
    for table in extra:
        seen.setdefault(id(table), table)
    return list(seen.values())


def detach_reverse_relations(
    configs: Sequence[AppConfig], models: Iterable[type[ormar.Model]]
) -> None:
    """Take back the reverse fields ``models`` put on models outside ``configs``.

    ormar adds a reverse field (``related_name``) to the target of every relation. When
    a cog is reloaded its new models register them again, and ormar refuses a name
    that an older class already holds, so the old ones are removed first.
    """
    own = {id(cfg) for cfg in configs}
    for model in models:
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
