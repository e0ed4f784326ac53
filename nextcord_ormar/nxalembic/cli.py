"""``nxalembic``: the terminal face of the migration engine.

Each command parses its arguments, calls :class:`~nextcord_ormar.migrations.MigrationEngine`
and prints what the engine returns. Exit status: 0 success, 1 failure (or, for ``check``,
models that differ from the database), 2 usage or configuration error. Errors are one
line on stderr; ``--verbose`` adds the traceback. Database passwords are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import traceback
import warnings
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from ..apps import OrmarApp
from ..errors import ConfigError, NextcordOrmarError, NotConfirmedError, UsageError, first_line
from ..migrations import MigrationEngine
from ..migrations.naming import clean_message
from ..migrations.questions import Question
from ..redact import Scrubber
from . import output
from .backups import BackupCommands, backup_settings
from .commands import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from .history import compared_with, renames, wants_replay
from .parser import PROG, parser
from .project import ProjectConfig, load_bot, read_config
from .recall import READ_ONLY_COMMANDS, RecordedBot, recall, recording, remember, stamp
from .writes import WriteCommands

if TYPE_CHECKING:
    from ..bot import DatabaseBotMixin

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "main"]

#: Commands that only read the scripts and need no database connection.
_OFFLINE_COMMANDS = {"heads", "show"}


def _say_waiting(timeout: float) -> Callable[[], None]:
    def say() -> None:
        print(
            f"nxalembic: another migration is running on this database; waiting up to "
            f"{timeout:g} s for it to finish...",
            file=sys.stderr,
            flush=True,
        )

    return say


def _from_nextcord(category: type[Warning]) -> bool:
    """Whether a warning class is nextcord's own (not nextcord-ormar's)."""
    return category.__module__.split(".")[0] == "nextcord"


class _ScrubFilter(logging.Filter):
    def __init__(self, scrub: Scrubber) -> None:
        super().__init__()
        self.scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        return True


class _Prompt:
    """The terminal's questioner: ``--yes``, a ``[y/N]`` prompt, or a refusal naming ``--yes``."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli

    async def ask(self, question: Question) -> bool:
        args = self.cli.args
        if args.yes:
            return True
        if args.no_input or not sys.stdin.isatty():
            raise NotConfirmedError(
                f"{question.summary()}; nothing changed. Run again with --yes to confirm"
            )
        self.cli.say(output.question_lines(question))
        self.cli.stdout.write(output.PROMPT)
        self.cli.stdout.flush()
        answer = await asyncio.to_thread(sys.stdin.readline)
        if answer.strip().lower() in ("y", "yes"):
            return True
        raise NotConfirmedError("not confirmed; nothing changed")


class Cli(WriteCommands, BackupCommands):
    """One run of ``nxalembic``: the parsed arguments, the bot, and where output goes."""

    def __init__(self, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> None:
        self.args = args
        self.stdout = stdout
        self.stderr = stderr
        self.verbose = bool(args.verbose)
        self.scrub = Scrubber(args.database_url)
        self.scrub.add(getattr(args, "replay_url", None))
        self.bot: DatabaseBotMixin | RecordedBot | None = None
        self.engine: MigrationEngine | None = None
        self.config: ProjectConfig | None = None

    def prompt(self) -> _Prompt:
        return _Prompt(self)

    # -- output ---------------------------------------------------------------------

    def say(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.stdout.write(self.scrub(line) + "\n")
        self.stdout.flush()

    def error(self, message: str) -> None:
        """One line on stderr: the first line of ``message`` (drivers add more)."""
        self.stderr.write(f"{PROG}: error: {self.scrub(first_line(message))}\n")
        self.stderr.flush()

    def _traceback(self, exc: BaseException) -> None:
        if self.verbose:
            text = "".join(traceback.format_exception(exc))
            self.stderr.write(self.scrub(text))

    @contextmanager
    def _diagnostics(self) -> Iterator[None]:
        """Logging (with ``--verbose``) and Python warnings as scrubbed one-line messages."""
        handler = logging.StreamHandler(self.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(_ScrubFilter(self.scrub))
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.INFO if self.verbose else logging.WARNING)
        # nextcord warns about intents and voice when the bot is created: noise here.
        discord_log = logging.getLogger("nextcord")
        old_discord_level = discord_log.level
        if not self.verbose:
            discord_log.setLevel(logging.ERROR)
        old_showwarning = warnings.showwarning

        def showwarning(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if not self.verbose and _from_nextcord(category):
                return  # start-up advice for running bots; nxalembic never runs the bot
            text = first_line(str(message)) or category.__name__
            self.stderr.write(self.scrub(f"{PROG}: warning: {text}") + "\n")

        warnings.showwarning = showwarning
        try:
            yield
        finally:
            warnings.showwarning = old_showwarning
            root.removeHandler(handler)
            root.setLevel(old_level)
            discord_log.setLevel(old_discord_level)

    # -- running ----------------------------------------------------------------------

    def run(self) -> int:
        with self._diagnostics():
            try:
                return self._run()
            except NextcordOrmarError as exc:
                self.error(str(exc))
                self._traceback(exc)
                return EXIT_USAGE if exc.usage else EXIT_FAILURE
            except KeyboardInterrupt:
                self.error("interrupted")
                return EXIT_INTERRUPTED
            except Exception as exc:
                first = first_line(str(exc))
                detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
                hint = "" if self.verbose else " (run with --verbose for the traceback)"
                self.error(f"unexpected error: {detail}{hint}")
                self._traceback(exc)
                return EXIT_FAILURE

    def _run(self) -> int:
        self._check_arguments()
        self.config = read_config(self.args.config)
        self.scrub.add(self.config.replay_url)
        bot = self._find_bot(self.config)
        self.bot = bot
        self.scrub.add(bot.database.sa_url)
        if self.args.database_url:
            bot.set_database_url(self.args.database_url)
            self.scrub.add(bot.database.sa_url)
        if not bot.registry.apps:
            raise ConfigError(
                "the bot has no apps: its module must load the cogs' extensions when imported "
                "(bot.load_extension(...)), and each cog must create an OrmarApp"
            )
        self._check_apps()
        self.engine = MigrationEngine.for_bot(
            bot,
            lock_timeout=self.args.lock_timeout,
            on_lock_wait=_say_waiting(self.args.lock_timeout),
            backups=backup_settings(self.args, bot),
        )
        handler: Callable[[MigrationEngine], Awaitable[int]] = getattr(
            self, "cmd_" + _canonical(self.args.command)
        )
        return asyncio.run(self._connected(handler, self.engine))

    async def _connected(
        self, handler: Callable[[MigrationEngine], Awaitable[int]], engine: MigrationEngine
    ) -> int:
        assert self.bot is not None
        try:
            command = _canonical(self.args.command)
            if command not in _OFFLINE_COMMANDS and not wants_replay(self.args):
                await self.bot.connect_database()
            return await handler(engine)
        finally:
            await self.bot.disconnect_database()

    def _find_bot(self, config: ProjectConfig) -> DatabaseBotMixin | RecordedBot:
        """The bot: imported, or for a read-only command as recorded at the last import
        (not with ``--verbose``, which shows what importing the bot logs and warns)."""
        taken = stamp(config)
        if _canonical(self.args.command) in READ_ONLY_COMMANDS and not self.verbose:
            recalled = recall(config, taken)
            if recalled is not None:
                return recalled
        with recording() as recorder:
            bot = load_bot(config)
        if bot.registry.apps:
            remember(config, taken, bot, recorder)
        return bot

    def _check_arguments(self) -> None:
        """Combinations argparse cannot express, checked before anything is imported."""
        args = self.args
        command = _canonical(args.command)
        if command == "migrate":
            if args.empty and not args.app:
                raise UsageError("migrate --empty needs --app: a blank migration is for one app")
            clean_message(args.message)  # refuses a message that cannot be used, up front
        if command == "upgrade" and args.revision not in ("head", "heads") and not args.app:
            raise UsageError(
                f"upgrade to {args.revision!r} needs --app: revisions belong to one app"
            )

    def _check_apps(self) -> None:
        """An app named on the command line must exist (the error lists the known ones)."""
        assert self.bot is not None
        name = getattr(self.args, "app", None)
        if name:
            self.bot.registry.get(name)

    def _apps(self) -> list[OrmarApp]:
        """The app given on the command line, or every app in dependency order."""
        assert self.bot is not None
        name = getattr(self.args, "app", None)
        registry = self.bot.registry
        return [registry.get(name)] if name else registry.ordered()

    # -- commands ---------------------------------------------------------------------

    async def cmd_migrate(self, engine: MigrationEngine) -> int:
        code = EXIT_OK
        options: dict[str, Any] = {"message": self.args.message, "empty": self.args.empty}
        options.update(renames=renames(self.args, engine.registry), questioner=self.prompt())
        async with compared_with(engine, self._apps(), self.args, self.config) as maker:
            for app in self._apps():
                try:
                    result = await maker.make(app, **options)
                except Exception as exc:  # one app's failure is reported; the others go on
                    self._app_failed(app.name, exc)
                    code = EXIT_FAILURE
                    continue
                self.say(output.make_lines(result))
                if result.outcome == "not_up_to_date":
                    code = EXIT_FAILURE
        return code

    def _app_failed(self, app: str, exc: Exception) -> None:
        """One app's error as its own line (with ``-v``, its traceback)."""
        first = first_line(str(exc))
        known = isinstance(exc, NextcordOrmarError)
        detail = first if known and first else f"{type(exc).__name__}: {first}".rstrip(": ")
        self.say([f"{app}: error: {detail}"])
        self._traceback(exc)

    async def cmd_current(self, engine: MigrationEngine) -> int:
        for status in await engine.status(self._apps(), compare=False):
            self.say(output.current_lines(status))
        return EXIT_OK

    async def cmd_history(self, engine: MigrationEngine) -> int:
        for app in self._apps():
            revisions = await engine.history(app)
            self.say(output.history_lines(app.name, app.migrations_path, revisions))
        return EXIT_OK

    async def cmd_heads(self, engine: MigrationEngine) -> int:
        for app in self._apps():
            self.say(output.heads_lines(app.name, await engine.heads(app)))
        return EXIT_OK

    async def cmd_show(self, engine: MigrationEngine) -> int:
        info = await engine.show(self.args.app, self.args.revision)
        self.say(output.show_lines(info))
        return EXIT_OK

    async def cmd_check(self, engine: MigrationEngine) -> int:
        code = EXIT_OK
        async with compared_with(engine, self._apps(), self.args, self.config) as checker:
            for app in self._apps():
                try:
                    result = await checker.check([app])
                except Exception as exc:  # one app's failure is reported; the others go on
                    self._app_failed(app.name, exc)
                    code = EXIT_FAILURE
                    continue
                for status in result.statuses:
                    self.say(output.check_lines(status))
                if not result.ok:
                    code = EXIT_FAILURE
        return code


def _quiet_closed_loop_in_driver_threads() -> None:
    """Drop "Event loop is closed" raised in a database driver's worker thread.

    aiosqlite's worker thread answers a failed connection's clean-up on the event loop;
    when ``asyncio.run`` has already closed that loop (the command ended with its error
    message), the thread's RuntimeError would print a traceback after the one-line error.
    The hook stays installed because the thread may finish during interpreter shutdown;
    everything else goes to the previous hook.
    """
    previous = threading.excepthook
    if getattr(previous, "_nxalembic", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, RuntimeError) and "Event loop is closed" in str(
            args.exc_value
        ):
            return
        previous(args)

    hook._nxalembic = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def _canonical(command: str) -> str:
    return "upgrade" if command == "update" else command


def main(argv: list[str] | None = None) -> int:
    """Run ``nxalembic`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    _quiet_closed_loop_in_driver_threads()
    return Cli(args, sys.stdout, sys.stderr).run()
