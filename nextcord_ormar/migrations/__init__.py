"""The migration engine: per-app Alembic histories made and applied against the live database.

Both faces (the ``nxalembic`` CLI and the ``/migrate`` admin cog) call
:class:`MigrationEngine` and render the results it returns.
"""

from ..errors import (
    InvalidMessageError,
    LegacyDatabaseError,
    LockTimeoutError,
    MigrationError,
    NotConfirmedError,
    PlanChangedError,
    UnknownRevisionError,
)
from .adopt import AdoptPlan
from .engine import MigrationEngine, ProgressCallback
from .legacy import LegacyState
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

__all__ = [
    "AdoptPlan",
    "AppRun",
    "AppStatus",
    "CheckResult",
    "InvalidMessageError",
    "LegacyDatabaseError",
    "LegacyState",
    "LockTimeoutError",
    "MakeResult",
    "MigrationEngine",
    "MigrationError",
    "NotConfirmedError",
    "Operation",
    "Plan",
    "PlanChangedError",
    "ProgressCallback",
    "ProgressEvent",
    "RevisionInfo",
    "SqlResult",
    "StampResult",
    "Step",
    "UnknownRevisionError",
    "UpgradeResult",
]
