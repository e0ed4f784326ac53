"""The migration engine: per-app Alembic histories made and applied against the live database.

Both faces (the ``nxalembic`` CLI and the ``/migrate`` admin cog) call
:class:`MigrationEngine` and render the results it returns.
"""

from ..errors import (
    BackupError,
    InvalidMessageError,
    LockTimeoutError,
    MigrationError,
    NotConfirmedError,
    PlanChangedError,
    UnknownRevisionError,
)
from .backup import Backups
from .engine import MigrationEngine, ProgressCallback
from .results import (
    AppRun,
    AppStatus,
    Backup,
    CheckResult,
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
    "AppRun",
    "AppStatus",
    "Backup",
    "BackupError",
    "Backups",
    "CheckResult",
    "InvalidMessageError",
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
