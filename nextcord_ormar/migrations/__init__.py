"""The migration engine: per-app Alembic histories made and applied against the live database.

Both faces (the ``nxalembic`` CLI and the ``/migrate`` admin cog) call
:class:`MigrationEngine` and render the results it returns.
"""

from ..errors import (
    BackupError,
    InvalidMessageError,
    LegacyDatabaseError,
    LockTimeoutError,
    MigrationError,
    NotConfirmedError,
    PlanChangedError,
    UnknownRevisionError,
)
from .adopt import AdoptPlan
from .backup import Backups
from .engine import MigrationEngine, ProgressCallback
from .legacy import LegacyState
from .results import (
    AppRun,
    AppStatus,
    Backup,
    CheckResult,
    Difference,
    MakeResult,
    Operation,
    Plan,
    ProgressEvent,
    RestoreResult,
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
    "Backup",
    "BackupError",
    "Backups",
    "CheckResult",
    "Difference",
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
    "RestoreResult",
    "RevisionInfo",
    "SqlResult",
    "StampResult",
    "Step",
    "UnknownRevisionError",
    "UpgradeResult",
]
