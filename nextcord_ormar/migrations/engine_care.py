"""The engine's care of what is already there: adopting 0.3 bots, backups and restores.

``adopt`` carries a nextcord-ormar 0.3 bot over (see :mod:`.adopt`), backed up first by the
same policy as every other write; ``backup`` and ``restore`` make and put back backups on
request (see :mod:`.backup`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import Connection

from ..apps import OrmarApp
from ..errors import NotConfirmedError
from . import adopt as adoption
from .backup import manual_label, plain_label
from .engine_core import EngineCore
from .questions import ConfirmAdopt, ConfirmRestore, Questioner
from .results import Backup, RestoreResult

__all__ = ["CareMixin"]


class CareMixin(EngineCore):
    """``adopt``, ``adopt_sql``, ``backup`` and ``restore`` of :class:`~.engine.MigrationEngine`."""

    # -- bots coming from nextcord-ormar 0.3 (see .legacy) ----------------------------------

    async def adopt(
        self,
        apps: Sequence[str | OrmarApp] | None = None,
        *,
        keep_names: bool = False,
        dry_run: bool = False,
        questioner: Questioner | None = None,
    ) -> list[adoption.AdoptPlan]:
        """Adopt the apps nextcord-ormar 0.3 left (see :mod:`.adopt`), or only plan it.

        The plans of the apps to adopt are put to ``questioner`` first; the write then
        carries out exactly those plans under the migration lock, or refuses
        (:class:`PlanChangedError`). By the backup policy, the database is backed up first
        (each adopted plan's ``backup``). ``dry_run`` returns the plans and changes nothing.
        """
        chosen = self._ordered(apps)
        plans = await self.runner.run(
            lambda conn: adoption.plan_all(conn, chosen, keep_names, self.scripts)
        )
        todo = tuple(p for p in plans if p.state == "legacy")
        if dry_run or not todo:
            return plans
        if questioner is not None and not await questioner.ask(ConfirmAdopt(todo)):
            raise NotConfirmedError("not confirmed; nothing changed")

        def run(conn: Connection) -> list[adoption.AdoptPlan]:
            with self._lock(conn):
                now = adoption.replan(conn, chosen, keep_names, plans, self.scripts)
                backup = self._backup_before_adopt(conn, chosen, now)
                adoption.carry_out_all(conn, chosen, now, self.scripts)
                for plan in now:
                    if plan.done:
                        plan.backup = backup
                return now

        return await self.runner.run(run)

    def _backup_before_adopt(
        self, conn: Connection, apps: list[OrmarApp], plans: list[adoption.AdoptPlan]
    ) -> Backup | None:
        """By the policy, back up the apps about to be adopted; a failed backup raises."""
        todo = [app for app, plan in zip(apps, plans, strict=True) if plan.state == "legacy"]
        if not todo or not self.backups.wanted(self.database.sa_url):
            return None
        label = plain_label("adopt", *(app.name for app in todo))
        if conn.in_transaction():
            conn.commit()  # the copy reads the file from its own connection
        return self._backup_maker().take(conn, todo, label, required=False)

    async def adopt_sql(self, plans: Sequence[adoption.AdoptPlan]) -> dict[str, str]:
        """Per app to adopt: the SQL that records its revision in its own version table."""

        def render() -> dict[str, str]:
            return {
                p.app: adoption.version_sql(self.scripts(p.app), p)
                for p in plans
                if p.state == "legacy"
            }

        return await asyncio.to_thread(render)

    # -- backup / restore -------------------------------------------------------------------

    async def backup(self, apps: Sequence[str | OrmarApp] | None = None) -> Backup:
        """Back up now, whatever the policy (SQLite: the whole file; a server: ``apps``' tables);
        raises :class:`~.dumps.BackupError` when none could be taken."""
        chosen, maker = self._ordered(apps), self._backup_maker()

        def run(conn: Connection) -> Backup:
            with self._lock(conn):
                label = manual_label(conn, chosen, self.scripts) if apps else "all"
                return maker.take(conn, chosen, label, required=True)

        return await self.runner.run(run)

    async def restore(
        self, path: str | Path, *, questioner: Questioner | None = None
    ) -> RestoreResult:
        """Put a backup back (SQLite: the whole database; a server: the tables it holds); by
        the policy, what it replaces is backed up first. With a ``questioner``, asks first."""
        file, maker, apps = Path(path), self._backup_maker(), self._ordered(None)
        maker.check(file)
        question = ConfirmRestore(file, self.database.url, self.dialect_name == "sqlite")
        if questioner is not None and not await questioner.ask(question):
            raise NotConfirmedError("not confirmed; nothing restored")

        def run(conn: Connection) -> RestoreResult:
            with self._lock(conn):
                return maker.restore(conn, file, apps)

        try:
            return await self.runner.run(run)
        finally:
            self.runner.close()  # nothing kept from before the restore
