"""The migration engine: make, status, check, history, show, stamp and sql here; upgrade and
downgrade in :mod:`.engine_moves`; adopt, backup and restore in :mod:`.engine_care`.

Both faces, the ``nxalembic`` CLI and the ``/migrate`` cog, call these methods and render
what they return. Each method runs Alembic synchronously over a SQLAlchemy connection
(Alembic's ``run_sync`` pattern), either on the bot's own engine or, by default, in a
worker thread with an engine made from the bot's own URL and options, so that comparing
and rendering never stall the bot's event loop (see :class:`MigrationEngine`).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Sequence
from typing import Any, Literal

from alembic import command
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from ..apps import OrmarApp
from ..errors import MigrationError, first_line
from . import ledger, legacy
from .engine_care import CareMixin
from .engine_moves import MovesMixin
from .executor import ProgressCallback, plan_app
from .maker import make_migration
from .naming import clean_message
from .preview import replay_sql
from .questions import Questioner
from .renames import Rename, ask_renames, renames_for
from .results import (
    AppStatus,
    CheckResult,
    MakeResult,
    RevisionInfo,
    SqlResult,
    StampResult,
)
from .snapshot import AppSnapshot, on_caller_thread
from .status import app_statuses, diff_if_current

__all__ = ["MigrationEngine", "ProgressCallback"]


class MigrationEngine(MovesMixin, CareMixin):
    """Per-app Alembic operations over the bot's database.

    ``in_thread`` (default: on, except for in-memory SQLite) runs the Alembic work in a worker
    thread with its own event loop and an engine built from the bot's URL and engine
    options: asyncpg connections belong to the loop that opened them, and Alembic's
    comparing, rendering and script imports are CPU work that would otherwise hold the
    bot's loop (and its gateway heartbeat). With ``in_thread=False`` the work runs through
    ``run_sync`` on the bot's own engine. The worker keeps its SQLite and MySQL connection
    between operations; :meth:`close` closes it (the cog does when it is unloaded).

    ``backups`` (a :class:`~.backup.Backups`, or ``True``/``False``; default: a SQLite file
    yes, a server no) says whether every write (upgrade, downgrade, stamp, adopt, restore) is
    preceded by a backup, and where it goes; a backup that fails stops the write.

    The methods come in facets: upgrade and downgrade in :class:`~.engine_moves.MovesMixin`,
    adopt, backup and restore in :class:`~.engine_care.CareMixin`, what they share in
    :class:`~.engine_core.EngineCore`.
    """

    @classmethod
    def for_bot(cls, bot: Any, **options: Any) -> MigrationEngine:
        """The engine over a :class:`nextcord_ormar.Bot`'s database, registry and backups."""
        options.setdefault("backups", getattr(bot, "backups", None))
        return cls(bot.database, bot.registry, **options)

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
            found = await self.runner.run(lambda c: diff_if_current(c, self.scripts(the_app)))
            chosen = await ask_renames(found, chosen, questioner)
        home = on_caller_thread()
        return await self.runner.run(
            lambda c: self._make_locked(c, the_app, text, empty, chosen, home)
        )

    def _make_locked(
        self,
        conn: Connection,
        app: OrmarApp,
        message: str | None,
        empty: bool,
        renames: Any,
        home: Callable[[Callable[[], AppSnapshot]], AppSnapshot],
    ) -> MakeResult:
        with self._lock(conn):
            scripts = self.scripts(app, taken_on=home)  # the app as it is now, once
            legacy.refuse(conn, [app], "make a migration")
            ledger.ensure(conn)  # also keeps reflection scoped (see AppEnvironment.include_name)
            conn.commit()
            return make_migration(conn, scripts, message, empty, renames)

    # -- status / check / history / show ------------------------------------------------------

    async def status(
        self, apps: Sequence[str | OrmarApp] | None = None, *, compare: bool = True
    ) -> list[AppStatus]:
        """Per app: current revision, heads, pending scripts, and unmigrated model changes.

        All the apps are answered together, at about the cost of one (see
        :func:`.status.app_statuses`): one listing of the tables, one read of the version
        rows and of the ledger, one Alembic comparison reflecting every app's tables."""
        chosen = self._ordered(apps)

        def run(conn: Connection) -> list[AppStatus]:
            return app_statuses(conn, [self.scripts(a) for a in chosen], compare)

        return await self.runner.run(run)

    async def check(self, apps: Sequence[str | OrmarApp] | None = None) -> CheckResult:
        """Apps whose models differ from the database (or that have unapplied migrations)."""
        return CheckResult(await self.status(apps, compare=True))

    async def history(self, app: str | OrmarApp) -> list[RevisionInfo]:
        """The app's migrations, oldest first, each marked applied or not."""
        the_app = self.app(app)

        def run(conn: Connection) -> list[RevisionInfo]:
            scripts = self.scripts(the_app)
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
            return {a.name: self.scripts(a).current(conn) for a in chosen}

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

    # -- stamp / sql ------------------------------------------------------------------------

    async def stamp(self, app: str | OrmarApp, revision: str) -> StampResult:
        """Record ``revision`` as applied for the app without running anything."""
        the_app = self.app(app)

        def run(conn: Connection) -> StampResult:
            with self._lock(conn):
                return stamp_locked(conn)

        def stamp_locked(conn: Connection) -> StampResult:
            scripts = self.scripts(the_app)
            before = scripts.current(conn)
            resolved = scripts.revision_id(revision, before)
            conn.commit()
            backup = self._backup_before(conn, [(the_app, before, resolved)])
            cfg = scripts.config(connection=conn)
            command.stamp(cfg, resolved or "base")
            after = scripts.current(conn)
            return StampResult(the_app.name, before, after, backup)

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
            scripts = self.scripts(the_app)
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
