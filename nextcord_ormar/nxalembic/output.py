"""Turn the migration engine's results into the lines ``nxalembic`` prints.

Every function here is pure: it takes a result object and returns text lines, so the
format is easy to read in one place and to test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from ..migrations import (
    AdoptPlan,
    AppRun,
    AppStatus,
    Backup,
    MakeResult,
    Operation,
    RevisionInfo,
    SqlResult,
    StampResult,
)
from ..migrations.questions import ConfirmAdopt, ConfirmMove, Question

__all__ = [
    "backup_lines",
    "display_path",
    "make_lines",
    "rev",
    "run_lines",
]


#: What the terminal asks after showing a question.
PROMPT = "Go ahead? [y/N] "


def question_lines(question: Question) -> list[str]:
    """A question of the engine, before the ``[y/N]`` prompt."""
    if isinstance(question, ConfirmAdopt):
        return [line for plan in question.plans for line in adopt_lines(plan)]
    if not isinstance(question, ConfirmMove):
        return [question.summary()]
    verb = "undo" if question.direction == "down" else "apply"
    count = len(question.steps)
    lines = [f"This will {verb} {_plural(count, 'migration')}:"]
    for plan in question.plans:
        lines.append(f"  {plan.app}: {rev(plan.current)} -> {rev(plan.target)}")
        for step in plan.steps:
            lines.append(f"    {step.revision} {step.message}".rstrip())
            lines += [f"      ! {loss.describe()}" for loss in step.losses]
    if question.losses:
        lines.append("Data they drop cannot be brought back.")
    return lines


def rev(revision: str | None) -> str:
    """A revision for display; ``None`` (nothing applied) is ``base``."""
    return revision if revision is not None else "base"


def display_path(path: Path | None) -> str:
    """``path`` relative to the current directory when it is inside it."""
    if path is None:
        return "?"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def operation_lines(operations: Sequence[Operation], indent: str = "  ") -> list[str]:
    return [f"{indent}- {op.describe()}" for op in operations]


def make_lines(result: MakeResult) -> list[str]:
    """What ``migrate`` did for one app."""
    app = result.app
    if result.outcome == "no_changes":
        return [f"{app}: no changes, no migration written"]
    if result.outcome == "not_up_to_date":
        pending = ", ".join(result.pending) or "some"
        return [
            f"{app}: not up to date: {pending} not applied yet, no migration written; "
            f"run 'nxalembic upgrade --app {app}' first"
        ]
    kind = "blank migration" if result.empty else "migration"
    lines = [
        f"{app}: wrote {kind} {result.revision} {display_path(result.path)} ({result.message})"
    ]
    lines += operation_lines(result.operations)
    lines += [f"  warning: {warning}" for warning in result.warnings]
    return lines


def run_lines(run: AppRun, *, has_scripts: bool, verbose: bool = False) -> list[str]:
    """What an upgrade or downgrade did to one app."""
    app = run.app
    if run.error is not None:
        where = f" at {run.failed_revision}" if run.failed_revision else ""
        verb = "applied" if run.steps and run.steps[0].direction == "up" else "undid"
        lines = [f"{app}: failed{where}: {run.error}"]
        lines += [f"  {verb} {s.revision} {s.message}".rstrip() for s in run.steps]
        lines.append(f"  {app} is left at {rev(run.after)}")
        failed = run.failed_revision or "the failed migration"
        if run.left == "rolled_back":
            lines.append(f"  {failed} was rolled back whole")
        elif run.left == "nothing_ran":
            lines.append(f"  no statement of {failed} ran")
        elif run.left == "partly_applied":
            lines.append(
                f"  {_plural(len(run.statements_run), 'statement')} of {failed} ran and stay "
                "applied (no transactional DDL on this database):"
            )
            lines += [f"    {' '.join(statement.split())}" for statement in run.statements_run]
        if verbose and run.traceback:
            lines += ["", run.traceback.rstrip()]
        return lines
    if not has_scripts:
        return [f"{app}: no migrations yet (make one with 'nxalembic migrate --app {app}')"]
    if not run.steps:
        return [f"{app}: already at {rev(run.after)}, nothing to do"]
    lines = [
        f"{app}: {rev(run.before)} -> {rev(run.after)} ({_plural(len(run.steps), 'migration')})"
    ]
    verb = "applied" if run.steps[0].direction == "up" else "undid"
    lines += [f"  {verb} {s.revision} {s.message}".rstrip() for s in run.steps]
    return lines


def current_lines(status: AppStatus) -> list[str]:
    """Where one app stands, for ``current``."""
    app = status.app
    if status.legacy is not None:
        return [status.legacy.describe()]
    if not status.heads and status.current is None:
        return [f"{app}: no migrations yet"]
    if status.unknown_current:
        return [
            f"{app}: {status.current} (no script for it in "
            f"{display_path(status.migrations_path)}; restore it or stamp the app)"
        ]
    head = status.heads[0] if status.heads else None
    if not status.pending:
        return [f"{app}: {rev(status.current)} (head)"]
    ids = ", ".join(info.revision for info in status.pending)
    return [f"{app}: {rev(status.current)} (head is {rev(head)}; not applied: {ids})"]


def history_lines(app: str, path: Path, revisions: Sequence[RevisionInfo]) -> list[str]:
    """An app's migrations, oldest first, for ``history``."""
    if not revisions:
        return [f"{app}: no migrations yet"]
    lines = [f"{app} ({display_path(path)}):"]
    for info in revisions:
        marks = ["applied" if info.applied else "pending"]
        if info.is_head:
            marks.append("head")
        lines.append(f"  {info.revision} {info.message} [{', '.join(marks)}]")
    return lines


def heads_lines(app: str, heads: Sequence[str]) -> list[str]:
    if not heads:
        return [f"{app}: no migrations yet"]
    return [f"{app}: {', '.join(heads)}"]


def show_lines(info: RevisionInfo) -> list[str]:
    header = f"# {info.app} {info.revision}: {info.message} ({display_path(info.path)})"
    return [header, "", (info.script or "").rstrip()]


def stamp_lines(result: StampResult) -> list[str]:
    done = f"{result.app}: stamped {rev(result.before)} -> {rev(result.after)} (nothing was run)"
    return [*backup_lines(result.backup), done]


def backup_lines(backup: Backup | None) -> list[str]:
    """The backup taken before a write (its path, relative when it can be), or why none was."""
    if backup is None:
        return []
    if backup.path is None:
        return [backup.describe()]
    return [dataclasses.replace(backup, path=Path(display_path(backup.path))).describe()]


def sql_lines(result: SqlResult) -> list[str]:
    header = f"-- {result.app}: {rev(result.from_revision)} -> {rev(result.to_revision)}"
    if not result.sql.strip():
        return [f"{header}: nothing to do"]
    return [header, result.sql.rstrip()]


def check_lines(status: AppStatus) -> list[str]:
    """Whether one app's models and scripts match the database, for ``check``."""
    app = status.app
    lines: list[str] = []
    for diff in status.differences:
        ids = ", ".join(diff.revisions)
        if diff.kind == "legacy":
            return [diff.detail]
        if diff.kind == "pending":
            lines.append(
                f"{app}: migrations not applied: {ids}; run 'nxalembic upgrade --app {app}'"
            )
        elif diff.kind == "models":
            lines.append(f"{app}: models differ from the database:")
            lines += operation_lines(diff.changes)
            if not status.pending:
                lines.append(
                    f"  run 'nxalembic migrate --app {app}', review the file, then "
                    f"'nxalembic upgrade --app {app}'"
                )
        else:
            lines.append(
                f"{app}: changed after they were applied: {ids} "
                "(the database ran an older version of these files)"
            )
    return lines or [f"{app}: up to date"]


def adopt_lines(plan: AdoptPlan) -> list[str]:
    """What ``adopt`` will do for one app (its plan), or, once done, what to do next."""
    app = plan.app
    if plan.state == "nothing":
        return [f"{app}: nothing from nextcord-ormar 0.3 here"]
    if plan.state == "adopted":
        return [f"{app}: already adopted (at {rev(plan.current)}); nothing to do"]
    if plan.done:
        lines = [f"{app}: adopted at {rev(plan.revision)}"]
        if plan.migration is not None:
            lines[0] += (
                f"; review {display_path(plan.migration)}, then "
                f"'nxalembic upgrade --app {app}' renames the tables"
            )
        return lines + [f"  {line}" for line in plan.paste]
    where = f' ("{plan.version_table}" at {rev(plan.revision)})' if plan.version_table else ""
    lines = [f"{app}: to adopt from nextcord-ormar 0.3{where}"]
    if plan.chain:
        lines.append(f"  - keep {', '.join(plan.chain)} as the app's first migrations")
    lines += [f"  - move {display_path(a)} -> {display_path(b)}" for a, b in plan.moves]
    lines.append(f"  - record {rev(plan.revision)} in {plan.version_table_ours}")
    if plan.migration is not None:
        renames = ", ".join(f'"{m.legacy}" -> {m.target}' for m in plan.tables)
        verb = "keep" if plan.migration_exists else "write"
        lines.append(
            f"  - {verb} migration {plan.migration_revision} {display_path(plan.migration)} "
            f"to rename {renames}"
        )
    elif plan.tables:
        lines.append("  - keep the table names " + ", ".join(f'"{m.legacy}"' for m in plan.tables))
    lines += [f'  - leave "{name}" as it is (no model of {app} uses it)' for name in plan.unmatched]
    return lines + [f"  {line}" for line in plan.paste]
