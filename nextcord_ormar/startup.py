"""The bot's start-up migration policy: ``off``, ``check`` or ``apply``.

With ``check`` the bot asks the migration engine, after the database connects and before it
logs in to Discord, where each loaded cog's app stands. A cog whose database is behind its
scripts, or whose models differ from them, is *held*: its application commands (and prefix
commands) answer a short maintenance message, its listeners are taken off the bot until it
is released, and the owner is told once. ``apply`` first applies the pending migrations
under the engine's migration lock (one process applies, the others wait and find nothing to
do), refusing a migration that drops data unless ``allow_destructive``. A cog loaded later
is checked (and, with ``apply``, upgraded) when it is added; a successful ``/migrate
upgrade`` releases the held cogs whose apps are now current, and ``/migrate downgrade`` or
``stamp`` re-checks every cog (holding those left behind). A cog released after the bot
became ready gets the ``on_ready`` it missed, once.

Every decision ("behind", "differs", "drops data") is the engine's; this module holds the
cogs back, lets them go, and tells the owner.
"""

from __future__ import annotations

import asyncio
import configparser
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError, NextcordOrmarError, NotConfirmedError, first_line
from .held_commands import answer_if_held

if TYPE_CHECKING:
    from .apps import OrmarApp
    from .migrations import AppStatus, UpgradeResult

__all__ = [
    "DEFAULT_MESSAGE",
    "ENVIRONMENT",
    "POLICIES",
    "Held",
    "Policy",
    "StartupGate",
    "resolve_policy",
]

Policy = Literal["off", "check", "apply"]
#: The start-up policies, in the order of how much they do.
POLICIES: tuple[Policy, ...] = ("off", "check", "apply")
#: The environment variable read when ``Bot(migrations=)`` is not given.
ENVIRONMENT = "NXO_MIGRATIONS"
#: The file (in the current directory) and section read after the environment.
CONFIG_FILE, SECTION, KEY = "nxalembic.ini", "nxalembic", "migrations"
#: What a held cog's commands answer unless the bot sets ``migrations_message``.
DEFAULT_MESSAGE = "This feature is being updated. Please try again in a few minutes."
_CHECKING = "being checked"

log = logging.getLogger("nextcord_ormar.startup")


def resolve_policy(argument: str | None, config: Path | None = None) -> Policy:
    """The policy: ``argument`` if given, else ``$NXO_MIGRATIONS``, else ``migrations`` in
    the ``[nxalembic]`` section of ``./nxalembic.ini`` (or ``config``), else ``"off"``."""
    if argument is not None:
        return _valid(argument, "migrations=")
    value = os.environ.get(ENVIRONMENT, "").strip()
    if value:
        return _valid(value, f"${ENVIRONMENT}")
    file = config or Path.cwd() / CONFIG_FILE
    if not file.is_file():
        return "off"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(file, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {first_line(exc)}") from None
    value = parser.get(SECTION, KEY, fallback="").strip()
    return _valid(value, f"{KEY} in [{SECTION}] of {file}") if value else "off"


def _valid(value: str, where: str) -> Policy:
    for policy in POLICIES:
        if value.strip().lower() == policy:
            return policy
    raise ConfigError(
        f"{where}: {value!r} is not a start-up migration policy; use off, check or apply"
    )


@dataclass
class Held:
    """A cog held back: why, the listeners taken off the bot until it is released, and
    whether the bot became ready meanwhile (its ``on_ready`` is then delivered on release)."""

    cog: Any
    reason: str
    listeners: list[tuple[str, Any]]
    missed_ready: bool = False


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def describe(status: AppStatus) -> str:
    """Why the engine's status keeps a cog held, in one line."""
    if status.legacy is not None:
        return "its tables come from nextcord-ormar 0.3: run /migrate adopt"
    if status.unknown_current:
        return f"its database is at {status.current}, which has no script"
    if status.tampered:
        return f"applied {_plural(len(status.tampered), 'migration')} edited since they ran"
    if status.pending:
        return f"{_plural(len(status.pending), 'migration')} not applied"
    return "its models differ from its migrations: run /migrate make, then /migrate upgrade"


class StartupGate:
    """The held cogs of one bot, and the checks that hold and release them."""

    def __init__(
        self,
        bot: Any,
        policy: Policy,
        *,
        allow_destructive: bool = False,
        message: str | None = None,
        close_timeout: float = 60.0,
        lock_timeout: float = 300.0,
    ) -> None:
        self.bot = bot
        self.policy = policy
        self.allow_destructive = allow_destructive
        self.message = message or DEFAULT_MESSAGE
        self.close_timeout = close_timeout
        self.lock_timeout = lock_timeout
        #: Held cogs by cog name.
        self.held: dict[str, Held] = {}
        self.started = False
        self.closing = False
        self._logged_in = False
        self._outbox: list[tuple[str, Any]] = []
        self._serial = asyncio.Lock()
        self._work: set[asyncio.Task[Any]] = set()
        self._notes: set[asyncio.Task[Any]] = set()
        self._late: set[asyncio.Task[Any]] = set()

    @property
    def on(self) -> bool:
        return self.policy != "off"

    # -- holding and releasing -------------------------------------------------------------

    def held_for(self, cog: object) -> Held | None:
        """The hold on this very cog object, if any."""
        return next((h for h in self.held.values() if h.cog is cog), None)

    def hold(self, name: str, cog: Any, reason: str) -> None:
        """Take the cog's listeners off the bot (once) and remember why it is held."""
        if name in self.held:
            self.held[name].reason = reason
            return
        listeners = list(cog.get_listeners())
        for event, function in listeners:
            self.bot.remove_listener(function, event)
        self.held[name] = Held(cog, reason, listeners)

    def release(self, name: str) -> bool:
        """Put a held cog's listeners back; ``False`` when it was not held.

        If the bot became ready while the cog was held (and still is), the cog's own
        ``on_ready`` listeners, which missed that event, are run now, once."""
        held = self.held.pop(name, None)
        if held is None:
            return False
        if self.bot.cogs.get(name) is held.cog:
            for event, function in held.listeners:
                self.bot.add_listener(function, event)
            if held.missed_ready and self.bot.is_ready():
                for event, function in held.listeners:
                    if event == "on_ready":
                        self._spawn(self._late_ready(name, function), self._late)
        return True

    def dispatched(self, event: str) -> None:
        """The bot dispatches ``event``: a ``ready`` is one the held cogs miss."""
        if event == "ready":
            for held in self.held.values():
                held.missed_ready = True

    async def _late_ready(self, name: str, listener: Any) -> None:
        log.info("%s released: running the on_ready it missed while held", name)
        try:
            await listener()
        except Exception:  # as nextcord does for a listener: the bot's on_error
            try:
                await self.bot.on_error("on_ready")
            except Exception:
                log.exception("%s's on_ready failed", name)

    def forget(self, name: str) -> None:
        """The cog was removed: its listeners went with it."""
        self.held.pop(name, None)

    # -- when it runs ----------------------------------------------------------------------

    async def start(self) -> None:
        """In ``login``: settle every loaded cog before the gateway connects."""
        self.started = True
        if self.on:
            await self._run(None, apply=self.policy == "apply", tell=True)

    def after_login(self) -> None:
        """Discord's HTTP side is up: send what start-up had for the owner."""
        self._logged_in = True
        for text, rendered in self._outbox:
            self._note(text, rendered)
        self._outbox.clear()

    def cog_added(self, cog: Any) -> None:
        """A cog added after start-up: hold it until it is checked (``apply``: upgraded)."""
        if not (self.on and self.started) or self.closing:
            return
        name = cog.qualified_name
        self.hold(name, cog, _CHECKING)
        self._spawn(self._run({name}, apply=self.policy == "apply", tell=True), self._work)

    async def recheck(self, everything: bool = False) -> tuple[list[str], list[str]]:
        """Re-check the held cogs (``everything``: every loaded cog with an app, as after a
        downgrade or a stamp): release those now current, hold those now behind.
        Returns the names of the cogs released and of those newly held."""
        before = set(self.held)
        if not self.on or not (before or everything):
            return [], []
        await self._run(None if everything else before, apply=False, tell=False)
        return sorted(before - set(self.held)), sorted(set(self.held) - before)

    async def wait_idle(self) -> None:
        """In ``close``: let a running check or migration finish (bounded), not cut it."""
        self.closing = True
        running = [task for task in self._work if not task.done()]
        if running:
            log.warning(
                "close(): waiting up to %g s for the start-up migration to finish",
                self.close_timeout,
            )
            _, still = await asyncio.wait(running, timeout=self.close_timeout)
            if still:
                log.error(
                    "close(): the start-up migration did not finish within %g s; closing anyway",
                    self.close_timeout,
                )
            else:
                log.info("close(): the start-up migration finished; closing")
        for task in list(self._notes):
            task.cancel()

    def _spawn(self, coro: Any, into: set[asyncio.Task[Any]]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        into.add(task)
        task.add_done_callback(into.discard)
        return task

    async def _run(self, names: set[str] | None, *, apply: bool, tell: bool) -> None:
        # A task of its own, so that close() can wait for it even if the caller is cancelled.
        task = self._spawn(self._serialised(names, apply, tell), self._work)
        await asyncio.shield(task)

    async def _serialised(self, names: set[str] | None, apply: bool, tell: bool) -> None:
        async with self._serial:
            cogs = {
                name: app
                for name, app in self.bot.cog_apps().items()
                if names is None or name in names
            }
            for name in (names or set()) - set(cogs):
                self.release(name)  # no app: nothing to hold it for
            if not cogs:
                return
            try:
                reasons, failures = await self._settle(cogs, apply)
            except Exception as exc:  # a bug or a lost database: keep them held, say why
                log.exception("start-up migration check failed")
                text = f"the check failed: {type(exc).__name__}: {first_line(exc)}"
                reasons, failures = {app.name: text for app in cogs.values()}, []
            newly = []
            for name, app in cogs.items():
                cog = self.bot.cogs.get(name)
                if app.name in reasons and cog is not None:
                    if self.held.get(name, Held(None, _CHECKING, [])).reason == _CHECKING:
                        newly.append(name)
                    self.hold(name, cog, reasons[app.name])
                else:
                    self.release(name)
            if tell and (newly or failures):
                self._tell(newly, cogs, failures)

    async def _settle(
        self, cogs: dict[str, OrmarApp], apply: bool
    ) -> tuple[dict[str, str], list[UpgradeResult]]:
        """Ask the engine: (app name → why it stays held, failed start-up upgrades)."""
        from .migrations import MigrationEngine  # Alembic is imported only when the policy is on

        engine = MigrationEngine.for_bot(self.bot, lock_timeout=self.lock_timeout)
        apps = self.bot.registry.ordered(sorted({app.name for app in cogs.values()}))
        reasons: dict[str, str] = {}
        failures: list[UpgradeResult] = []
        for app in apps if apply else []:
            try:
                result = await engine.upgrade([app], refuse_losses=not self.allow_destructive)
            except NotConfirmedError as exc:
                reasons[app.name] = f"{exc}; run /migrate upgrade to confirm it"
                continue
            except NextcordOrmarError as exc:
                reasons[app.name] = f"the start-up upgrade failed: {first_line(exc)}"
                continue
            failed = result.failed
            if failed is not None:
                failures.append(result)
                reasons[app.name] = f"migration {failed.failed_revision} failed: {failed.error}"
                continue
            if result.steps:
                log.info("start-up upgrade of %s: %d applied", app.name, len(result.steps))
            if result.refused is not None:  # the safe steps ran, up to the first dropping one
                reasons[app.name] = f"{result.refused}; run /migrate upgrade to confirm it"
        try:
            check = await engine.check(apps)
        except NextcordOrmarError as exc:
            return {a.name: reasons.get(a.name, first_line(exc)) for a in apps}, failures
        for status in check.differing:
            reasons.setdefault(status.app, describe(status))
        return reasons, failures

    # -- telling the owner ---------------------------------------------------------------

    def _tell(
        self, names: list[str], cogs: dict[str, OrmarApp], failures: list[UpgradeResult]
    ) -> None:
        lines = [f"- {name}: {self.held[name].reason}" for name in names if name in self.held]
        text = (
            "Held back until their database is migrated (their commands answer a maintenance "
            "message and their listeners do not run):\n"
            + "\n".join(lines)
            + "\nRun /migrate upgrade to apply the pending migrations; the cogs are released "
            "when it succeeds."
        )
        rendered = None
        if failures:
            from .admin_cog import render  # the same report /migrate upgrade shows

            labels = {app.name: name for name, app in cogs.items()}
            rendered = render.moved(failures[0], labels).fit()
        if self._logged_in:
            self._note(text, rendered)
        else:
            self._outbox.append((text, rendered))

    def _note(self, text: str, rendered: Any) -> None:
        self._spawn(self._send(text, rendered), self._notes)

    async def _send(self, text: str, rendered: Any) -> None:
        import nextcord

        try:
            owner = await self._owner()
            kwargs: dict[str, Any] = {}
            if rendered is not None:
                kwargs["embed"] = rendered.embed
                kwargs["files"] = [
                    nextcord.File(io.BytesIO(data), filename=name) for name, data in rendered.files
                ]
            await owner.send(text[:2000], **kwargs)
            log.info("told the owner about held cogs")
        except Exception as exc:
            log.warning("could not message the owner (%s); %s", first_line(exc), text)
            if rendered is not None and rendered.embed is not None:
                embed = rendered.embed
                fields = "; ".join(f"{f.name}: {f.value}" for f in embed.fields)
                log.warning("%s: %s %s", embed.title, embed.description, fields)

    async def _owner(self) -> Any:
        """Who gets the message: ``Bot(owner_id=...)`` if set, else the application's owner
        as Discord has it (a team's owner, never just any member).

        ``bot.owner_ids`` is not used: nextcord's ``is_owner`` fills it with every team
        member, invited and read-only ones included.
        """
        from .admin_cog.owners import application_owner

        bot = self.bot
        owner_id = bot.owner_id or application_owner(await bot.http.application_info())
        if owner_id is None:
            raise LookupError("Discord named no owner for this application")
        return bot.get_user(owner_id) or await bot.fetch_user(owner_id)

    # -- the held cogs' commands -------------------------------------------------------

    async def intercept(self, interaction: Any) -> bool:
        """Answer an interaction for a held cog's application command; ``True`` if answered."""
        return bool(self.held) and await answer_if_held(self, interaction)
