"""``MigrationsCog``: owner-only ``/migrate`` slash commands in the running bot.

The cog parses options, checks who asks, acknowledges at once, calls the migration engine
and renders its results (see :mod:`.render`). It holds no migration logic of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import nextcord
from nextcord.ext import application_checks, commands

from ..apps import OrmarApp
from ..bot import DatabaseBotMixin
from ..errors import NextcordOrmarError, NotConfirmedError, UnknownCogError
from ..migrations import MigrationEngine, ProgressEvent
from ..migrations.questions import Question
from . import render
from .render import Reply
from .views import ConfirmView

if TYPE_CHECKING:
    Interaction = nextcord.Interaction[Any]
else:  # nextcord 2.6's Interaction is not generic; nextcord reads these at runtime
    Interaction = nextcord.Interaction

__all__ = ["CogOptions", "MigrationsCog", "UnknownCogError"]

log = logging.getLogger("nextcord_ormar.admin_cog")

# nextcord 3.x follows Discord's ``contexts``; nextcord 2.6 still has ``dm_permission``.
_GUILD_ONLY: dict[str, Any] = (
    {"contexts": [nextcord.InteractionContextType.guild]}
    if hasattr(nextcord, "InteractionContextType")
    else {"dm_permission": False}
)
_ADMINS_ONLY = nextcord.Permissions(administrator=True)
# Discord error codes meaning the interaction token can no longer be used.
_TOKEN_GONE = {10015, 10062, 50027}


@dataclass
class CogOptions:
    """Settings of the cog, given as ``bot.load_extension(..., extras={...})``.

    ``guild_ids``: register ``/migrate`` only in these guilds (e.g. the team's admin
    server); without it the command is registered the usual way (globally, or in the
    bot's ``default_guild_ids``). ``confirm_timeout``: seconds a downgrade waits for its
    confirmation. ``progress_interval``: least seconds between progress edits.
    ``token_lifetime``: after this many seconds a result goes to the channel instead of
    the interaction (Discord's tokens last 15 minutes).
    """

    guild_ids: list[int] | None = None
    confirm_timeout: float = 60.0
    progress_interval: float = 1.0
    token_lifetime: float = 14.5 * 60


@dataclass
class _Holder:
    what: str
    who: str


class _Responder:
    """Edits the interaction's reply; after the token's lifetime, posts to the channel instead."""

    def __init__(self, interaction: Interaction, lifetime: float) -> None:
        self.interaction = interaction
        self.started = time.monotonic()
        self.lifetime = lifetime

    async def edit(self, reply: Reply, *, view: nextcord.ui.View | None = None) -> None:
        reply = reply.fit()
        if time.monotonic() - self.started >= self.lifetime:
            await self.to_channel(reply)
            return
        try:
            await self.interaction.edit_original_message(
                content=reply.content or None,
                embed=reply.embed,
                files=reply.file_objects(),
                view=view,
            )
        except nextcord.HTTPException as exc:
            if exc.code in _TOKEN_GONE or exc.status == 401:
                await self.to_channel(reply)
            else:
                raise

    async def to_channel(self, reply: Reply) -> None:
        channel = self.interaction.channel
        user = self.interaction.user
        mention = f"{user.mention} " if user is not None else ""
        content = render.clip(mention + (reply.content or "(result of /migrate)"), 2000)
        if channel is None or not hasattr(channel, "send"):
            log.warning("cannot deliver a /migrate result: no channel")
            return
        extra: dict[str, Any] = {"embed": reply.embed} if reply.embed is not None else {}
        await channel.send(content=content, files=reply.file_objects(), **extra)


class _Progress:
    """Collects progress lines and edits the reply with them, at most once per interval."""

    def __init__(self, responder: _Responder, title: str, interval: float, labels: dict[str, str]):
        self.responder = responder
        self.title = title
        self.interval = interval
        self.labels = labels
        self.lines: list[str] = []
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    def on_event(self, event: ProgressEvent) -> None:
        label = self.labels.get(event.app, event.app)
        if event.kind == "app_started":
            self.lines.append(f"{label}: {event.total} migration(s) to run")
        elif event.kind == "step_done" and event.step is not None:
            arrow = "applied" if event.step.direction == "up" else "undone"
            self.lines.append(
                f"{label}: {arrow} {event.step.revision} {event.step.message} "
                f"({event.index}/{event.total})"
            )
        elif event.kind == "app_failed":
            self.lines.append(f"{label}: failed")
        else:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._push())

    async def _push(self) -> None:
        wait = self.interval - (time.monotonic() - self._last)
        if wait > 0:
            await asyncio.sleep(wait)
        self._last = time.monotonic()
        try:
            await self.responder.edit(render.progress(self.lines, self.title))
        except nextcord.HTTPException:
            log.debug("progress edit failed", exc_info=True)

    async def flush(self) -> None:
        if self._task is not None:
            await self._task


class _Buttons:
    """The cog's questioner: the engine's question as a message with Confirm / Cancel."""

    def __init__(
        self,
        interaction: Interaction,
        responder: _Responder,
        labels: dict[str, str],
        timeout: float,
    ) -> None:
        self.interaction = interaction
        self.responder = responder
        self.labels = labels
        self.timeout = timeout

    async def ask(self, question: Question) -> bool:
        user = self.interaction.user
        view = ConfirmView(user.id if user is not None else 0, timeout=self.timeout)
        await self.responder.edit(render.question(question, self.labels), view=view)
        await view.done.wait()
        if view.choice is None:
            raise NotConfirmedError("Timed out waiting for confirmation. Nothing changed.")
        if not view.choice:
            raise NotConfirmedError("Cancelled. Nothing changed.")
        return True


class MigrationsCog(commands.Cog, name="Migrations"):
    """Owner-only ``/migrate`` commands: make, show and apply the loaded cogs' migrations."""

    bot: commands.Bot
    options: CogOptions
    engine: MigrationEngine

    def __init__(self, bot: commands.Bot, **extras: Any) -> None:
        if not isinstance(bot, DatabaseBotMixin):
            raise TypeError("MigrationsCog needs a nextcord_ormar.Bot (or AutoShardedBot)")
        self.bot = bot
        self.options = CogOptions(**extras)
        self.engine = MigrationEngine.for_bot(bot)
        self._holder: _Holder | None = None
        command = type(self).migrate
        if self.options.guild_ids:
            command.guild_ids_to_rollout = set(self.options.guild_ids)
            command.use_default_guild_ids = False

    # -- who may run it ------------------------------------------------------------------

    async def cog_application_command_check(  # type: ignore[override]
        self, interaction: Interaction
    ) -> bool:
        if interaction.guild is None:
            raise application_checks.ApplicationNoPrivateMessage()
        if interaction.user is None or not await self.bot.is_owner(interaction.user):  # type: ignore[arg-type]
            raise application_checks.ApplicationNotOwner("only the bot's owner can use /migrate")
        return True

    async def cog_application_command_error(
        self, interaction: Interaction, error: Exception
    ) -> None:
        if isinstance(error, application_checks.ApplicationNoPrivateMessage):
            text = "/migrate can only be used in a server, not in direct messages."
        elif isinstance(error, nextcord.ApplicationCheckFailure):
            text = "Only the bot's owner can use /migrate. Nothing was run."
        else:
            log.exception("/migrate failed", exc_info=error)
            text = "Something went wrong running /migrate; the bot's log has the details."
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)

    # -- the live registry ---------------------------------------------------------------

    def cog_apps(self) -> dict[str, OrmarApp]:
        """Loaded cogs that own models, by cog name."""
        assert isinstance(self.bot, DatabaseBotMixin)
        return self.bot.cog_apps()

    def labels(self) -> dict[str, str]:
        """App name → cog name, for replies."""
        return {app.name: cog for cog, app in self.cog_apps().items()}

    def resolve(self, value: str) -> tuple[str, OrmarApp]:
        """The loaded cog (by cog name, any case, or by app name) and its app."""
        found = self.cog_apps()
        wanted = value.strip()
        for name, app in found.items():
            if name.lower() == wanted.lower():
                return name, app
        for name, app in found.items():
            if app.name == wanted:
                return name, app
        known = ", ".join(sorted(found)) or "none"
        raise UnknownCogError(
            f"no loaded cog with models is called {render.clip(wanted, 100)!r} "
            f"(loaded cogs with models: {known})"
        )

    def loaded_apps(self) -> list[OrmarApp]:
        """The apps of every loaded cog, with the apps they depend on, in dependency order."""
        registry = self.engine.registry
        names = {app.name for app in self.cog_apps().values()}
        pending = list(names)
        while pending:
            for dep in registry.get(pending.pop()).dependencies:
                if dep not in names:
                    names.add(dep)
                    pending.append(dep)
        return registry.ordered(sorted(names))

    async def complete_cog(self, interaction: Interaction, cog: str) -> None:
        """Autocomplete for every ``cog`` option: the loaded cogs that own models."""
        choices: dict[str, str] = {}
        if interaction.user is not None and await self.bot.is_owner(interaction.user):  # type: ignore[arg-type]
            typed = (cog or "").lower()
            for name, app in sorted(self.cog_apps().items()):
                if typed in name.lower() or typed in app.name:
                    choices[render.clip(f"{name} (app {app.name})", 100)] = name
        await interaction.response.send_autocomplete(dict(list(choices.items())[:25]))

    # -- one write at a time -------------------------------------------------------------

    async def _claim(self, interaction: Interaction, what: str) -> bool:
        if self._holder is not None:
            reply = render.busy(self._holder.what, self._holder.who)
            await interaction.response.send_message(reply.content, ephemeral=True)
            return False
        user = interaction.user
        self._holder = _Holder(what, user.mention if user is not None else "someone")
        return True

    def _release(self) -> None:
        self._holder = None

    async def _run(self, interaction: Interaction, responder: _Responder, work: Any) -> None:
        """Await ``work`` (a coroutine returning a Reply) and send what it gives, or the error."""
        try:
            reply = await work
        except NotConfirmedError as exc:
            reply = Reply(content=str(exc))
        except NextcordOrmarError as exc:
            reply = render.error(str(exc))
        except Exception as exc:
            log.exception("/migrate failed")
            reply = render.error(f"{type(exc).__name__}: {render.clip(str(exc), 1500)}")
            reply.files.append(("traceback.txt", traceback.format_exc().encode()))
        await responder.edit(reply)

    def _responder(self, interaction: Interaction) -> _Responder:
        return _Responder(interaction, self.options.token_lifetime)

    # -- /migrate ------------------------------------------------------------------------

    @nextcord.slash_command(
        name="migrate",
        description="Make, show and apply the database migrations of the bot's cogs",
        default_member_permissions=_ADMINS_ONLY,
        **_GUILD_ONLY,
    )
    async def migrate(self, interaction: Interaction) -> None:
        """The command group; Discord only ever invokes its subcommands."""

    @migrate.subcommand(name="make", description="Autogenerate a cog's next migration")
    async def make(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(
            description="Cog (or app) whose models changed", autocomplete=True
        ),
        message: str | None = nextcord.SlashOption(
            description="What the migration does (default: derived from its changes)",
            required=False,
            default=None,
            max_length=500,
        ),
        empty: bool = nextcord.SlashOption(
            description="Write a blank migration to fill in by hand", required=False, default=False
        ),
    ) -> None:
        if not await self._claim(interaction, "make"):
            return
        try:
            await interaction.response.defer()
            responder = self._responder(interaction)

            async def work() -> Reply:
                name, app = self.resolve(cog)
                result = await self.engine.make(app, message=message, empty=bool(empty))
                return render.make(result, name)

            await self._run(interaction, responder, work())
        finally:
            self._release()

    @migrate.subcommand(
        name="upgrade", description="Apply pending migrations (all loaded cogs by default)"
    )
    async def upgrade(
        self,
        interaction: Interaction,
        cog: str | None = nextcord.SlashOption(
            description="Only this cog (default: every loaded cog, in dependency order)",
            required=False,
            default=None,
            autocomplete=True,
        ),
        target: str | None = nextcord.SlashOption(
            description="Revision to upgrade to (default: head; needs a cog)",
            required=False,
            default=None,
        ),
    ) -> None:
        if not await self._claim(interaction, "upgrade"):
            return
        try:
            await interaction.response.defer()
            responder = self._responder(interaction)
            labels = self.labels()

            async def work() -> Reply:
                apps = [self.resolve(cog)[1]] if cog else self.loaded_apps()
                progress = _Progress(
                    responder, "Upgrading…", self.options.progress_interval, labels
                )
                result = await self.engine.upgrade(
                    apps,
                    target or "head",
                    on_progress=progress.on_event,
                    questioner=self._buttons(interaction, responder, labels),
                )
                await progress.flush()
                return render.moved(result, labels)

            await self._run(interaction, responder, work())
        finally:
            self._release()

    @migrate.subcommand(name="downgrade", description="Undo a cog's migrations, after you confirm")
    async def downgrade(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog to downgrade", autocomplete=True),
        target: str | None = nextcord.SlashOption(
            description="Revision to go back to (default: one step back; 'base' undoes all)",
            required=False,
            default=None,
        ),
    ) -> None:
        if not await self._claim(interaction, "downgrade"):
            return
        try:
            await interaction.response.defer()
            responder = self._responder(interaction)
            await self._run(
                interaction, responder, self._downgrade(interaction, responder, cog, target)
            )
        finally:
            self._release()

    async def _downgrade(
        self,
        interaction: Interaction,
        responder: _Responder,
        cog: str,
        target: str | None,
    ) -> Reply:
        app = self.resolve(cog)[1]
        labels = self.labels()
        progress = _Progress(responder, "Downgrading…", self.options.progress_interval, labels)
        result = await self.engine.downgrade(
            app,
            target or "-1",
            on_progress=progress.on_event,
            questioner=self._buttons(interaction, responder, labels),
        )
        await progress.flush()
        return render.moved(result, labels)

    def _buttons(
        self, interaction: Interaction, responder: _Responder, labels: dict[str, str]
    ) -> _Buttons:
        """The questioner for one command: only its invoker can answer."""
        return _Buttons(interaction, responder, labels, self.options.confirm_timeout)

    @migrate.subcommand(name="show", description="Where each cog's migrations stand")
    async def show(
        self,
        interaction: Interaction,
        cog: str | None = nextcord.SlashOption(
            description="Only this cog (default: every loaded cog)",
            required=False,
            default=None,
            autocomplete=True,
        ),
    ) -> None:
        await interaction.response.defer()

        async def work() -> Reply:
            apps = [self.resolve(cog)[1]] if cog else self.loaded_apps()
            return render.status(await self.engine.status(apps), self.labels())

        await self._run(interaction, self._responder(interaction), work())

    @migrate.subcommand(name="history", description="A cog's migrations, applied or not")
    async def history(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
    ) -> None:
        await interaction.response.defer()

        async def work() -> Reply:
            name, app = self.resolve(cog)
            return render.history(await self.engine.history(app), name, app.name)

        await self._run(interaction, self._responder(interaction), work())

    @migrate.subcommand(name="sql", description="The SQL an upgrade would run (nothing is applied)")
    async def sql(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
        target: str | None = nextcord.SlashOption(
            description="Revision to upgrade to (default: head)", required=False, default=None
        ),
    ) -> None:
        await interaction.response.defer()

        async def work() -> Reply:
            name, app = self.resolve(cog)
            return render.sql(await self.engine.sql(app, target or "head"), name)

        await self._run(interaction, self._responder(interaction), work())

    @migrate.subcommand(name="check", description="Cogs whose models differ from the database")
    async def check(self, interaction: Interaction) -> None:
        await interaction.response.defer()

        async def work() -> Reply:
            return render.check(await self.engine.check(self.loaded_apps()), self.labels())

        await self._run(interaction, self._responder(interaction), work())

    @migrate.subcommand(name="stamp", description="Mark a revision as applied without running it")
    async def stamp(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
        revision: str = nextcord.SlashOption(description="Revision id, head or base"),
    ) -> None:
        if not await self._claim(interaction, "stamp"):
            return
        try:
            await interaction.response.defer()

            async def work() -> Reply:
                name, app = self.resolve(cog)
                return render.stamped(await self.engine.stamp(app, revision), name)

            await self._run(interaction, self._responder(interaction), work())
        finally:
            self._release()

    for _command in (make, upgrade, downgrade, show, history, sql, stamp):
        _command.on_autocomplete("cog")(complete_cog)

    async def _route_error(*args: Any) -> None:
        """nextcord 2.6 has no cog-wide handler; it calls ``(cog, interaction, error)``."""
        cog, interaction, error = args[-3], args[-2], args[-1]
        await cog.cog_application_command_error(interaction, error)

    if not hasattr(nextcord.ClientCog, "cog_application_command_error"):
        for _command in (make, upgrade, downgrade, show, history, sql, check, stamp):
            _command.error(_route_error)
    del _command
