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
import dataclasses
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy
from alembic import command
from alembic.autogenerate import produce_migrations
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ..apps import OrmarApp, Registry
from ..apps import registry as default_registry
from ..database import BotDatabase
from ..database import database as default_database
from . import ledger
from .environment import ATTRIBUTE
from .locking import migration_lock
from .naming import clean_message, next_revision_id, slugify
from .operations import describe_operations, flatten, name_from_operations, warnings_for
from .results import (
    AppRun,
    AppStatus,
    CheckResult,
    MakeResult,
    Plan,
    ProgressEvent,
    RevisionInfo,
    SqlResult,
    StampResult,
    Step,
    UpgradeResult,
)
from .scripts import AppScripts, MigrationError, script_drops

__all__ = ["MigrationEngine", "ProgressCallback"]

T = TypeVar("T")
ProgressCallback = Callable[[ProgressEvent], Any]


class MigrationEngine:
    """Per-app Alembic operations over the bot's database.

    ``in_thread`` (default: on, except for in-memory SQLite) runs the Alembic work in a worker
    thread with its own event loop and an engine built from the bot's URL and engine
    options: asyncpg connections belong to the loop that opened them, and Alembic's
    comparing, rendering and script imports are CPU work that would otherwise hold the
    bot's loop (and its gateway heartbeat). With ``in_thread=False`` the work runs through
    ``run_sync`` on the bot's own engine.
    """

    def __init__(
        self,
        database: BotDatabase | None = None,
        registry: Registry | None = None,
        *,
        in_thread: bool | None = None,
        lock_timeout: float = 0.0,
        on_lock_wait: Callable[[], None] | None = None,
    ) -> None:
        self.database = database or default_database
        self.registry = registry or default_registry
        self._in_thread = in_thread
        #: Seconds a write waits for another process's migration to finish (0: fail at once).
        self.lock_timeout = lock_timeout
        #: Called (from the worker) once when a write has to wait for the lock.
        self.on_lock_wait = on_lock_wait

    @classmethod
    def for_bot(cls, bot: Any, **options: Any) -> MigrationEngine:
        """The engine over a :class:`nextcord_ormar.Bot`'s database and registry."""
        return cls(bot.database, bot.registry, **options)

    # -- plumbing -------------------------------------------------------------------------

    @property
    def in_thread(self) -> bool:
        if self._in_thread is not None:
            return self._in_thread
        url = self.database.sa_url
        return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))

    @property
    def dialect_name(self) -> str:
        return self.database.dialect_name

    def app(self, app: str | OrmarApp) -> OrmarApp:
        """The app for a name (or the app itself)."""
        return app if isinstance(app, OrmarApp) else self.registry.get(app)

    def scripts(self, app: str | OrmarApp) -> AppScripts:
        return AppScripts(self.app(app), self.dialect_name)

    def _scrub(self, text: str) -> str:
        password = self.database.sa_url.password
        return text.replace(str(password), "***") if password else text

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(connection)`` where it cannot stall the caller's loop; commit at the end."""

        def wrapped(conn: Connection) -> T:
            result = fn(conn)
            if conn.in_transaction():
                conn.commit()
            return result

        try:
            if self.in_thread:
                with _short_gil_turns():
                    return await asyncio.to_thread(self._in_private_loop, wrapped)
            if not self.database.is_connected:
                await self.database.connect()
            async with self.database.engine.connect() as conn:
                return await conn.run_sync(wrapped)
        except (OSError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
            raise MigrationError(
                f"database error on {self.database.url}: {self._scrub(_first_line(exc))}"
            ) from None
        except CommandError as exc:
            raise MigrationError(self._scrub(_first_line(exc))) from None

    def _in_private_loop(self, fn: Callable[[Connection], T]) -> T:
        async def main() -> T:
            engine = create_async_engine(self.database.sa_url, **self.database.engine_options)
            if engine.dialect.name == "sqlite":
                _transactional_sqlite(engine.sync_engine)
            try:
                async with engine.connect() as conn:
                    return await conn.run_sync(fn)
            finally:
                await engine.dispose()

        return asyncio.run(main())

    # -- make -----------------------------------------------------------------------------

    async def make(
        self, app: str | OrmarApp, *, message: str | None = None, empty: bool = False
    ) -> MakeResult:
        """Autogenerate the app's next migration against the live database (or a blank one).

        Writes ``<id>_<slug>.py`` into the app's versions folder. With no changes, nothing
        is written (``outcome == "no_changes"``) unless ``empty``; with migrations not yet
        applied, nothing is written (``outcome == "not_up_to_date"``).
        """
        the_app = self.app(app)
        text = clean_message(message)
        return await self._run(lambda conn: self._make_locked(conn, the_app, text, empty))

    def _make_locked(
        self, conn: Connection, app: OrmarApp, message: str | None, empty: bool
    ) -> MakeResult:
        with self._lock(conn):
            ledger.ensure(conn)  # also keeps reflection scoped (see AppEnvironment.include_name)
            conn.commit()
            return self._make(conn, app, message, empty)

    def _make(
        self, conn: Connection, app: OrmarApp, message: str | None, empty: bool
    ) -> MakeResult:
        scripts = AppScripts(app, self.dialect_name)
        current = scripts.current(conn)
        heads = scripts.heads()
        # An empty migration needs no comparison, so it may follow unapplied ones.
        if heads and current not in heads and not empty:
            pending = [s.revision for s in scripts.path_between(current, heads[0])]
            return MakeResult(app=app.name, outcome="not_up_to_date", pending=pending)
        conn.commit()
        folder = scripts.folder
        folder.mkdir(parents=True, exist_ok=True)
        rev_id = next_revision_id(folder, set(scripts.known()))
        captured: dict[str, Any] = {}

        def directives(context: Any, revision: Any, found: list[Any]) -> None:
            script = found[0]
            upgrade_ops = script.upgrade_ops
            captured["ops"] = upgrade_ops
            if upgrade_ops.is_empty():
                found[:] = []
                return
            name = message or name_from_operations(describe_operations(upgrade_ops), app.name)
            captured["message"] = name
            script.message = name

        cfg = scripts.config(connection=conn, process_revision_directives=directives)
        if empty:
            name = message or "empty"
            captured["message"] = name
            generated = command.revision(cfg, message=name, rev_id=rev_id)
        else:
            generated = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
        if conn.in_transaction():
            conn.rollback()
        upgrade_ops = captured.get("ops")
        operations = describe_operations(upgrade_ops)
        if not generated:
            return MakeResult(app=app.name, outcome="no_changes", operations=operations)
        script_obj = generated[0] if isinstance(generated, list) else generated
        assert script_obj is not None
        path = Path(script_obj.path)
        name = captured["message"]
        path = _rename_safely(path, f"{rev_id}_{slugify(name) or 'migration'}.py")
        return MakeResult(
            app=app.name,
            outcome="written",
            revision=rev_id,
            message=name,
            path=path,
            script=path.read_text(encoding="utf-8"),
            operations=operations,
            warnings=warnings_for(upgrade_ops, _tables_with_rows(conn, upgrade_ops)),
            empty=empty,
        )

    # -- upgrade / downgrade ------------------------------------------------------------------

    async def upgrade(
        self,
        apps: Sequence[str | OrmarApp] | None = None,
        target: str = "head",
        *,
        on_progress: ProgressCallback | None = None,
    ) -> UpgradeResult:
        """Apply pending migrations of ``apps`` (default: all) in dependency order.

        Stops at the first failing app; the result says which migration failed, the
        error, and the revision every app is left at. ``on_progress`` is called on the
        caller's event loop as each app starts and each migration is applied.
        """
        chosen = self._ordered(apps)
        if target not in ("head", "heads") and len(chosen) != 1:
            raise MigrationError("a target revision can only be given for one app")
        emit = self._emitter(on_progress)
        return await self._run(lambda conn: self._move(conn, chosen, target, "up", emit))

    async def downgrade(
        self,
        app: str | OrmarApp,
        target: str = "-1",
        *,
        on_progress: ProgressCallback | None = None,
    ) -> UpgradeResult:
        """Undo the app's migrations down to ``target`` (default: one step)."""
        the_app = self.app(app)
        emit = self._emitter(on_progress)
        return await self._run(lambda conn: self._move(conn, [the_app], target, "down", emit))

    def _emitter(self, callback: ProgressCallback | None) -> Callable[[ProgressEvent], None]:
        if callback is None:
            return lambda event: None
        loop = asyncio.get_running_loop()

        def emit(event: ProgressEvent) -> None:
            loop.call_soon_threadsafe(_call_progress, callback, event)

        return emit

    def _ordered(self, apps: Sequence[str | OrmarApp] | None) -> list[OrmarApp]:
        if apps is None:
            return self.registry.ordered()
        return self.registry.ordered([self.app(a).name for a in apps])

    async def plan(
        self, app: str | OrmarApp, target: str | None = None, direction: str = "up"
    ) -> Plan:
        """What an upgrade (or downgrade) to ``target`` would run, without running it."""
        the_app = self.app(app)
        way: Literal["up", "down"] = "down" if direction == "down" else "up"
        goal = target or ("head" if way == "up" else "-1")

        def run(conn: Connection) -> Plan:
            current, resolved, steps = self._plan(conn, the_app, goal, way)
            return Plan(the_app.name, way, current, resolved, steps)

        return await self._run(run)

    def _plan(
        self, conn: Connection, app: OrmarApp, target: str, direction: Literal["up", "down"]
    ) -> tuple[str | None, str | None, list[RevisionInfo]]:
        """(current, resolved target, the scripts that would run, in run order)."""
        scripts = AppScripts(app, self.dialect_name)
        current = scripts.current(conn)
        if current is not None and current not in scripts.known():
            raise MigrationError(
                f"app {app.name!r} is at revision {current!r}, which has no script in "
                f"{scripts.folder}; restore the file or stamp the app"
            )
        if direction == "down" and current is None:
            raise MigrationError(f"app {app.name!r} has nothing applied; nothing to undo")
        resolved = scripts.resolve(target, current)
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
                raise MigrationError(
                    f"app {app.name!r} is at {current}, below {resolved}; use upgrade"
                )
            path = list(reversed(scripts.path_between(resolved, current)))
        steps = [scripts.info(s) for s in path]
        steps = [dataclasses.replace(s, destructive=script_drops(s.path, direction)) for s in steps]
        return current, resolved, steps

    def _move(
        self,
        conn: Connection,
        apps: list[OrmarApp],
        target: str,
        direction: Literal["up", "down"],
        emit: Callable[[ProgressEvent], None],
    ) -> UpgradeResult:
        with self._lock(conn):
            ledger.ensure(conn)
            conn.commit()
            return self._move_locked(conn, apps, target, direction, emit)

    def _move_locked(
        self,
        conn: Connection,
        apps: list[OrmarApp],
        target: str,
        direction: Literal["up", "down"],
        emit: Callable[[ProgressEvent], None],
    ) -> UpgradeResult:
        result = UpgradeResult(direction=direction)
        for app in apps:
            scripts = AppScripts(app, self.dialect_name)
            if not scripts.has_scripts():
                result.apps.append(AppRun(app.name, None, None))
                continue
            before, resolved, plan = self._plan(conn, app, target, direction)
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
                run.error = self._scrub(f"{type(exc).__name__}: {_first_line(exc)}")
                run.traceback = self._scrub(traceback.format_exc())
                run.rolled_back = self._transactional_ddl
                if not run.rolled_back:
                    failed_sql = isinstance(exc, sqlalchemy.exc.DBAPIError)
                    ran = statements[:-1] if failed_sql else statements
                    run.statements_run = [self._scrub(s) for s in ran]
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

    @property
    def _transactional_ddl(self) -> bool:
        """Whether a failed migration's DDL is rolled back (PostgreSQL; SQLite in a thread)."""
        name = self.dialect_name
        return name == "postgresql" or (name == "sqlite" and self.in_thread)

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
        return await self._run(lambda conn: [self._status(conn, a, compare) for a in chosen])

    def _status(self, conn: Connection, app: OrmarApp, compare: bool) -> AppStatus:
        scripts = AppScripts(app, self.dialect_name)
        current = scripts.current(conn)
        known = scripts.known()
        heads = scripts.heads()
        unknown_current = current is not None and current not in known
        pending = (
            [scripts.info(s) for s in scripts.path_between(current, heads[0])]
            if heads and not unknown_current
            else []
        )
        recorded = ledger.recorded(conn, app.name)
        chain = known[: known.index(current) + 1] if current in known else []
        tampered = [
            rev
            for rev, script in zip(chain, scripts.revisions(), strict=False)
            if rev in recorded and recorded[rev] != ledger.checksum(Path(script.path))
        ]
        differs: bool | None = None
        changes = []
        if compare:
            upgrade_ops = self._diff(conn, app)
            changes = describe_operations(upgrade_ops)
            differs = bool(changes)
        return AppStatus(
            app=app.name,
            current=current,
            heads=heads,
            pending=pending,
            differs=differs,
            changes=changes,
            migrations_path=scripts.folder,
            unknown_current=unknown_current,
            tampered=tampered,
        )

    def _diff(self, conn: Connection, app: OrmarApp) -> ops.UpgradeOps:
        options = AppScripts(app, self.dialect_name).config().attributes[ATTRIBUTE].options()
        context = MigrationContext.configure(connection=conn, opts=options)
        upgrade_ops = produce_migrations(context, app.metadata).upgrade_ops
        assert upgrade_ops is not None
        return upgrade_ops

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

        return await self._run(run)

    async def heads(self, app: str | OrmarApp) -> list[str]:
        """The app's head revisions (normally one)."""
        return await asyncio.to_thread(self.scripts(app).heads)

    async def current(self, apps: Sequence[str | OrmarApp] | None = None) -> dict[str, str | None]:
        """The revision each app's database is at."""
        chosen = self._ordered(apps)

        def run(conn: Connection) -> dict[str, str | None]:
            return {a.name: AppScripts(a, self.dialect_name).current(conn) for a in chosen}

        return await self._run(run)

    async def show(self, app: str | OrmarApp, revision: str = "head") -> RevisionInfo:
        """One migration with its script text."""
        scripts = self.scripts(app)

        def run() -> RevisionInfo:
            resolved = scripts.resolve(revision, None)
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
            scripts = AppScripts(the_app, self.dialect_name)
            before = scripts.current(conn)
            resolved = scripts.resolve(revision, before)
            conn.commit()
            cfg = scripts.config(connection=conn)
            command.stamp(cfg, resolved or "base")
            after = scripts.current(conn)
            return StampResult(the_app.name, before, after)

        return await self._run(run)

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
            return self._plan(conn, the_app, goal, way)

        current, resolved, steps = await self._run(plan)

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
                f"cannot render the SQL offline: {self._scrub(_first_line(exc))}"
            ) from None


_WORKERS = 0
_SAVED_INTERVAL = 0.005
#: While migration work runs in a worker thread, the interpreter hands the GIL over every
#: millisecond instead of every 5: the bot's loop thread then waits at most that long each
#: time it needs the GIL back from CPU-bound Alembic work (see bench/, ``ack_time``).
GIL_SWITCH_INTERVAL = 0.001


@contextlib.contextmanager
def _short_gil_turns() -> Iterator[None]:
    global _WORKERS, _SAVED_INTERVAL
    if _WORKERS == 0:
        _SAVED_INTERVAL = sys.getswitchinterval()
        sys.setswitchinterval(min(_SAVED_INTERVAL, GIL_SWITCH_INTERVAL))
    _WORKERS += 1
    try:
        yield
    finally:
        _WORKERS -= 1
        if _WORKERS == 0:
            sys.setswitchinterval(_SAVED_INTERVAL)


def _transactional_sqlite(engine: sqlalchemy.engine.Engine) -> None:
    """Make SQLite run DDL inside transactions (its driver would otherwise autocommit it)."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


_PROGRESS_TASKS: set[asyncio.Future[Any]] = set()


def _call_progress(callback: ProgressCallback, event: ProgressEvent) -> None:
    outcome = callback(event)
    if asyncio.iscoroutine(outcome):
        task = asyncio.ensure_future(outcome)
        _PROGRESS_TASKS.add(task)
        task.add_done_callback(_PROGRESS_TASKS.discard)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def _is_below(scripts: AppScripts, a: str | None, b: str | None) -> bool:
    """Whether revision ``a`` comes strictly before ``b`` in the app's chain (None is base)."""
    ids = scripts.known()
    pos_a = ids.index(a) + 1 if a in ids else 0
    pos_b = ids.index(b) + 1 if b in ids else 0
    return pos_a < pos_b


def _rename_safely(path: Path, wanted_name: str) -> Path:
    """Give Alembic's file our name, unless a file of that name exists (never overwrite)."""
    target = path.with_name(wanted_name)
    if target == path or target.exists():
        return path
    os.rename(path, target)
    return target


def _tables_with_rows(conn: Connection, upgrade_ops: ops.UpgradeOps | None) -> set[str]:
    """Which tables touched by column additions or NOT NULL changes already hold rows."""
    if upgrade_ops is None:
        return set()
    names = {
        op.table_name
        for op in flatten(upgrade_ops)
        if isinstance(op, ops.AddColumnOp | ops.AlterColumnOp)
    }
    found = set()
    for name in names:
        try:
            row = conn.execute(
                sqlalchemy.select(sqlalchemy.literal(1))
                .select_from(sqlalchemy.table(name))
                .limit(1)
            ).first()
        except sqlalchemy.exc.DBAPIError:
            conn.rollback()
            continue
        if row is not None:
            found.add(name)
    if conn.in_transaction():
        conn.rollback()
    return found
