"""README promises checked where the bot's owner meets them: replies in the local Discord.

Each test fails when its promise is broken on purpose (``python3 dev.py mutate``): the
tamper flag in ``/migrate show`` and ``/migrate check``, the channel fallback when Discord
rejects the interaction token, files too large to attach named instead, ``/migrate stamp``
and ``/migrate upgrade target:`` honouring their revision. Runs on all three databases.
"""

from __future__ import annotations

from pathlib import Path

from nextcord_ormar.migrations import MigrationEngine
from tests.conftest import CogProject
from tests.discord_harness import Scene, running_bot, table_names
from tests.sample_cogs import write_cogs

ECONOMY = ("cogs.economy",)


async def _two_migrations(scene: Scene) -> tuple[MigrationEngine, Path]:
    """0001 (creates the wallets table) and 0002 (empty; its path), neither applied."""
    engine = MigrationEngine.for_bot(scene.bot)
    await engine.make("economy")
    second = await engine.make("economy", message="second step", empty=True)
    assert second.path is not None
    return engine, second.path


def _gate(script: Path, gate: Path) -> None:
    """Make a migration's upgrade() wait until the file ``gate`` exists (a real, blocking wait)."""
    text = script.read_text()
    waiting = (
        "def upgrade() -> None:\n"
        "    import pathlib, time\n"
        f"    while not pathlib.Path({str(gate)!r}).exists():\n"
        "        time.sleep(0.02)\n"
    )
    assert "def upgrade() -> None:\n    pass" in text
    script.write_text(text.replace("def upgrade() -> None:\n    pass", waiting))


async def test_a_script_edited_after_it_ran_is_flagged_in_show_and_check(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=ECONOMY) as scene:
        made = await MigrationEngine.for_bot(scene.bot).make("economy")
        await scene.finished(await scene.run(scene.owner, "migrate upgrade"), "Upgrade done")
        await scene.finished(await scene.run(scene.owner, "migrate check"), "Check passed")
        assert made.path is not None
        made.path.write_text(made.path.read_text() + "\n# edited after it ran\n")

        show = await scene.run(scene.owner, "migrate show", {"cog": "Economy"})
        reply = await scene.finished(show, "Migration status")
        value = reply.embeds[0]["fields"][0]["value"]
        assert "changed after it was applied: 0001" in value
        assert "up to date" not in value  # AppStatus.in_sync: not with a changed script

        check = await scene.run(scene.owner, "migrate check")
        reply = await scene.finished(check, "differ from the database")
        assert "changed after they were applied: 0001" in reply.embeds[0]["description"]


async def test_result_goes_to_the_channel_when_discord_rejects_the_token(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    gate = cog_project.root / "gate"
    async with running_bot(db_url, cog_project, extensions=ECONOMY) as scene:
        _, second = await _two_migrations(scene)
        _gate(second, gate)
        handle = await scene.run(scene.owner, "migrate upgrade")
        await handle.wait_acknowledged()
        # Sixteen minutes pass on Discord's clock while 0002 runs: the token has expired.
        scene.discord.clock.advance(16 * 60)
        gate.write_text("go")
        message = await scene.discord.wait_for_message(
            scene.general, lambda m: "Upgrade done" in str(m.embeds), timeout=30
        )
        assert f"<@{scene.owner.id}>" in message.content
        assert "Economy: base → 0002 (2 migrations)" in message.embeds[0]["description"]
        assert any(r.status == 401 for r in handle.rejections), handle.rejections


async def test_files_over_8_mib_are_named_not_attached(
    db_url: str, cog_project: CogProject
) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=ECONOMY) as scene:
        _, second = await _two_migrations(scene)
        big = "def upgrade() -> None:\n    op.execute(\"SELECT '\" + 'x' * (9 * 2**20) + \"'\")"
        second.write_text(second.read_text().replace("def upgrade() -> None:\n    pass", big))
        sql = await scene.run(scene.owner, "migrate sql", {"cog": "Economy"})
        reply = await scene.finished(sql, "Too large to attach")
        assert "economy_base_to_0002.sql (9.0 MiB)" in (reply.content or "")
        assert reply.files == []
        assert "economy_wallets" not in await table_names(db_url)


async def test_stamp_marks_the_revision_it_is_given(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=ECONOMY) as scene:
        engine, _ = await _two_migrations(scene)
        options = {"cog": "Economy", "revision": "0001"}
        stamp = await scene.run(scene.owner, "migrate stamp", options)
        reply = await scene.finished(stamp, "Stamped")
        assert "base → 0001" in (reply.content or "")
        assert await engine.current(["economy"]) == {"economy": "0001"}
        assert "economy_wallets" not in await table_names(db_url)  # nothing ran


async def test_upgrade_stops_at_its_target(db_url: str, cog_project: CogProject) -> None:
    write_cogs(cog_project, moderation=False)
    async with running_bot(db_url, cog_project, extensions=ECONOMY) as scene:
        engine, _ = await _two_migrations(scene)
        options = {"cog": "Economy", "target": "0001"}
        upgrade = await scene.run(scene.owner, "migrate upgrade", options)
        reply = await scene.finished(upgrade, "Upgrade done")
        assert "Economy: base → 0001 (1 migration)" in reply.embeds[0]["description"]
        assert await engine.current(["economy"]) == {"economy": "0001"}
        assert "economy_wallets" in await table_names(db_url)
