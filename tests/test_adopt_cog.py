"""/migrate on a database nextcord-ormar 0.3 left: it says so, and upgrade changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from nextcord_ormar import normalize_url
from tests.cli.legacy03 import _script
from tests.conftest import CogProject
from tests.discord_harness import running_bot, table_names
from tests.sample_cogs import write_cogs

LEGACY = {"economy.wallets", "alembic.economy"}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The cog on SQLite and PostgreSQL (tests/cli/test_adopt.py covers all three)."""
    return str(request.param)


async def make_legacy_wallets(db_url: str) -> None:
    """``"economy.wallets"`` with a row and ``"alembic.economy"`` at a hash id, as 0.3 did."""
    md = sa.MetaData()
    wallets = sa.Table(
        "economy.wallets",
        md,
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("balance", sa.Integer(), nullable=True),
    )
    version = sa.Table("alembic.economy", md, sa.Column("version_num", sa.String(32)))
    engine = create_async_engine(normalize_url(db_url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(md.create_all)
            await conn.execute(wallets.insert().values(id=7, balance=42))
            await conn.execute(version.insert().values(version_num="9a4a0aa24e46"))
    finally:
        await engine.dispose()


async def test_show_and_check_name_adopt_and_upgrade_refuses(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    await make_legacy_wallets(db_url)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        show = await scene.run(scene.owner, "migrate show")
        reply = await scene.finished(show, "Migration status")
        field = reply.embeds[0]["fields"][0]["value"]
        assert "history from nextcord-ormar 0.3" in field
        assert "'nxalembic adopt --app economy'" in field

        check = await scene.run(scene.owner, "migrate check")
        reply = await scene.finished(check, "Cogs that differ")
        assert "nxalembic adopt --app economy" in reply.embeds[0]["description"]

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        reply = await scene.finished(upgrade, "nxalembic adopt --app economy")
        assert "nothing was changed" in str(reply.embeds[0]) + (reply.content or "")
        make = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
        await scene.finished(make, "nxalembic adopt --app economy")

    assert await table_names(db_url) == LEGACY
    assert not (cog_project.root / "cogs" / "economy" / "migrations").exists()


WALLETS_SCRIPT = _script(
    "9a4a0aa24e46",
    None,
    "    op.create_table('economy.wallets',\n"
    "    sa.Column('id', sa.BigInteger(), nullable=False),\n"
    "    sa.Column('balance', sa.Integer(), nullable=True),\n"
    "    sa.PrimaryKeyConstraint('id')\n"
    "    )\n",
    "    op.drop_table('economy.wallets')\n",
)


async def test_adopt_asks_then_carries_the_history_over_and_upgrade_renames(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    cog_project.write("cogs/migrations/9a4a0aa24e46_.py", WALLETS_SCRIPT)  # 0.3's shared folder
    await make_legacy_wallets(db_url)
    folder = cog_project.root / "cogs" / "economy" / "migrations"
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        cancel = await scene.run(scene.owner, "migrate adopt", {"cog": "Economy"})
        await scene.finished(cancel, "Adopt what nextcord-ormar 0.3 left")
        await scene.discord.click(scene.owner, cancel, label="Cancel")
        await scene.finished(cancel, "Cancelled. Nothing changed.")
        assert await table_names(db_url) == LEGACY
        assert not folder.exists()

        handle = await scene.run(scene.owner, "migrate adopt", {"cog": "Economy"})
        asked = await scene.finished(handle, "Adopt what nextcord-ormar 0.3 left")
        assert "`economy.wallets` → `economy_wallets`" in asked.embeds[0]["description"]
        await scene.discord.click(scene.owner, handle, label="Confirm")
        reply = await scene.finished(handle, "Adopted from nextcord-ormar 0.3")
        fields = {f["name"]: f["value"] for f in reply.embeds[0].get("fields", [])}
        if db_url.startswith("sqlite"):  # backed up first by default, and the reply says where
            assert ".adopt-economy.bak" in fields["Backup"], fields
        else:  # a server is backed up only when asked
            assert "Backup" not in fields, fields
        written = "0001_adopt_0_3_table_names.py"
        assert reply.file(written).data == (folder / written).read_bytes()
        assert sorted(p.name for p in folder.glob("*.py")) == [written, "9a4a0aa24e46_.py"]

        again = await scene.run(scene.owner, "migrate adopt", {"cog": "Economy"})
        reply = await scene.finished(again, "Nothing to adopt")
        assert "already adopted (at 9a4a0aa24e46)" in reply.embeds[0]["description"]

        upgrade = await scene.run(scene.owner, "migrate upgrade")
        reply = await scene.finished(upgrade, "Upgrade done")
        assert "9a4a0aa24e46 → 0001" in reply.embeds[0]["description"]
    assert {"economy_wallets", "alembic_version_economy"} <= await table_names(db_url)
