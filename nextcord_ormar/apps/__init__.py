"""Per-cog apps: each cog declares one, and its models get a table prefix and a migration history.

All apps share one SQLAlchemy :class:`~sqlalchemy.MetaData` (:data:`metadata`), so a
foreign key from one cog's table to another cog's table resolves like any other; which
tables belong to which app is recorded by the app itself. The migration engine compares
one app at a time by filtering on that ownership.

The package is split by concern: :mod:`.names` (what an app may be called),
:mod:`.identifiers` (the length limit and naming convention of every identifier emitted),
:mod:`.models` (how a model joins an app; the ormar internals), :mod:`.layout` (where an
app's migrations folder is), :mod:`.app` (:class:`OrmarApp`) and :mod:`.app_registry`
(:class:`Registry` and the process-wide :data:`registry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .app import OrmarApp
from .app_registry import Registry
from .identifiers import MAX_IDENTIFIER_LENGTH, NAMING_CONVENTION, fit_identifier, metadata
from .layout import default_migrations_path
from .names import MAX_APP_NAME_LENGTH, validate_app_name

if TYPE_CHECKING:
    from .app_registry import registry
    from .models import AppConfig, AppModel, AppModelMeta

__all__ = [
    "MAX_APP_NAME_LENGTH",
    "MAX_IDENTIFIER_LENGTH",
    "NAMING_CONVENTION",
    "AppConfig",
    "AppModel",
    "AppModelMeta",
    "OrmarApp",
    "Registry",
    "default_migrations_path",
    "fit_identifier",
    "metadata",
    "registry",
    "validate_app_name",
]


_LAZY = {"AppConfig": "models", "AppModel": "models", "AppModelMeta": "models"}


def __getattr__(name: str) -> Any:
    """The names that import ormar (the models, and the registry with ormar's connection)
    load on first use: ``nxalembic``'s read-only commands need none of them."""
    if name in _LAZY or name == "registry":
        import importlib

        module = importlib.import_module(f".{_LAZY.get(name, 'app_registry')}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
