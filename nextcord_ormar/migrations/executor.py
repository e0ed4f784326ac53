"""Plan and apply (or undo) an app's migrations: the engine's upgrade and downgrade.

Runs under the database's migration lock, one migration per transaction, recording each
applied script's checksum in the ledger within that transaction, and reporting progress.
On a failure it says which migration failed, where the app is left, and whether the failed
migration was rolled back or which of its statements ran.
"""

from __future__ import annotations

import asyncio
import dataclasses
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import sqlalchemy
from alembic import command
from sqlalchemy import event
from sqlalchemy.engine import Connection

from ..apps import OrmarApp
from ..errors import MigrationError, first_line
from . import ledger
from .effects import count_rows, losses_of
from .results import AppRun, ProgressEvent, RevisionInfo, Step, UpgradeResult
from .scripts import AppScripts

__all__ = ["ProgressCallback", "apply", "emitter", "plan_app"]

ProgressCallback = Callable[[ProgressEvent], Any]


def plan_app(
    conn: Connection, scripts: AppScripts, target: str, direction: Literal["up", "down"]
) -> tuple[str | None, str | None, list[RevisionInfo]]:
    """(current, resolved target, the scripts that would run, in run order)."""
    app = scripts.app
    current = scripts.current(conn)
    if current is not None and current not in scripts.known():
        raise MigrationError(
            f"app {app.name!r} is at revision {current!r}, which has no script in "
            f"{scripts.folder}; restore the file or stamp the app"
        )
    if direction == "down" and current is None:
        raise MigrationError(f"app {app.name!r} has nothing applied; nothing to undo")
    resolved = scripts.revision_id(target, current)
    if direction == "up":
        path = scripts.path_between(current, resolved)
        if resolved is not None and path == [] and _is_below(scripts, resolved, current):
            raise MigrationError(
                f"app {app.name!r} is already past {resolved}; use downgrade to go back"
            )
    else:
        if current is None:
            raise MigrationError(f"app {app.name!r} has nothing applied; nothing to undo")
        if _is_below(scripts, current, resolved):
            raise MigrationError(f"app {app.name!r} is at {current}, below {resolved}; use upgrade")
        path = list(reversed(scripts.path_between(resolved, current)))
    steps = [
        dataclasses.replace(
            scripts.info(s),
            losses=tuple(count_rows(conn, losses_of(s, direction, scripts.dialect_name))),
        )
        for s in path
    ]
    return current, resolved, steps


def apply(
    conn: Connection,
    apps: list[OrmarApp],
    target: str,
    direction: Literal["up", "down"],
    emit: Callable[[ProgressEvent], None],
    *,
    scripts_of: Callable[[OrmarApp], AppScripts],
    scrub: Callable[[str], str],
    rolls_back: bool,
) -> UpgradeResult:
    """Upgrade (or downgrade) ``apps`` in order to ``target``; stop at the first failure.

    Call it holding the migration lock, with the ledger table in place.
    """
    result = UpgradeResult(direction=direction)
    for app in apps:
        scripts = scripts_of(app)
        if not scripts.has_scripts():
            result.apps.append(AppRun(app.name, None, None))
            continue
        before, resolved, plan = plan_app(conn, scripts, target, direction)
        conn.commit()
        run = AppRun(app.name, before, before)
        result.apps.append(run)
        if not plan:
            continue
        emit(ProgressEvent(app.name, "app_started", total=len(plan)))
        statements: list[str] = []

        def on_apply(
            *,
            step: Any,
            app: OrmarApp = app,
            run: AppRun = run,
            total: int = len(plan),
            statements: list[str] = statements,
            **_: Any,
        ) -> None:
            revision = step.up_revision_id
            script = step.up_revision
            doc = (script.doc or "").strip() if script else ""
            # inside the migration's own transaction: recorded together or not at all
            if direction == "up" and script is not None:
                ledger.record(conn, app.name, revision, Path(script.path))
            else:
                ledger.forget(conn, app.name, revision)
            done = Step(app.name, revision, doc, direction)
            run.steps.append(done)
            statements.clear()
            emit(ProgressEvent(app.name, "step_done", done, len(run.steps), total))

        def capture(*args: Any, statements: list[str] = statements) -> None:
            statements.append(str(args[2]))

        cfg = scripts.config(connection=conn, on_version_apply=on_apply)
        destination = resolved or "base"
        event.listen(conn, "before_cursor_execute", capture)
        try:
            if direction == "up":
                command.upgrade(cfg, destination)
            else:
                command.downgrade(cfg, destination)
        except Exception as exc:
            if conn.in_transaction():
                conn.rollback()
            failed = plan[len(run.steps)] if len(run.steps) < len(plan) else None
            run.failed_revision = failed.revision if failed else None
            run.error = scrub(f"{type(exc).__name__}: {first_line(exc)}")
            run.traceback = scrub(traceback.format_exc())
            run.rolled_back = rolls_back
            if not run.rolled_back:
                failed_sql = isinstance(exc, sqlalchemy.exc.DBAPIError)
                ran = statements[:-1] if failed_sql else statements
                run.statements_run = [scrub(s) for s in ran if _changes(s, app.version_table)]
            run.after = scripts.current(conn)
            conn.commit()
            emit(ProgressEvent(app.name, "app_failed", index=len(run.steps), total=len(plan)))
            break
        finally:
            event.remove(conn, "before_cursor_execute", capture)
        run.after = scripts.current(conn)
        conn.commit()
        emit(ProgressEvent(app.name, "app_done", index=len(run.steps), total=len(plan)))
    return result


#: First words of statements that change nothing (Alembic's own look at the version table).
_READS = frozenset({"SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "PRAGMA"})


def _changes(statement: str, version_table: str) -> bool:
    """Whether a captured statement is the migration's own change (not Alembic's bookkeeping)."""
    words = statement.lstrip("( \t\r\n").split(None, 1)
    if not words or words[0].upper() in _READS:
        return False
    return version_table not in statement and ledger.LEDGER_TABLE not in statement


def emitter(callback: ProgressCallback | None) -> Callable[[ProgressEvent], None]:
    if callback is None:
        return lambda event: None
    loop = asyncio.get_running_loop()

    def emit(event: ProgressEvent) -> None:
        loop.call_soon_threadsafe(_call_progress, callback, event)

    return emit


_PROGRESS_TASKS: set[asyncio.Future[Any]] = set()


def _call_progress(callback: ProgressCallback, event: ProgressEvent) -> None:
    outcome = callback(event)
    if asyncio.iscoroutine(outcome):
        task = asyncio.ensure_future(outcome)
        _PROGRESS_TASKS.add(task)
        task.add_done_callback(_PROGRESS_TASKS.discard)


def _is_below(scripts: AppScripts, a: str | None, b: str | None) -> bool:
    """Whether revision ``a`` comes strictly before ``b`` in the app's chain (None is base)."""
    ids = scripts.known()
    pos_a = ids.index(a) + 1 if a in ids else 0
    pos_b = ids.index(b) + 1 if b in ids else 0
    return pos_a < pos_b
