"""What the migration engine returns: plain data that the CLI prints and the admin cog renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .legacy import LegacyState

__all__ = [
    "AppStatus",
    "Backup",
    "CheckResult",
    "Difference",
    "Loss",
    "MakeResult",
    "Operation",
    "Plan",
    "ProgressEvent",
    "RestoreResult",
    "RevisionInfo",
    "SqlResult",
    "StampResult",
    "Step",
    "UpgradeResult",
]


@dataclass(frozen=True)
class Operation:
    """One schema change in a migration, e.g. ``add_column`` on ``economy_wallets``."""

    kind: str
    table: str | None
    name: str | None = None
    detail: str = ""

    def describe(self) -> str:
        """A one-line human description: ``add column economy_wallets.bank (INTEGER)``."""
        verb = self.kind.replace("_", " ")
        target = self.table or ""
        if self.name and self.table and self.kind.endswith("column"):
            target = f"{self.table}.{self.name}"
        elif self.name:
            target = f"{self.name} on {self.table}" if self.table else self.name
        text = f"{verb} {target}".strip()
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True)
class Loss:
    """Something a migration step destroys or may damage, with the rows at stake when known.

    ``kind``: ``table``, ``column``, ``index``, ``constraint``, ``narrowing`` (a type that
    may not hold the values), ``sql`` (raw ``DROP``/``TRUNCATE``/``DELETE``) or ``unknown``
    (the step could not be read; assume the worst).
    """

    kind: Literal["table", "column", "index", "constraint", "narrowing", "sql", "unknown"]
    table: str | None
    name: str | None = None
    detail: str = ""
    rows: int | None = None

    def _rows(self, what: str) -> str:
        if self.rows is None:
            return ""
        return f" ({self.rows} row{'s' if self.rows != 1 else ''} {what})"

    def describe(self) -> str:
        """One line in the danger wording both faces show: ``drops table x (3 rows lost)``."""
        if self.kind == "table":
            return f"drops table {self.table} and all its rows" + self._rows("lost")
        if self.kind == "column":
            holds = "holds it" if self.rows == 1 else "hold it"
            return f"drops column {self.table}.{self.name}: its data is lost" + self._rows(holds)
        if self.kind in ("index", "constraint"):
            return f"drops {self.kind} {self.name} on {self.table}"
        if self.kind == "narrowing":
            return (
                f"changes {self.table}.{self.name} to {self.detail}: existing values may not fit"
                + self._rows("in the table")
            )
        if self.kind == "sql":
            return f"runs destructive SQL: {self.detail}"
        return f"cannot be checked before it runs ({self.detail}); it may drop data"


@dataclass(frozen=True)
class RevisionInfo:
    """One migration script of an app."""

    app: str
    revision: str
    message: str
    down_revision: str | None
    path: Path
    applied: bool | None = None
    is_head: bool = False
    script: str | None = None
    #: In a plan: what running this step drops or may damage (see :class:`Loss`).
    losses: tuple[Loss, ...] = ()

    @property
    def destructive(self) -> bool:
        """Whether running this step (in the plan's direction) drops or may damage data."""
        return bool(self.losses)

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass
class MakeResult:
    """The outcome of making a migration for one app.

    ``outcome`` is ``"written"`` (a file was written), ``"no_changes"`` (models and database
    agree; nothing written) or ``"not_up_to_date"`` (the database lacks migrations that
    exist; apply them first, nothing written).
    """

    app: str
    outcome: Literal["written", "no_changes", "not_up_to_date"]
    revision: str | None = None
    message: str | None = None
    path: Path | None = None
    script: str | None = None
    operations: list[Operation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    empty: bool = False

    @property
    def written(self) -> bool:
        return self.outcome == "written"

    @property
    def filename(self) -> str | None:
        return self.path.name if self.path else None


@dataclass(frozen=True)
class Step:
    """One migration applied (or undone) by an upgrade or downgrade."""

    app: str
    revision: str
    message: str
    direction: Literal["up", "down"]


@dataclass(frozen=True)
class ProgressEvent:
    """Reported while an upgrade runs: an app starts, or one of its migrations was applied."""

    app: str
    kind: Literal["app_started", "step_done", "app_done", "app_failed"]
    step: Step | None = None
    index: int = 0
    total: int = 0


@dataclass
class AppRun:
    """What an upgrade or downgrade did to one app."""

    app: str
    before: str | None
    after: str | None
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    failed_revision: str | None = None
    traceback: str | None = None
    #: After a failure: whether the failed migration was rolled back as a whole.
    rolled_back: bool | None = None
    #: After a failure without transactional DDL (MySQL/MariaDB): the failed migration's
    #: statements that ran (and stay applied) before the one that failed.
    statements_run: list[str] = field(default_factory=list)

    @property
    def left(self) -> Literal["rolled_back", "partly_applied", "nothing_ran"] | None:
        """After a failure, what the failed migration left behind: rolled back whole, some of
        its statements applied (``statements_run``), none of them run; ``None``: not known
        (no failure, or it failed before the migration started)."""
        if self.rolled_back:
            return "rolled_back"
        if self.statements_run:
            return "partly_applied"
        return "nothing_ran" if self.rolled_back is False else None


@dataclass(frozen=True)
class Backup:
    """A backup made before a write (or on request), or why none was taken (``skipped``)."""

    path: Path | None
    apps: tuple[str, ...] = ()
    tool: str = ""
    size: int = 0
    skipped: str | None = None
    #: Older backups of the database deleted to keep the newest N.
    removed: tuple[Path, ...] = ()

    def describe(self) -> str:
        """``backup: <path> (1.2 MiB)`` or ``no backup taken: <why>``."""
        if self.path is None:
            return f"no backup taken: {self.skipped or 'unknown reason'}"
        size = f"{self.size / 2**20:.1f} MiB" if self.size >= 2**20 else f"{self.size} bytes"
        return f"backup: {self.path} ({size})"


@dataclass(frozen=True)
class RestoreResult:
    """A backup put back; ``backup`` is the copy of what it replaced, when one was taken."""

    path: Path
    tool: str
    backup: Backup | None = None


@dataclass
class UpgradeResult:
    """Per-app from → to of an upgrade (or downgrade), in the order the apps ran."""

    apps: list[AppRun] = field(default_factory=list)
    direction: Literal["up", "down"] = "up"
    #: The backup taken before anything was applied (``None``: backups off, or nothing to do).
    backup: Backup | None = None
    #: With ``refuse_losses``: the steps left unapplied because they destroy data, in a line.
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return all(run.error is None for run in self.apps)

    @property
    def failed(self) -> AppRun | None:
        return next((run for run in self.apps if run.error is not None), None)

    @property
    def steps(self) -> list[Step]:
        return [step for run in self.apps for step in run.steps]


@dataclass(frozen=True)
class Difference:
    """One way an app and its database disagree, as ``check`` and ``show`` report it.

    ``kind``: ``legacy`` (nextcord-ormar 0.3 left it, to adopt; ``detail`` says what),
    ``pending`` (migrations not applied; their ``revisions``), ``models`` (model ``changes``
    without a migration) or ``tampered`` (applied scripts changed since; their ``revisions``).
    """

    kind: Literal["legacy", "pending", "models", "tampered"]
    revisions: tuple[str, ...] = ()
    changes: tuple[Operation, ...] = ()
    detail: str = ""


@dataclass
class AppStatus:
    """Where one app stands: applied revision, head, pending scripts, unmigrated model changes."""

    app: str
    current: str | None
    heads: list[str]
    pending: list[RevisionInfo]
    differs: bool | None
    changes: list[Operation] = field(default_factory=list)
    migrations_path: Path | None = None
    unknown_current: bool = False
    #: Applied revisions whose script changed since it was applied (checksum differs).
    tampered: list[str] = field(default_factory=list)
    #: nextcord-ormar 0.3's traces when the app still has to be adopted (``nxalembic adopt``).
    legacy: LegacyState | None = None

    @property
    def differences(self) -> list[Difference]:
        """Every way the app and its database disagree, in the order the faces report them."""
        found: list[Difference] = []
        if self.legacy is not None:
            found.append(Difference("legacy", detail=self.legacy.describe()))
        if self.pending:
            found.append(Difference("pending", revisions=tuple(p.revision for p in self.pending)))
        if self.differs:
            found.append(Difference("models", changes=tuple(self.changes)))
        if self.tampered:
            found.append(Difference("tampered", revisions=tuple(self.tampered)))
        return found

    @property
    def in_sync(self) -> bool:
        """Models compared and matching, nothing pending, tampered with or left to adopt."""
        return self.differs is False and not self.differences


@dataclass
class Plan:
    """The migrations an upgrade or downgrade would run, in run order; nothing applied."""

    app: str
    direction: Literal["up", "down"]
    current: str | None
    target: str | None
    steps: list[RevisionInfo]

    @property
    def key(self) -> tuple[str, str | None, tuple[str, ...]]:
        """What was confirmed: the app, its from-revision and the exact revisions to run."""
        return (self.app, self.current, tuple(s.revision for s in self.steps))


@dataclass
class StampResult:
    app: str
    before: str | None
    after: str | None
    backup: Backup | None = None


@dataclass
class SqlResult:
    """SQL an upgrade or downgrade would run (Alembic offline mode); nothing was applied."""

    app: str
    direction: Literal["up", "down"]
    from_revision: str | None
    to_revision: str | None
    sql: str


@dataclass
class CheckResult:
    """Apps whose models differ from the database."""

    statuses: list[AppStatus]

    @property
    def differing(self) -> list[AppStatus]:
        return [s for s in self.statuses if s.differences]

    @property
    def ok(self) -> bool:
        return not self.differing
