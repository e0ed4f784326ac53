"""The engine's upgrade and downgrade, and the plan confirmation that guards them.

With a questioner, the plans (what each step drops, with row counts) are worked out and put
to it on the caller's loop, outside the lock; the write then re-plans under the lock and runs
exactly the plans that were confirmed, or refuses (:class:`~..errors.PlanChangedError`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from sqlalchemy.engine import Connection

from ..apps import OrmarApp
from ..errors import MigrationError, NotConfirmedError, PlanChangedError
from . import ledger, legacy
from .backup import planned_moves
from .engine_core import EngineCore
from .executor import ProgressCallback, apply, emitter, plan_app
from .questions import Questioner, confirm_move
from .results import Plan, ProgressEvent, UpgradeResult

__all__ = ["PLAN_CHANGED", "MovesMixin"]

#: Said when the database moved between the question and the work (nothing is changed).
PLAN_CHANGED = "the database changed while you were confirming; run the command again"


class MovesMixin(EngineCore):
    """``upgrade`` and ``downgrade`` of :class:`~.engine.MigrationEngine`."""

    async def upgrade(
        self,
        apps: Sequence[str | OrmarApp] | None = None,
        target: str = "head",
        *,
        on_progress: ProgressCallback | None = None,
        questioner: Questioner | None = None,
        refuse_losses: bool = False,
    ) -> UpgradeResult:
        """Apply pending migrations of ``apps`` (default: all) in dependency order.

        Stops at the first failing app; the result says which migration failed, the
        error, and the revision every app is left at. ``on_progress`` is called on the
        caller's event loop as each app starts and each migration is applied. With a
        ``questioner``, a plan that destroys data is put to it first, and exactly the
        plan it was shown runs (see :meth:`_confirmed`). With ``refuse_losses`` (the bot's
        unattended start-up upgrade), a plan the questioner would be asked about is refused
        under the lock instead (:class:`~..errors.NotConfirmedError`; nothing changes).
        """
        chosen = self._ordered(apps)
        if target not in ("head", "heads") and len(chosen) != 1:
            raise MigrationError("a target revision can only be given for one app")
        confirmed = await self._confirmed(questioner, chosen, target, "up")
        emit = emitter(on_progress)
        return await self.runner.run(
            lambda conn: self._move(conn, chosen, target, "up", emit, confirmed, refuse_losses)
        )

    async def downgrade(
        self,
        app: str | OrmarApp,
        target: str = "-1",
        *,
        on_progress: ProgressCallback | None = None,
        questioner: Questioner | None = None,
    ) -> UpgradeResult:
        """Undo the app's migrations down to ``target`` (default: one step).

        With a ``questioner``, the plan (what each step drops, with row counts) is put to
        it first, and exactly that plan runs.
        """
        the_app = self.app(app)
        confirmed = await self._confirmed(questioner, [the_app], target, "down")
        emit = emitter(on_progress)
        return await self.runner.run(
            lambda conn: self._move(conn, [the_app], target, "down", emit, confirmed)
        )

    async def _confirmed(
        self,
        questioner: Questioner | None,
        apps: list[OrmarApp],
        target: str,
        direction: Literal["up", "down"],
    ) -> list[Plan] | None:
        """The plans the questioner agreed to (``None`` without a questioner).

        The question is asked on the caller's loop, before the write and outside the lock;
        the write then runs these plans or refuses (:class:`PlanChangedError`).
        """
        if questioner is None:
            return None
        plans = await self.runner.run(lambda conn: self._plans(conn, apps, target, direction))
        question = confirm_move(direction, plans)
        if question is not None and not await questioner.ask(question):
            raise NotConfirmedError("not confirmed; nothing changed")
        return plans

    def _plans(
        self,
        conn: Connection,
        apps: list[OrmarApp],
        target: str,
        direction: Literal["up", "down"],
    ) -> list[Plan]:
        plans = []
        for app in apps:
            scripts = self.scripts(app)
            if scripts.has_scripts():
                current, resolved, steps = plan_app(conn, scripts, target, direction)
                plans.append(Plan(app.name, direction, current, resolved, steps))
        return plans

    def _check_unchanged(
        self,
        conn: Connection,
        apps: list[OrmarApp],
        target: str,
        direction: Literal["up", "down"],
        confirmed: list[Plan],
    ) -> None:
        """Under the lock: refuse unless the plans are still the ones that were confirmed."""
        try:
            now = self._plans(conn, apps, target, direction)
        except MigrationError:
            raise PlanChangedError(f"{PLAN_CHANGED} (nothing was changed)") from None
        if [p.key for p in now] != [p.key for p in confirmed]:
            raise PlanChangedError(f"{PLAN_CHANGED} (nothing was changed)")

    def _move(
        self,
        conn: Connection,
        apps: list[OrmarApp],
        target: str,
        direction: Literal["up", "down"],
        emit: Callable[[ProgressEvent], None],
        confirmed: list[Plan] | None = None,
        refuse_losses: bool = False,
    ) -> UpgradeResult:
        with self._lock(conn):
            if direction == "up":
                legacy.refuse(conn, apps, "upgrade")
            refused = None
            if refuse_losses:  # decided under the lock: exactly what would run now
                target, refused = self._safe_part(conn, apps, target, direction)
            if confirmed is not None:
                self._check_unchanged(conn, apps, target, direction, confirmed)
                conn.commit()
            backup = None
            if self.backups.wanted(self.database.sa_url):
                moves = planned_moves(conn, apps, target, direction, self.scripts)
                backup = self._backup_before(conn, moves)
            ledger.ensure(conn)
            conn.commit()
            result = apply(
                conn,
                apps,
                target,
                direction,
                emit,
                scripts_of=self.scripts,
                scrub=self.runner.scrub,
                rolls_back=self.runner.transactional_ddl,
            )
            result.backup = backup
            result.refused = refused
            return result

    def _safe_part(
        self,
        conn: Connection,
        apps: list[OrmarApp],
        target: str,
        direction: Literal["up", "down"],
    ) -> tuple[str, str | None]:
        """For ``refuse_losses``: the target to run instead (one app: up to, not including,
        its first step that destroys data), and what is left unapplied, in one line.
        Raises :class:`NotConfirmedError` when nothing could run (nothing changes)."""
        plans = self._plans(conn, apps, target, direction)
        question = confirm_move(direction, plans)
        if question is None:
            return target, None
        steps = question.steps
        first = next((i for i, step in enumerate(steps) if step.destructive), 0)
        if direction != "up" or len(plans) != 1 or first == 0:
            raise NotConfirmedError(f"not applied without a confirmation: {question.summary()}")
        plan, stop = plans[0], steps[first - 1].revision
        rest = Plan(plan.app, direction, stop, plan.target, steps[first:])
        left = confirm_move(direction, [rest])  # a question: its first step destroys data
        summary = left.summary() if left is not None else "it destroys data"
        return stop, f"{steps[first].revision} not applied without a confirmation: {summary}"
