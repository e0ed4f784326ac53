"""Reloading a cog while ``make`` runs: make sees the app before or after the reload, never
half of it (issue 14 point 9).

``bot.reload_extension`` runs the cog's module again on the bot's loop: ``create_app`` first
empties the app, then the module's classes fill it again. A ``make`` running in its worker
thread in between would compare a database holding the app's tables with an app that has
none, and write a migration dropping them. The test holds that moment open: the reloaded
module pauses right after ``create_app`` until make has finished (or a generous wait ran
out), while make is released from the migration lock it was waiting for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from nextcord_ormar.migrations import MigrationEngine
from tests.conftest import CogProject
from tests.discord_harness import running_bot, table_names
from tests.sample_cogs import write_cogs

#: How long the paused reload waits for make to finish before it goes on anyway.
PAUSE = 10.0

CREATE_APP = 'app = OrmarApp.create_app("economy")\n'
PAUSING = CREATE_APP + "\nfrom cogs import pause\n\nif pause.hook is not None:\n    pause.hook()\n"


def _hold_the_lock(script: Path, entered: Path, gate: Path) -> None:
    """Make a migration's upgrade() say it started, then wait until ``gate`` exists."""
    text = script.read_text()
    waiting = (
        "def upgrade() -> None:\n"
        "    import pathlib, time\n"
        f"    pathlib.Path({str(entered)!r}).touch()\n"
        f"    while not pathlib.Path({str(gate)!r}).exists():\n"
        "        time.sleep(0.02)\n"
    )
    assert "def upgrade() -> None:\n    pass" in text
    script.write_text(text.replace("def upgrade() -> None:\n    pass", waiting))


async def _until(path: Path) -> None:
    while not path.exists():
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_reloading_the_cog_while_make_runs_does_not_drop_its_tables(
    db_url: str, cog_project: CogProject, tmp_path: Path
) -> None:
    write_cogs(cog_project, moderation=False)
    cog_project.write("cogs/pause.py", "hook = None\n")
    module = cog_project.root / "cogs" / "economy.py"
    assert CREATE_APP in module.read_text()
    module.write_text(module.read_text().replace(CREATE_APP, PAUSING))
    async with running_bot(db_url, cog_project, extensions=("cogs.economy",)) as scene:
        engine = MigrationEngine.for_bot(scene.bot)
        await engine.make("economy")
        assert (await engine.upgrade(["economy"])).ok
        second = await engine.make("economy", message="holds the lock", empty=True)
        assert second.path is not None
        folder = second.path.parent
        scripts_before = sorted(p.name for p in folder.glob("*.py"))
        entered, gate = tmp_path / "entered", tmp_path / "gate"
        _hold_the_lock(second.path, entered, gate)

        holder = asyncio.ensure_future(engine.upgrade(["economy"]))
        await _until(entered)  # the upgrade holds the migration lock
        waiting = threading.Event()
        maker = MigrationEngine.for_bot(scene.bot, lock_timeout=120, on_lock_wait=waiting.set)
        making = asyncio.ensure_future(maker.make("economy"))
        assert await asyncio.to_thread(waiting.wait, 60), "make never waited for the lock"

        def pause() -> None:
            """Mid-reload (the app emptied, its model not defined again yet): let make go."""
            gate.touch()
            deadline = time.monotonic() + PAUSE
            while time.monotonic() < deadline:
                if sorted(p.name for p in folder.glob("*.py")) != scripts_before:
                    return  # make wrote something
                time.sleep(0.05)

        import cogs.pause  # type: ignore[import-not-found]

        cogs.pause.hook = pause
        try:
            scene.bot.reload_extension("cogs.economy")
        finally:
            cogs.pause.hook = None
        assert (await holder).ok
        made = await making

        written = sorted(p.name for p in folder.glob("*.py"))
        assert made.outcome == "no_changes", (made.outcome, [o.describe() for o in made.operations])
        assert written == scripts_before
        assert "economy_wallets" in await table_names(db_url)
