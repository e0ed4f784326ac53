"""Cog modules the tests write into temporary bot projects."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import CogProject

ECONOMY = """
import ormar
import nextcord
from nextcord.ext import commands
from nextcord_ormar import AppModel, OrmarApp

app = OrmarApp.create_app("economy")


class Wallet(AppModel):
    ormar_config = app.config()
    id: int = ormar.BigInteger(primary_key=True, autoincrement=False)
    balance: int = ormar.Integer(default=0)


class Economy(commands.Cog):
    pass


def setup(bot):
    bot.add_cog(Economy())
"""

MODERATION = """
from typing import Optional

import ormar
from nextcord.ext import commands
from nextcord_ormar import AppModel, OrmarApp

from cogs.economy import Wallet

app = OrmarApp.create_app("moderation")


class Tag(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    name: str = ormar.String(max_length=30)


class Warn(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    reason: str = ormar.String(max_length=200)
    wallet: Optional[Wallet] = ormar.ForeignKey(Wallet, related_name="warns")
    tags: Optional[list[Tag]] = ormar.ManyToMany(Tag)
    wallets: Optional[list[Wallet]] = ormar.ManyToMany(Wallet, related_name="mentioned_in")


class Moderation(commands.Cog):
    pass


def setup(bot):
    bot.add_cog(Moderation())
"""


def many_tables(app: str, count: int) -> str:
    """A cog module whose app has ``count`` small models."""
    lines = [
        "import ormar",
        "from nextcord.ext import commands",
        "from nextcord_ormar import AppModel, OrmarApp",
        f"app = OrmarApp.create_app({app!r})",
    ]
    for index in range(count):
        lines += [
            f"class Model{index}(AppModel):",
            "    ormar_config = app.config()",
            "    id: int = ormar.Integer(primary_key=True)",
            "    name: str = ormar.String(max_length=40, nullable=True)",
            "    score: int = ormar.Integer(default=0)",
        ]
    lines += [
        f"class {app.title().replace('_', '')}(commands.Cog):",
        "    pass",
        "def setup(bot):",
        f"    bot.add_cog({app.title().replace('_', '')}())",
    ]
    return "\n".join(lines) + "\n"


WALLET_BALANCE = "    balance: int = ormar.Integer(default=0)\n"


def write_cogs(project: CogProject, *, moderation: bool = True) -> None:
    """``cogs/economy.py`` and (unless told not to) ``cogs/moderation.py``."""
    project.write("cogs/__init__.py", "")
    project.write("cogs/economy.py", ECONOMY)
    if moderation:
        project.write("cogs/moderation.py", MODERATION)


def change_wallet(project: CogProject, new_field: str | None) -> None:
    """Edit the economy cog's ``Wallet``: add ``new_field`` after ``balance``, or with
    ``None`` remove ``balance``. Reload the extension afterwards."""
    path = project.root / "cogs" / "economy.py"
    text = path.read_text(encoding="utf-8")
    assert WALLET_BALANCE in text
    replacement = WALLET_BALANCE + f"    {new_field}\n" if new_field else ""
    path.write_text(text.replace(WALLET_BALANCE, replacement), encoding="utf-8")
