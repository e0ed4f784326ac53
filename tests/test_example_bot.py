"""example_bot.py: the offline session runs clean, and importing the bot starts nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _example_files() -> set[Path]:
    return {p for p in (ROOT / "example").rglob("*") if "__pycache__" not in p.parts}


def test_offline_session_makes_applies_and_uses_migrations_from_discord() -> None:
    before = _example_files()
    run = subprocess.run(
        [sys.executable, "example_bot.py", "--offline"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    for line in [
        "owner ▸ /migrate show",
        "owner ▸ /migrate make cog:Economy",
        "Made migration `0001_create_members.py` for Economy (app `economy`).",
        "📎 0001_create_members.py",
        "op.create_table('economy_members',",
        "Made migration `0001_create_warns.py` for Moderation (app `moderation`).",
        'start-up policy migrations="check" held back: Economy, Moderation',
        "Run /migrate upgrade to apply the pending migrations",
        "(only you can see this) This feature is being updated.",
        "Economy: applied 0001 create members (1/1)",
        "Released the held cogs: Economy, Moderation",
        "• Economy: base → 0001 (1 migration)",
        "• Moderation: base → 0001 (1 migration)",
        "Warned bob: spamming (warning #1, 1 in total).",
        'bot.reload_extension("example.cogs.moderation")',
        "Made migration `0002_add_warns_fine.py` for Moderation (app `moderation`).",
        "• add column moderation_warns.fine (INTEGER)",
        "• Moderation: 0001 → 0002 (1 migration)",
        "#2 spamming again, fined 10 (by @owner)",
        "Check passed",
        "✔ every step behaved as expected.",
    ]:
        assert line in out, f"missing {line!r} in the transcript:\n{out}"
    assert _example_files() == before  # the session ran in a temporary copy


def test_importing_the_example_bot_loads_cogs_and_starts_nothing() -> None:
    code = (
        "import example_bot\n"
        "bot = example_bot.bot\n"
        "assert sorted(bot.cogs) == ['Economy', 'Migrations', 'Moderation'], bot.cogs\n"
        "assert not bot.is_ready() and not bot.database.is_connected\n"
        "assert set(bot.cog_apps()) == {'Economy', 'Moderation'}\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
