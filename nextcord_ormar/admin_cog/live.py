"""The cogs ``/migrate`` can name: the bot's loaded cogs that own models, found by name."""

from __future__ import annotations

from ..apps import OrmarApp, Registry
from ..bot import DatabaseBotMixin
from ..errors import UnknownCogError
from .render import clip

__all__ = ["LiveApps"]


class LiveApps:
    """The loaded cogs that own models, read from the bot at each call (cogs come and go)."""

    def __init__(self, bot: DatabaseBotMixin, registry: Registry) -> None:
        self.bot = bot
        self.registry = registry

    def by_cog(self) -> dict[str, OrmarApp]:
        """Loaded cogs that own models, by cog name."""
        return self.bot.cog_apps()

    def labels(self) -> dict[str, str]:
        """App name → cog name, for replies."""
        return {app.name: cog for cog, app in self.by_cog().items()}

    def find(self, value: str) -> tuple[str, OrmarApp]:
        """The loaded cog (by cog name, any case, or by app name) and its app."""
        found = self.by_cog()
        wanted = value.strip()
        for name, app in found.items():
            if name.lower() == wanted.lower():
                return name, app
        for name, app in found.items():
            if app.name == wanted:
                return name, app
        known = ", ".join(sorted(found)) or "none"
        raise UnknownCogError(
            f"no loaded cog with models is called {clip(wanted, 100)!r} "
            f"(loaded cogs with models: {known})"
        )

    def loaded(self) -> list[OrmarApp]:
        """The apps of every loaded cog, with the apps they depend on, in dependency order."""
        return self.registry.with_dependencies(a.name for a in self.by_cog().values())

    def chosen(self, cog: str | None) -> list[OrmarApp]:
        """The named cog's app, or (without a name) every loaded one."""
        return [self.find(cog)[1]] if cog else self.loaded()

    def choices(self, typed: str | None) -> dict[str, str]:
        """Autocomplete choices (at most 25) for what the owner has typed so far."""
        typed = (typed or "").lower()
        choices: dict[str, str] = {}
        for name, app in sorted(self.by_cog().items()):
            if typed in name.lower() or typed in app.name:
                choices[clip(f"{name} (app {app.name})", 100)] = name
        return dict(list(choices.items())[:25])
