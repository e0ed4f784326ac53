"""The migration engine: make, upgrade, downgrade, status, history, show, stamp, sql, check.

Both faces, the ``nxalembic`` CLI and the ``/migrate`` cog, call these methods and render
what they return. Each method runs Alembic synchronously over a SQLAlchemy connection
(Alembic's ``run_sync`` pattern), either on the bot's own engine or, by default, in a
worker thread with an engine made from the bot's own URL and options, so that comparing
and rendering never stall the bot's event loop (see :class:`MigrationEngine`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from ..apps import OrmarApp, Registry
from ..apps import registry as default_registry
from ..database import BotDatabase
from ..database import database as default_database
from ..errors import MigrationError, NotConfirmedError, PlanChangedError, first_line
from . import adopt as adoption
from . import ledger, legacy
from .backup import BackupMaker, Backups, manual_label, planned_moves
from .executor import ProgressCallback, apply, emitter, plan_app
from .locking import migration_lock
from .maker import make_migration
from .naming import clean_message
from .preview import replay_sql
from .questions import ConfirmAdopt, ConfirmRestore, Questioner, confirm_move
from .renames import Rename, ask_renames, renames_for
from .results import (
    AppStatus,
    Backup,
    CheckResult,
    MakeResult,
    Plan,
    ProgressEvent,
    RestoreResult,
    RevisionInfo,
    SqlResult,
    StampResult,
    UpgradeResult,
)
from .runner import Runner
from .scripts import AppScripts
from .status import app_status, diff_if_current

__all__ = ["MigrationEngine", "ProgressCallback"]

#: Said when the database moved between the question and the work (nothing is changed).
PLAN_CHANGED = "the database changed while you were confirming; run the command again"


class MigrationEngine:
    """Per-app Alembic operations over the bot's database.

    ``in_thread`` (default: on, except for in-memory SQLite) runs the Alembic work in a worker
    thread with its own event loop and an engine built from the bot's URL and engine
    options: asyncpg connections belong to the loop that opened them, and Alembic's
    comparing, rendering and script imports are CPU work that would otherwise hold the
    bot's loop (and its gateway heartbeat). With ``in_thread=False`` the work runs through
    ``run_sync`` on the bot's own engine.

    ``backups`` (a :class:`~.backup.Backups`, or ``True``/``False``; default: a SQLite file
    yes, a server no) says whether every write (upgrade, downgrade, stamp, restore) is
    preceded by a backup, and where it goes; a backup that fails stops the write.
    """

    def __init__(
        self,
        database: BotDatabase | None = None,
        registry: Registry | None = None,
        *,
        in_thread: bool | None = None,
        lock_timeout: float = 0.0,
        on_lock_wait: Callable[[], None] | None = None,
        backups: Backups | bool | None = None,
    ) -> None:
        self.database = database or default_database
        self.registry = registry or default_registry
        self.runner = Runner(self.database, in_thread)
        #: Seconds a write waits for another process's migration to finish (0: fail at once).
        self.lock_timeout = lock_timeout
        #: Called (from the worker) once when a write has to wait for the lock.
        self.on_lock_wait = on_lock_wait
        #: Whether and where writes are backed up first (see :class:`.backup.Backups`).
        self.backups = Backups.of(backups)

    @classmethod
    def for_bot(cls, bot: Any, **options: Any) -> MigrationEngine:
        """The engine over a :class:`nextcord_ormar.Bot`'s database, registry and backups."""
        options.setdefault("backups", getattr(bot, "backups", None))
        return cls(bot.database, bot.registry, **options)

    # -- plumbing -------------------------------------------------------------------------

    @property
    def in_thread(self) -> bool:
        """Whether the work runs in a worker thread (see :mod:`.runner`)."""
        return self.runner.in_thread

    @property
    def dialect_name(self) -> str:
        return self.database.dialect_name

    def app(self, app: str | OrmarApp) -> OrmarApp:
        """The app for a name (or the app itself)."""
        return app if isinstance(app, OrmarApp) else self.registry.get(app)

    def scripts(self, app: str | OrmarApp) -> AppScripts:
        return AppScripts(self.app(app), self.dialect_name)

    # -- make -----------------------------------------------------------------------------

    async def make(
        self,
        app: str | OrmarApp,
        *,
        message: str | None = None,
        empty: bool = False,
        renames: Sequence[Rename] = (),
        questioner: Questioner | None = None,
    ) -> MakeResult:
        """Autogenerate the app's next migration against the live database (or a blank one).

        Writes ``<id>_<slug>.py`` into the app's versions folder. With no changes, nothing
        is written (``outcome == "no_changes"``) unless ``empty``; with migrations not yet
        applied, nothing is written (``outcome == "not_up_to_date"``). Renames: ``renames``
        and the ``questioner``'s answers (see :mod:`.renames`).
        """
        the_app = self.app(app)
        text = clean_message(message)
        chosen = renames_for(the_app.table_names, renames)
        if questioner is not None and not empty:
            found = await self.runner.run(lambda c: diff_if_current(c, the_app, self.dialect_name))
            chosen = await ask_renames(found, chosen, questioner)
        return await self.runner.run(lambda c: self._make_locked(c, the_app, text, empty, chosen))

    def _make_locked(
        self, conn: Connection, app: OrmarApp, message: str | None, empty: bool, renames: Any
    ) -> MakeResult:
        with self._lock(conn):
            legacy.refuse(conn, [app], "make a migration")
            ledger.ensure(conn)  # also keeps reflection scoped (see AppEnvironment.include_name)
            conn.commit()
            return make_migration(conn, app, self.dialect_name, message, empty, renames)

    # -- upgrade / downgrade ------------------------------------------------------------------

    async def upgrade(
        self,
        apps: Sequence[str | OrmarApp] | None = None,
        target: str = "head",
        *,
        on_progress: ProgressCallback | None = None,
        questioner: Questioner | None = None,
    ) -> UpgradeResult:
        """Apply pending migrations of ``apps`` (default: all) in dependency order.

        Stops at the first failing app; the result says which migration failed, the
        error, and the revision every app is left at. ``on_progress`` is called on the
        caller's event loop as each app starts and each migration is applied. With a
        ``questioner``, a plan that destroys data is put to it first, and exactly the
        plan it was shown runs (see :meth:`_confirmed`).
        """
        chosen = self._ordered(apps)
        if target not in ("head", "heads") and len(chosen) != 1:
            raise MigrationError("a target revision can only be given for one app")
        confirmed = await self._confirmed(questioner, chosen, target, "up")
        emit = emitter(on_progress)
        return await self.runner.run(
            lambda conn: self._move(conn, chosen, target, "up", emit, confirmed)
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

    def _ordered(self, apps: Sequence[str | OrmarApp] | None) -> list[OrmarApp]:
        if apps is None:
            return self.registry.ordered()
        return self.registry.ordered([self.app(a).name for a in apps])

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
    ) -> UpgradeResult:
        with self._lock(conn):
            if direction == "up":
                legacy.refuse(conn, apps, "upgrade")
            if confirmed is not None:
                self._check_unchanged(conn, apps, target, direction, confirmed)
                conn.commit()
            backup = None
            if self.backups.wanted(self.database.sa_url):
                moves = planned_moves(conn, apps, target, direction, self.dialect_name)
                backup = self._backup_before(conn, moves)
            ledger.ensure(conn)
            conn.commit()
            result = apply(
                conn,
                apps,
                target,
                direction,
                emit,
                dialect_name=self.dialect_name,
                scrub=self.runner.scrub,
                rolls_back=self.runner.transactional_ddl,
            )
            result.backup = backup
            return result

    def _backup_before(
        self, conn: Connection, moves: list[tuple[OrmarApp, str | None, str | None]]
    ) -> Backup | None:
        """The one place a write is backed up (by the policy); raises if the backup fails."""
        return self._backup_maker().before_write(conn, moves)

    def _backup_maker(self) -> BackupMaker:
        apps = list(self.registry.apps.values())
        return BackupMaker(self.backups, self.database.sa_url, self.runner.scrub, apps)

    @contextlib.contextmanager
    def _lock(self, conn: Connection) -> Iterator[None]:
        with migration_lock(conn, timeout=self.lock_timeout, on_wait=self.on_lock_wait):
            yield

    # -- status / check / history / show ------------------------------------------------------

    async def status(
        self, apps: Sequence[str | OrmarApp] | None = None, *, compare: bool = True
    ) -> list[AppStatus]:
        """Per app: current revision, heads, pending scripts, and unmigrated model changes."""
        chosen = self._ordered(apps)

        def run(conn: Connection) -> list[AppStatus]:
            found = legacy.detect(conn, chosen)
            statuses = [app_status(conn, a, self.dialect_name, compare) for a in chosen]
            for status in statuses:
                status.legacy = found.get(status.app)
            return statuses

        return await self.runner.run(run)

    async def check(self, apps: Sequence[str | OrmarApp] | None = None) -> CheckResult:
        """Apps whose models differ from the database (or that have unapplied migrations)."""
        return CheckResult(await self.status(apps, compare=True))

    async def history(self, app: str | OrmarApp) -> list[RevisionInfo]:
        """The app's migrations, oldest first, each marked applied or not."""
        the_app = self.app(app)

        def run(conn: Connection) -> list[RevisionInfo]:
            scripts = AppScripts(the_app, self.dialect_name)
            current = scripts.current(conn)
            chain = scripts.revisions()
            ids = [s.revision for s in chain]
            applied = set(ids[: ids.index(current) + 1]) if current in ids else set()
            return [scripts.info(s, applied=applied) for s in chain]

        return await self.runner.run(run)

    async def heads(self, app: str | OrmarApp) -> list[str]:
        """The app's head revisions (normally one)."""
        return await asyncio.to_thread(self.scripts(app).heads)

    async def current(self, apps: Sequence[str | OrmarApp] | None = None) -> dict[str, str | None]:
        """The revision each app's database is at."""
        chosen = self._ordered(apps)

        def run(conn: Connection) -> dict[str, str | None]:
            return {a.name: AppScripts(a, self.dialect_name).current(conn) for a in chosen}

        return await self.runner.run(run)

    async def show(self, app: str | OrmarApp, revision: str = "head") -> RevisionInfo:
        """One migration with its script text."""
        scripts = self.scripts(app)

        def run() -> RevisionInfo:
            resolved = scripts.revision_id(revision, None)
            if resolved is None:
                raise MigrationError(f"{revision!r} is not a migration of app {scripts.app.name!r}")
            script = scripts.directory().get_revision(resolved)
            assert script is not None
            info = scripts.info(script)
            return RevisionInfo(
                **{**info.__dict__, "script": info.path.read_text(encoding="utf-8")}
            )

        return await asyncio.to_thread(run)

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
        (:class:`PlanChangedError`). ``dry_run`` returns the plans and changes nothing.
        """
        chosen = self._ordered(apps)
        plans = await self.runner.run(lambda conn: adoption.plan_all(conn, chosen, keep_names))
        todo = tuple(p for p in plans if p.state == "legacy")
        if dry_run or not todo:
            return plans
        if questioner is not None and not await questioner.ask(ConfirmAdopt(todo)):
            raise NotConfirmedError("not confirmed; nothing changed")

        def run(conn: Connection) -> list[adoption.AdoptPlan]:
            with self._lock(conn):
                return adoption.adopt_all(conn, chosen, keep_names, plans)

        return await self.runner.run(run)

    async def adopt_sql(self, plans: Sequence[adoption.AdoptPlan]) -> dict[str, str]:
        """Per app to adopt: the SQL that records its revision in its own version table."""

        def render() -> dict[str, str]:
            return {
                p.app: adoption.version_sql(self.app(p.app), p, self.dialect_name)
                for p in plans
                if p.state == "legacy"
            }

        return await asyncio.to_thread(render)

    # -- stamp / sql ------------------------------------------------------------------------

    async def stamp(self, app: str | OrmarApp, revision: str) -> StampResult:
        """Record ``revision`` as applied for the app without running anything."""
        the_app = self.app(app)

        def run(conn: Connection) -> StampResult:
            with self._lock(conn):
                return stamp_locked(conn)

        def stamp_locked(conn: Connection) -> StampResult:
            scripts = AppScripts(the_app, self.dialect_name)
            before = scripts.current(conn)
            resolved = scripts.revision_id(revision, before)
            conn.commit()
            backup = self._backup_before(conn, [(the_app, before, resolved)])
            cfg = scripts.config(connection=conn)
            command.stamp(cfg, resolved or "base")
            after = scripts.current(conn)
            return StampResult(the_app.name, before, after, backup)

        return await self.runner.run(run)

    # -- backup / restore -------------------------------------------------------------------

    async def backup(self, apps: Sequence[str | OrmarApp] | None = None) -> Backup:
        """Back up now, whatever the policy (SQLite: the whole file; a server: ``apps``' tables);
        raises :class:`~.dumps.BackupError` when none could be taken."""
        chosen, maker = self._ordered(apps), self._backup_maker()

        def run(conn: Connection) -> Backup:
            with self._lock(conn):
                label = manual_label(conn, chosen, self.dialect_name) if apps else "all"
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

        return await self.runner.run(run)

    async def sql(
        self, app: str | OrmarApp, target: str | None = None, *, direction: str = "up"
    ) -> SqlResult:
        """The SQL an upgrade (or downgrade) to ``target`` would run; nothing is applied."""
        the_app = self.app(app)
        if direction not in ("up", "down"):
            raise ValueError("direction is 'up' or 'down'")
        way: Literal["up", "down"] = "up" if direction == "up" else "down"
        goal = target or ("head" if way == "up" else "-1")

        def plan(conn: Connection) -> tuple[str | None, str | None, list[RevisionInfo]]:
            legacy.refuse(conn, [the_app], "render an upgrade")
            return plan_app(conn, self.scripts(the_app), goal, way)

        current, resolved, steps = await self.runner.run(plan)
        if steps and self.dialect_name == "sqlite":  # batches need the tables: replay them

            def replay(conn: Connection) -> SqlResult:
                revisions = [step.revision for step in steps]
                sql = replay_sql(conn, self.scripts(the_app), way, resolved or "base", revisions)
                return SqlResult(the_app.name, way, current, resolved, sql)

            return await self.runner.run(replay)

        def render() -> SqlResult:
            scripts = AppScripts(the_app, self.dialect_name)
            buffer = io.StringIO()
            cfg = scripts.config(output=buffer)
            if steps:
                start = current or "base"
                end = resolved or "base"
                if way == "up":
                    command.upgrade(cfg, f"{start}:{end}" if current else end, sql=True)
                else:
                    command.downgrade(cfg, f"{start}:{end}", sql=True)
            return SqlResult(the_app.name, way, current, resolved, buffer.getvalue())

        try:
            return await asyncio.to_thread(render)
        except CommandError as exc:
            raise MigrationError(
                f"cannot render the SQL offline: {self.runner.scrub(first_line(exc))}"
            ) from None
