"""An operation's snapshot copies only what its app's comparison reads.

Every ``make`` and ``upgrade`` of one app used to copy every loaded app's tables into a
private metadata; for a bot of 40 cogs that left about 20,000 objects in reference cycles
per operation, and the full garbage collections that freed them held the bot's loop for
30-60 ms each (issue 17, round 3). The copy now holds the app's own tables and the tables
their foreign keys lead to. These tests pin that, and that what the other apps' models say
still counts where the comparison reads it: foreign keys into another app, and an enum type
another app's model uses (never dropped while it does).
"""

from __future__ import annotations

import pytest
import sqlalchemy

from nextcord_ormar import Bot
from nextcord_ormar.migrations import MigrationEngine
from nextcord_ormar.migrations.enum_compare import ENUM_NAMES
from nextcord_ormar.migrations.snapshot import AppSnapshot
from tests.conftest import CogProject
from tests.sample_cogs import many_tables, write_cogs

LOG_COG = """
import sqlalchemy
from nextcord.ext import commands
from nextcord_ormar import OrmarApp

app = OrmarApp.create_app({app!r})

log = sqlalchemy.Table(
    {table!r}, app.metadata,
    sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True, autoincrement=False),
    {level}
)
app.add_table(log)


class {cls}(commands.Cog):
    pass


def setup(bot):
    bot.add_cog({cls}())
"""

LEVEL = "sqlalchemy.Column('level', sqlalchemy.Enum('INFO', 'WARN', name='shared_level')),"


def log_cog(app: str, *, level: bool) -> str:
    level_column = LEVEL if level else ""
    return LOG_COG.format(app=app, cls=app.title(), table=f"{app}_log", level=level_column)


async def test_the_copy_holds_the_app_and_what_its_foreign_keys_lead_to(
    cog_project: CogProject,
) -> None:
    # async: nextcord 2.6's Client() asks for the running loop
    write_cogs(cog_project)  # moderation's Warn refers to economy's Wallet
    cog_project.write("cogs/levels.py", many_tables("levels", 3))
    cog_project.write("cogs/audit.py", log_cog("audit", level=True))
    bot = Bot(database_url="sqlite://")
    for cog in ("economy", "moderation", "levels", "audit"):
        bot.load_extension(f"cogs.{cog}")
    moderation, economy = bot.registry.get("moderation"), bot.registry.get("economy")

    copied = AppSnapshot.take(moderation).metadata
    assert set(copied.tables) == moderation.table_names | {"economy_wallets"}
    assert copied is not moderation.metadata
    # the foreign keys resolve inside the copy (sorting by them would raise otherwise)
    order = [t.name for t in copied.sorted_tables]
    assert order.index("economy_wallets") < order.index("moderation_warns")
    assert set(AppSnapshot.take(economy).metadata.tables) == economy.table_names
    # what the comparison reads of the other apps: the enum types their tables use
    assert copied.info[ENUM_NAMES] == {"shared_level"}
    # a live snapshot is the shared metadata itself, every app's tables
    assert AppSnapshot.live(economy).metadata is economy.metadata


async def test_an_app_with_foreign_keys_into_another_migrates_cleanly(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project)
    cog_project.write("cogs/levels.py", many_tables("levels", 3))
    bot = Bot(database_url=db_url)
    for cog in ("economy", "moderation", "levels"):
        bot.load_extension(f"cogs.{cog}")
    engine = MigrationEngine.for_bot(bot)
    try:
        await bot.connect_database()
        for app in ("economy", "moderation"):
            assert (await engine.make(app)).written
        await engine.upgrade()
        async with bot.database.engine.connect() as conn:
            fks = await conn.run_sync(
                lambda c: sqlalchemy.inspect(c).get_foreign_keys("moderation_warns")
            )
        assert [fk["referred_table"] for fk in fks] == ["economy_wallets"]
        again = await engine.make("moderation")
        assert again.outcome == "no_changes", again.operations
    finally:
        await bot.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_an_enum_type_another_apps_model_uses_is_not_dropped(
    db_url: str, cog_project: CogProject
) -> None:
    """``audit`` stops using ``shared_level`` while ``alerts``' model (not migrated yet)
    uses it: the type stays, as it does when the comparison sees every app's tables."""
    cog_project.write("cogs/__init__.py", "")
    cog_project.write("cogs/audit.py", log_cog("audit", level=True))
    bot = Bot(database_url=db_url)
    bot.load_extension("cogs.audit")
    engine = MigrationEngine.for_bot(bot)
    try:
        await bot.connect_database()
        assert (await engine.make("audit")).written
        await engine.upgrade()

        cog_project.write("cogs/audit.py", log_cog("audit", level=False))
        bot.reload_extension("cogs.audit")
        # with no model using it, the type goes with its last column (so the rule below
        # is what keeps it, not an accident of the scenario)
        alone = await engine.make("audit")
        kinds = [(op.kind, op.name) for op in alone.operations]
        assert ("drop_enum", "shared_level") in kinds, kinds
        assert alone.path is not None
        alone.path.unlink()

        cog_project.write("cogs/alerts.py", log_cog("alerts", level=True))
        bot.load_extension("cogs.alerts")
        made = await engine.make("audit")
        kinds = [(op.kind, op.name) for op in made.operations]
        assert ("drop_column", "level") in kinds, kinds
        assert ("drop_enum", "shared_level") not in kinds, kinds
    finally:
        await bot.close()
