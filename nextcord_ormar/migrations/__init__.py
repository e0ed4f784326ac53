"""The migration engine: per-app Alembic histories made and applied against the live database.

Both faces (the ``nxalembic`` CLI and the ``/migrate`` admin cog) call
:class:`MigrationEngine` and render the results it returns.
"""

from .engine import MigrationEngine, ProgressCallback
from .naming import InvalidMessageError
from .results import (
    AppRun,
    AppStatus,
    CheckResult,
    MakeResult,
    Operation,
    Plan,
    ProgressEvent,
    RevisionInfo,
    SqlResult,
    StampResult,
    Step,
    UpgradeResult,
)
from .scripts import MigrationError, UnknownRevisionError

__all__ = [
    "AppRun",
    "AppStatus",
    "CheckResult",
    "InvalidMessageError",
    "MakeResult",
    "MigrationEngine",
    "MigrationError",
    "Operation",
    "Plan",
    "ProgressCallback",
    "ProgressEvent",
    "RevisionInfo",
    "SqlResult",
    "StampResult",
    "Step",
    "UnknownRevisionError",
    "UpgradeResult",
]
