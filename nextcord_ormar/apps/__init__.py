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

from .app import OrmarApp
from .app_registry import Registry, registry
from .identifiers import MAX_IDENTIFIER_LENGTH, NAMING_CONVENTION, fit_identifier, metadata
from .layout import default_migrations_path
from .models import AppConfig, AppModel, AppModelMeta
from .names import MAX_APP_NAME_LENGTH, validate_app_name

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
