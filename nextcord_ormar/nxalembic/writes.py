"""``nxalembic upgrade``, ``downgrade``, ``stamp`` and ``adopt``: the commands that move apps.

Each asks the engine (with the terminal's questioner when the plan drops data), prints the
backup taken first (by the backup policy), then what happened to each app.
"""

from __future__ import annotations

from ..apps import OrmarApp
from ..migrations import AppRun, MigrationEngine
from ..migrations.adopt import backup_of
from . import output
from .commands import EXIT_FAILURE, EXIT_OK, CommandBase

__all__ = ["WriteCommands"]


class WriteCommands(CommandBase):
    """The ``upgrade``, ``downgrade``, ``stamp`` and ``adopt`` commands of :class:`~.cli.Cli`."""

    async def cmd_upgrade(self, engine: MigrationEngine) -> int:
        apps = self._apps()
        if self.args.sql:
            for app in apps:
                await self._print_sql(engine, app, self.args.revision, "up")
            return EXIT_OK
        result = await engine.upgrade(
            apps if self.args.app else None, self.args.revision, questioner=self.prompt()
        )
        self.say(output.backup_lines(result.backup))
        return self._print_runs(engine, result.apps, [a.name for a in apps])

    async def cmd_downgrade(self, engine: MigrationEngine) -> int:
        app = engine.app(self.args.app)
        if self.args.sql:
            await self._print_sql(engine, app, self.args.revision, "down")
            return EXIT_OK
        result = await engine.downgrade(app, self.args.revision, questioner=self.prompt())
        self.say(output.backup_lines(result.backup))
        return self._print_runs(engine, result.apps, [app.name])

    async def _print_sql(
        self, engine: MigrationEngine, app: OrmarApp, target: str, direction: str
    ) -> None:
        if not engine.scripts(app).has_scripts():
            self.say([f"-- {app.name}: no migrations yet"])
            return
        self.say(output.sql_lines(await engine.sql(app, target, direction=direction)))

    def _print_runs(self, engine: MigrationEngine, runs: list[AppRun], planned: list[str]) -> int:
        for run in runs:
            has_scripts = engine.scripts(run.app).has_scripts()
            self.say(output.run_lines(run, has_scripts=has_scripts, verbose=self.verbose))
        failed = any(run.error is not None for run in runs)
        done = {run.app for run in runs}
        skipped = [name for name in planned if name not in done]
        if failed and skipped:
            self.say([f"{name}: not attempted (an earlier app failed)" for name in skipped])
        return EXIT_FAILURE if failed else EXIT_OK

    async def cmd_stamp(self, engine: MigrationEngine) -> int:
        self.say(output.stamp_lines(await engine.stamp(self.args.app, self.args.revision)))
        return EXIT_OK

    async def cmd_adopt(self, engine: MigrationEngine) -> int:
        args = self.args
        apps = self._apps()
        only_show = args.sql or args.dry_run
        plans = await engine.adopt(
            apps, keep_names=args.keep_names, dry_run=only_show, questioner=self.prompt()
        )
        self.say(output.backup_lines(backup_of(plans)))
        for plan in plans:
            self.say(output.adopt_lines(plan))
        if args.sql:
            for app, sql in (await engine.adopt_sql(plans)).items():
                self.say([f"-- {app}", sql.rstrip()])
        if only_show and any(plan.state == "legacy" for plan in plans):
            self.say(["(nothing was changed)"])
        return EXIT_OK
