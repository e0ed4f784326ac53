"""``MigrationsCog``: owner-only ``/migrate`` slash commands in the running bot.

The cog parses options, checks who asks, acknowledges at once, calls the migration engine
and renders its results (see :mod:`.render`). It holds no migration logic of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nextcord
from nextcord.ext import application_checks, commands

from ..apps import OrmarApp
from ..bot import DatabaseBotMixin
from ..errors import UnknownCogError
from ..migrations import MigrationEngine, UpgradeResult
from ..migrations.replay import make_from_history
from . import render
from .delivery import Buttons, Progress, Responder, outcome
from .options import CogOptions
from .render import Rendered
from .views import Interaction

__all__ = ["CogOptions", "MigrationsCog", "UnknownCogError"]

log = logging.getLogger("nextcord_ormar.admin_cog")

# nextcord 3.x follows Discord's ``contexts``; nextcord 2.6 still has ``dm_permission``.
_GUILD_ONLY: dict[str, Any] = (
    {"contexts": [nextcord.InteractionContextType.guild]}
    if hasattr(nextcord, "InteractionContextType")
    else {"dm_permission": False}
)
_ADMINS_ONLY = nextcord.Permissions(administrator=True)


@dataclass
class _Holder:
    what: str
    who: str


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

    def find_cog(self, value: str) -> tuple[str, OrmarApp]:
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
        return self.engine.registry.with_dependencies(a.name for a in self.cog_apps().values())

    def apps_for(self, cog: str | None) -> list[OrmarApp]:
        """The named cog's app, or (without a name) every loaded one."""
        return [self.find_cog(cog)[1]] if cog else self.loaded_apps()

    async def complete_cog(self, interaction: Interaction, cog: str) -> None:
        """Autocomplete for every ``cog`` option: the loaded cogs that own models."""
        choices: dict[str, str] = {}
        if interaction.user is not None and await self.bot.is_owner(interaction.user):  # type: ignore[arg-type]
            typed = (cog or "").lower()
            for name, app in sorted(self.cog_apps().items()):
                if typed in name.lower() or typed in app.name:
                    choices[render.clip(f"{name} (app {app.name})", 100)] = name
        await interaction.response.send_autocomplete(dict(list(choices.items())[:25]))

    # -- claim → defer → run → release → report ------------------------------------------

    async def _serve(
        self,
        interaction: Interaction,
        work: Callable[[Responder], Awaitable[Rendered]],
        *,
        write: str | None = None,
    ) -> None:
        """Run one subcommand: writes (``write`` names them) one at a time; acknowledge at
        once; send what ``work`` renders, or the error, by editing the reply."""
        if write is not None:
            if self._holder is not None:
                reply = render.busy(self._holder.what, self._holder.who)
                await interaction.response.send_message(reply.content, ephemeral=True)
                return
            user = interaction.user
            self._holder = _Holder(write, user.mention if user is not None else "someone")
        try:
            await interaction.response.defer()
            responder = Responder(interaction, self.options.token_lifetime)
            await responder.edit(await outcome(work(responder)))
        finally:
            if write is not None:
                self._holder = None

    async def _move(
        self,
        interaction: Interaction,
        responder: Responder,
        title: str,
        run: Callable[[Progress, Buttons], Awaitable[UpgradeResult]],
    ) -> Rendered:
        """An upgrade or downgrade: questions on buttons, progress by edits, the summary."""
        labels = self.labels()
        progress = Progress(responder, title, self.options.progress_interval, labels)
        buttons = Buttons(interaction, responder, labels, self.options.confirm_timeout)
        result = await run(progress, buttons)
        await progress.flush()
        return render.moved(result, labels)

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
        from_history: bool = nextcord.SlashOption(
            description="Compare with the migration history replayed into a scratch database, "
            "not with the live database",
            required=False,
            default=False,
        ),
    ) -> None:
        async def work(responder: Responder) -> Rendered:
            name, app = self.find_cog(cog)
            buttons = Buttons(interaction, responder, self.labels(), self.options.confirm_timeout)
            options: dict[str, Any] = {"message": message, "empty": empty, "questioner": buttons}
            if from_history:
                (result,) = await make_from_history(self.engine, [app], **options)
            else:
                result = await self.engine.make(app, **options)
            return render.make(result, name)

        await self._serve(interaction, work, write="make")

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
        async def work(responder: Responder) -> Rendered:
            apps = self.apps_for(cog)
            rendered = await self._move(
                interaction,
                responder,
                "Upgrading…",
                lambda progress, buttons: self.engine.upgrade(
                    apps, target or "head", on_progress=progress.on_event, questioner=buttons
                ),
            )
            if released := await self.bot.release_migrated_cogs():  # type: ignore[attr-defined]
                rendered.content = "Released the held cogs: " + ", ".join(released)
            return rendered

        await self._serve(interaction, work, write="upgrade")

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
        async def work(responder: Responder) -> Rendered:
            app = self.find_cog(cog)[1]
            return await self._move(
                interaction,
                responder,
                "Downgrading…",
                lambda progress, buttons: self.engine.downgrade(
                    app, target or "-1", on_progress=progress.on_event, questioner=buttons
                ),
            )

        await self._serve(interaction, work, write="downgrade")

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
        async def work(responder: Responder) -> Rendered:
            return render.status(await self.engine.status(self.apps_for(cog)), self.labels())

        await self._serve(interaction, work)

    @migrate.subcommand(name="history", description="A cog's migrations, applied or not")
    async def history(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
    ) -> None:
        async def work(responder: Responder) -> Rendered:
            name, app = self.find_cog(cog)
            return render.history(await self.engine.history(app), name, app.name)

        await self._serve(interaction, work)

    @migrate.subcommand(name="sql", description="The SQL an upgrade would run (nothing is applied)")
    async def sql(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
        target: str | None = nextcord.SlashOption(
            description="Revision to upgrade to (default: head)", required=False, default=None
        ),
    ) -> None:
        async def work(responder: Responder) -> Rendered:
            name, app = self.find_cog(cog)
            return render.sql(await self.engine.sql(app, target or "head"), name)

        await self._serve(interaction, work)

    @migrate.subcommand(name="check", description="Cogs whose models differ from the database")
    async def check(self, interaction: Interaction) -> None:
        async def work(responder: Responder) -> Rendered:
            return render.check(await self.engine.check(self.loaded_apps()), self.labels())

        await self._serve(interaction, work)

    @migrate.subcommand(name="stamp", description="Mark a revision as applied without running it")
    async def stamp(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog", autocomplete=True),
        revision: str = nextcord.SlashOption(description="Revision id, head or base"),
    ) -> None:
        async def work(responder: Responder) -> Rendered:
            name, app = self.find_cog(cog)
            return render.stamped(await self.engine.stamp(app, revision), name)

        await self._serve(interaction, work, write="stamp")

    @migrate.subcommand(
        name="adopt", description="Carry over a cog's nextcord-ormar 0.3 history, after you confirm"
    )
    async def adopt(
        self,
        interaction: Interaction,
        cog: str = nextcord.SlashOption(description="The cog to adopt", autocomplete=True),
        keep_names: bool = nextcord.SlashOption(
            description="Keep the 0.3 table names (nothing renamed; you set tablename=)",
            required=False,
            default=False,
        ),
    ) -> None:
        async def work(responder: Responder) -> Rendered:
            app = self.find_cog(cog)[1]
            labels = self.labels()
            buttons = Buttons(interaction, responder, labels, self.options.confirm_timeout)
            plans = await self.engine.adopt([app], keep_names=keep_names, questioner=buttons)
            return render.adopted(plans, labels)

        await self._serve(interaction, work, write="adopt")

    @migrate.subcommand(name="backup", description="Back up the database now and attach it")
    async def backup(
        self,
        interaction: Interaction,
        cog: str | None = nextcord.SlashOption(
            description="Only this cog's tables (SQLite: the whole file, named after the cog)",
            required=False,
            default=None,
            autocomplete=True,
        ),
    ) -> None:
        async def work(responder: Responder) -> Rendered:
            apps = [self.find_cog(cog)[1]] if cog else None
            made = await self.engine.backup(apps)
            path = made.path
            fits = path is not None and path.stat().st_size <= render.ATTACHMENT_LIMIT
            data = await asyncio.to_thread(path.read_bytes) if fits and path else None
            return render.backup_made(made, data)

        await self._serve(interaction, work, write="backup")

    for _command in (make, upgrade, downgrade, show, history, sql, stamp, adopt, backup):
        _command.on_autocomplete("cog")(complete_cog)

    async def _route_error(*args: Any) -> None:
        """nextcord 2.6 has no cog-wide handler; it calls ``(cog, interaction, error)``."""
        cog, interaction, error = args[-3], args[-2], args[-1]
        await cog.cog_application_command_error(interaction, error)

    if not hasattr(nextcord.ClientCog, "cog_application_command_error"):
        for _command in (make, upgrade, downgrade, show, history, sql, check, stamp, adopt, backup):
            _command.error(_route_error)
    del _command
