"""Replies stay within Discord's limits whatever the engine returns."""

from nextcord_ormar.admin_cog.render import ATTACHMENT_LIMIT, clip
from nextcord_ormar.admin_cog.render import Rendered as Reply


def test_files_too_large_for_discord_are_named_instead_of_attached() -> None:
    reply = Reply(
        content="Made migration `0001_big.py`.",
        files=[("0001_big.py", b"x" * (ATTACHMENT_LIMIT + 1)), ("small.sql", b"SELECT 1")],
    ).fit()
    assert [name for name, _ in reply.files] == ["small.sql"]
    assert "Too large to attach: 0001_big.py (8.0 MiB)" in reply.content


def test_clip_keeps_text_within_the_limit() -> None:
    assert clip("a" * 5000, 2000) == "a" * 1999 + "…"
    assert clip("short", 2000) == "short"
