"""/migrate's questions through the local Discord: what they show, and that a yes means
exactly what was shown (issues 14.3, 14.4, 14.10, 14.15)."""

import asyncio
import fcntl
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from nextcord_ormar.migrations import MigrationEngine
from tests.conftest import CogProject
from tests.discord_harness import running_bot
from tests.sample_cogs import write_cogs


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _at_0001_with_rows(scene) -> MigrationEngine:  # type: ignore[no-untyped-def]
    await scene.finished(await scene.run(scene.owner, "migrate make", {"cog": "Economy"}), "Made")
    await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")
    engine = MigrationEngine.for_bot(scene.bot)
    async with scene.bot.database.engine.begin() as conn:
        await conn.execute(
            sqlalchemy.text(
                "INSERT INTO economy_wallets (id, balance) VALUES (1, 5), (2, 6), (3, 7)"
            )
        )
    return engine


async def test_the_downgrade_question_names_what_it_drops_with_rows(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        engine = await _at_0001_with_rows(scene)
        handle = await scene.run(
            scene.owner, "migrate downgrade", {"cog": "Economy", "target": "base"}
        )
        reply = await scene.finished(handle, "This will undo 1 migration")
        shown = reply.embeds[0]["title"] + reply.embeds[0]["description"]
        assert "drop tables, columns, indexes or constraints" in shown
        assert "drops table economy_wallets and all its rows (3 rows lost)" in shown
        await scene.discord.click(scene.owner, handle, label="Cancel")
        await scene.finished(handle, "Cancelled. Nothing changed.")
        assert await engine.current(["economy"]) == {"economy": "0001"}


async def test_a_migration_applied_while_the_buttons_wait_is_not_undone(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        engine = await _at_0001_with_rows(scene)
        await engine.make("economy", message="second", empty=True)
        await engine.upgrade(["economy"])
        await engine.make("economy", message="third", empty=True)

        handle = await scene.run(scene.owner, "migrate downgrade", {"cog": "Economy"})
        await scene.finished(handle, "This will undo 1 migration")
        # Someone else (another engine, as another process would) applies 0003 meanwhile.
        other = MigrationEngine(scene.bot.database, scene.bot.registry, in_thread=True)
        await other.upgrade(["economy"])
        await scene.discord.click(scene.owner, handle, label="Confirm")
        await scene.finished(handle, "the database changed while you were confirming")
        assert await engine.current(["economy"]) == {"economy": "0003"}


async def test_cancel_and_confirm_pressed_together_get_one_answer(
    db_url: str, cog_project: CogProject
) -> None:
    """Both presses reach the bot before either edit lands: the first counts, the other is
    ignored, and what runs matches the one answer shown (issue 14.10)."""
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        engine = await _at_0001_with_rows(scene)
        handle = await scene.run(scene.owner, "migrate downgrade", {"cog": "Economy"})
        await scene.finished(handle, "This will undo 1 migration")
        cancel, confirm = await asyncio.gather(
            scene.discord.click(scene.owner, handle, label="Cancel"),
            scene.discord.click(scene.owner, handle, label="Confirm"),
        )
        await cancel.wait_acknowledged()
        await confirm.wait_acknowledged()

        def answered(press) -> bool:  # type: ignore[no-untyped-def]
            return any(
                "Cancelled" in (r.content or "") or "Confirmed" in (r.content or "")
                for r in press.replies
            )

        answers = [press for press in (cancel, confirm) if answered(press)]
        assert len(answers) == 1, (cancel, confirm)
        if answers[0] is cancel:
            await scene.finished(handle, "Cancelled. Nothing changed.")
            await asyncio.sleep(1.0)  # a wrongly accepted Confirm would be running by now
            assert await engine.current(["economy"]) == {"economy": "0001"}
            assert "Downgrade done" not in str(handle.replies)
        else:
            await scene.finished(handle, "Downgrade done")
            assert await engine.current(["economy"]) == {"economy": None}


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_busy_is_reported_as_busy(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        database = Path(str(make_url(db_url).database)).resolve()
        with open(database.with_name(database.name + ".nxo-lock"), "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # another process is migrating
            handle = await scene.run(scene.owner, "migrate make", {"cog": "Economy"})
            reply = await scene.finished(handle, "busy")
        text = str(reply.embeds[0]) + (reply.content or "")
        assert "another process is migrating this database" in text
        assert "database error" not in text
