"""An example nextcord-ormar bot: two cogs with models, and the ``/migrate`` admin cog.

    DISCORD_TOKEN=... python example_bot.py     run it on Discord
    python example_bot.py --offline             play a scripted session on a local Discord

The cogs live in ``example/cogs/``: ``economy`` (members and their coins) and
``moderation`` (warnings that point at the economy's members through a cross-cog foreign
key). ``nxalembic.ini`` at the repository root names this module and its ``bot``, so
``nxalembic migrate`` / ``nxalembic upgrade`` work from there.

Environment (on Discord): ``DISCORD_TOKEN`` (required), ``DATABASE_URL`` (default
``sqlite:///example.sqlite3``), ``ADMIN_GUILD_ID`` (register ``/migrate`` only in that
server; without it the command is global, still owner-only and never in DMs).

``--offline`` needs no token and touches nothing in this repository: it copies the
project into a temporary folder, runs the bot there on SQLite against
:class:`nextcord_ormar.testing.LocalDiscord` and prints what a person in Discord would
see. It exits 0 when every step behaved as expected.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nextcord

from nextcord_ormar import Bot

ROOT = Path(__file__).resolve().parent
DEFAULT_DATABASE_URL = "sqlite:///example.sqlite3"
EXTENSIONS = ("example.cogs.economy", "example.cogs.moderation")


def create_bot(
    database_url: str | None = None,
    *,
    admin_guild_ids: list[int] | None = None,
    admin_options: dict[str, Any] | None = None,
    **options: Any,
) -> Bot:
    """The example bot with its cogs and the admin cog loaded; nothing connects yet."""
    bot = Bot(
        database_url=database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        intents=nextcord.Intents.default(),
        **options,
    )
    for extension in EXTENSIONS:
        bot.load_extension(extension)
    # /migrate: owner-only, guild-only; guild_ids keeps it to your admin server.
    extras = {"guild_ids": admin_guild_ids, **(admin_options or {})}
    bot.load_extension("nextcord_ormar.admin_cog", extras=extras)
    return bot


def _admin_guild_ids() -> list[int] | None:
    value = os.environ.get("ADMIN_GUILD_ID", "").strip()
    return [int(value)] if value else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The nextcord-ormar example bot.")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="play a scripted session on a local Discord (no token, nothing changes here)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="with --offline: keep the temporary project (database, migrations) and say where",
    )
    args = parser.parse_args(argv)
    if args.offline:
        return asyncio.run(offline(keep=args.keep))
    token = os.environ.get("DISCORD_TOKEN")
    if not token:
        parser.error("set DISCORD_TOKEN to run on Discord, or pass --offline")
    logging.basicConfig(level=logging.INFO)
    create_bot(admin_guild_ids=_admin_guild_ids()).run(token)
    return 0


# -- the offline session ------------------------------------------------------------------
#
# Everything below plays a short session against the local Discord and prints it. It is
# also this project's check that the whole make -> review -> upgrade flow works.

#: The model change the session makes to the moderation cog: (old text, new text).
MODEL_CHANGE = [
    (
        "    reason: str = ormar.String(max_length=200)\n",
        "    reason: str = ormar.String(max_length=200)\n"
        '    fine: int = ormar.Integer(default=0, server_default="0")\n',
    ),
    (
        "member=member, moderator_id=interaction.user.id, reason=reason",
        "member=member, moderator_id=interaction.user.id, reason=reason, fine=fine",
    ),
    (
        'return f"#{warn.id} {warn.reason} (by <@{warn.moderator_id}>)"',
        'return f"#{warn.id} {warn.reason}, fined {warn.fine} (by <@{warn.moderator_id}>)"',
    ),
]


class StepFailed(Exception):
    """A step of the session did not give what a person would expect."""


class Transcript:
    """Prints the session the way Discord would show it (mentions become @names)."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.started = time.monotonic()

    def _names(self, text: str) -> str:
        return re.sub(r"<@!?(\d+)>", lambda m: "@" + self.names.get(int(m[1]), m[1]), text)

    def say(self, text: str = "", indent: str = "") -> None:
        for line in self._names(text).splitlines() or [""]:
            print(f"{indent}{line}".rstrip(), flush=True)

    def section(self, title: str) -> None:
        self.say(f"\n── {title} " + "─" * max(0, 70 - len(title)))

    def command(self, user: str, command: str, options: dict[str, Any]) -> None:
        shown = " ".join(f"{k}:{_option_text(v)}" for k, v in options.items())
        self.say(f"\n{user} ▸ /{command}" + (f" {shown}" if shown else ""))

    def reply(self, reply: Any, *, label: str = "bot") -> None:
        lines: list[str] = (reply.content or "").replace("**", "").splitlines()
        for embed in reply.embeds:
            lines.append(f"┃ {embed.get('title') or ''}")
            lines += [f"┃ {line}" for line in (embed.get("description") or "").splitlines()]
            for field in embed.get("fields") or []:
                value = " · ".join((field.get("value") or "").splitlines())
                lines.append(f"┃ {field.get('name')}: {value}")
            footer = (embed.get("footer") or {}).get("text")
            if footer:
                lines.append(f"┃ {footer}")
        for file in reply.files:
            text = file.text().splitlines()
            lines.append(f"📎 {file.filename} ({len(text)} lines):")
            lines += [f"  │ {line}" for line in _excerpt(text)]
        head = f"  {label} ▸ " + ("(only you can see this) " if reply.ephemeral else "")
        self.say(head + (lines[0] if lines else ""))
        for line in lines[1:]:
            self.say(line, " " * len(head))

    def ok(self, text: str) -> None:
        self.say(f"  ✔ {text}")


def _excerpt(lines: list[str]) -> list[str]:
    """A migration script's first lines and its ``upgrade()``; other files' first lines."""
    try:
        start = lines.index("def upgrade() -> None:")
    except ValueError:
        return lines[:12] + (["…"] if len(lines) > 12 else [])
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("def downgrade")), None)
    body = lines[start:end]
    while body and not body[-1].strip():
        body.pop()
    return [*lines[:4], "…", *body, "…"]


def _option_text(value: Any) -> str:
    name = getattr(value, "name", None)
    if name is not None and not isinstance(value, str):
        return f"@{name}"
    return f'"{value}"' if isinstance(value, str) and " " in value else str(value)


def _check(condition: object, message: str) -> None:
    if not condition:
        raise StepFailed(message)


async def offline(*, keep: bool = False) -> int:
    """Copy the project to a temporary folder, play the session there, report the outcome."""
    # The local Discord logs what it refuses; the session reports failures itself.
    logging.basicConfig(level=logging.CRITICAL)
    workdir = Path(tempfile.mkdtemp(prefix="nextcord-ormar-example-"))
    previous_cwd = Path.cwd()
    try:
        shutil.copytree(
            ROOT / "example",
            workdir / "example",
            ignore=shutil.ignore_patterns("__pycache__", "migrations", "*.sqlite3"),
        )
        os.chdir(workdir)
        sys.path.insert(0, str(workdir))  # so `example.cogs.*` imports the copy
        try:
            await _session(workdir)
        except (StepFailed, TimeoutError) as exc:
            print(f"\n✘ the example did not behave as expected: {exc}", file=sys.stderr)
            return 1
        except Exception as exc:
            traceback.print_exc()
            print(f"\n✘ the example failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print("\n✔ every step behaved as expected.")
        return 0
    finally:
        os.chdir(previous_cwd)
        if keep:
            print(f"(kept the temporary project in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


async def _session(workdir: Path) -> None:
    from nextcord_ormar.testing import LocalDiscord

    database_url = f"sqlite:///{workdir / 'example.sqlite3'}"
    async with LocalDiscord(heartbeat_interval=1.0) as discord:
        owner = discord.create_user("owner")
        bob = discord.create_user("bob")
        guild = discord.create_guild("Example HQ", owner=owner, channels=["general"])
        guild.add_member(bob)
        discord.set_owner(owner)
        channel = guild.channel("general")
        out = Transcript({owner.id: owner.name, bob.id: bob.name, discord.bot_user.id: "bot"})
        out.say("nextcord-ormar example: an offline session on a local Discord")
        out.say(f"  project copied to {workdir} (this repository is not touched)")
        out.say(f"  database {database_url}")
        out.say(f'  server "{guild.name}", channel #general; @owner owns the bot, @bob is a member')

        bot = create_bot(
            database_url,
            admin_guild_ids=[guild.id],
            admin_options={"progress_interval": 0.2},
            guild_ready_timeout=0.05,
            migrations="check",  # hold back cogs whose database is not migrated yet
        )
        async with discord.run_bot(bot):
            out.say(f"  bot ready with cogs: {', '.join(sorted(bot.cogs))}")
            held = ", ".join(sorted(bot.held_cogs))
            out.say(f'  start-up policy migrations="check" held back: {held}')
            _check(held == "Economy, Moderation", f"expected both cogs held, got {held!r}")
            dm = await discord.wait_for_message(discord.dm_channel(owner))
            out.reply(dm, label="bot → @owner (DM)")

            async def run(
                user: Any,
                command: str,
                options: dict[str, Any] | None = None,
                expect: str = "",
                *,
                progress: bool = False,
            ) -> Any:
                options = options or {}
                out.command(user.name, command, options)
                handle = await discord.slash(user, channel, command, options)
                try:
                    reply = await handle.wait_text(expect, timeout=20)
                except TimeoutError:
                    got = " | ".join(r.text.replace("\n", " ") for r in handle.replies)
                    raise StepFailed(
                        f"/{command}: expected a reply with {expect!r}, got: {got or 'nothing'}"
                    ) from None
                if progress:
                    for edit in handle.replies:
                        if edit is not reply and edit.content and "…" in edit.content:
                            out.reply(edit, label="bot (editing)")
                out.reply(reply)
                return reply

            await _first_migrations(out, run, owner, workdir)
            await _use_the_tables(out, run, owner, bob)
            await _change_a_model(out, run, bot, owner, bob, workdir)
        # Nothing the bot sent was refused or unknown to (the local) Discord.
        _check(not discord.unknown_routes, f"unknown routes: {discord.unknown_routes}")
        _check(not discord.server_errors, f"requests that failed: {discord.server_errors}")


Run = Callable[..., Awaitable[Any]]


async def _first_migrations(out: Transcript, run: Run, owner: Any, workdir: Path) -> None:
    out.section("1. What does the database look like? Nothing is migrated yet.")
    reply = await run(owner, "migrate show", {}, "Migration status")
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    for cog in ("Economy", "Moderation"):
        value = next((v for k, v in fields.items() if k.startswith(cog)), "")
        _check("models differ" in value, f"/migrate show: {cog} should differ, got {value!r}")
    out.ok("both cogs have models the database does not have yet")
    await run(owner, "balance", {}, "being updated")
    out.ok("a held cog's commands answer a maintenance message, only to the one who asked")

    out.section("2. Make the first migration of each cog, from Discord")
    folders = {
        "Economy": workdir / "example" / "cogs" / "economy" / "migrations",
        "Moderation": workdir / "example" / "cogs" / "moderation" / "migrations",
    }
    scripts = {"Economy": "0001_create_members.py", "Moderation": "0001_create_warns.py"}
    for cog, script in scripts.items():
        reply = await run(owner, "migrate make", {"cog": cog}, "Made migration")
        written = folders[cog] / script
        _check(written.is_file(), f"/migrate make {cog}: {written} was not written")
        attached = reply.file(script).data if reply.files else b""
        _check(attached == written.read_bytes(), f"{script}: the attachment differs from the file")
        out.ok(f"{written.relative_to(workdir)} written and attached for review")

    out.section("3. Reviewed. Apply them: economy first, moderation depends on it")
    reply = await run(owner, "migrate upgrade", {}, "Upgrade done", progress=True)
    summary = reply.embeds[0]["description"]
    economy = summary.find("Economy: base → 0001")
    moderation = summary.find("Moderation: base → 0001")
    _check(0 <= economy < moderation, f"/migrate upgrade: unexpected summary {summary!r}")
    out.ok("economy_members and moderation_warns exist; economy was migrated first")
    released = "Released the held cogs: Economy, Moderation"
    _check(released in reply.text, f"/migrate upgrade should release both cogs: {reply.text!r}")
    out.ok("both cogs released without a restart")


async def _use_the_tables(out: Transcript, run: Run, owner: Any, bob: Any) -> None:
    out.section("4. The cogs use their new tables")
    await run(bob, "balance", {}, "bob has 100 coins.")
    await run(owner, "pay", {"user": bob, "amount": 30}, "owner paid bob 30 coins")
    await run(owner, "warn", {"user": bob, "reason": "spamming"}, "Warned bob: spamming")
    await run(owner, "warnings", {"user": bob}, "#1 spamming")
    await run(bob, "balance", {}, "bob has 120 coins.")
    out.ok("coins and warnings are read and written; a warning fines the member's coins")


async def _change_a_model(
    out: Transcript, run: Run, bot: Bot, owner: Any, bob: Any, workdir: Path
) -> None:
    out.section("5. A model changes: warnings record their fine. Edit, reload, make, upgrade")
    source = workdir / "example" / "cogs" / "moderation.py"
    text = source.read_text(encoding="utf-8")
    for old, new in MODEL_CHANGE:
        _check(old in text, f"cannot apply the model change: {old.strip()!r} not in {source}")
        text = text.replace(old, new, 1)
        for line in new.splitlines():
            if line not in old.splitlines():
                out.say(f"  ✎ example/cogs/moderation.py  + {line.strip()}")
    source.write_text(text, encoding="utf-8")
    bot.reload_extension("example.cogs.moderation")
    out.say('  ↻ bot.reload_extension("example.cogs.moderation")')

    reply = await run(owner, "migrate show", {"cog": "Moderation"}, "Migration status")
    _check("models differ" in reply.text, "/migrate show should see the new column after reload")
    reply = await run(owner, "migrate make", {"cog": "Moderation"}, "Made migration")
    script = "0002_add_warns_fine.py"
    _check(reply.files and reply.files[0].filename == script, f"expected {script} attached")
    _check(
        "add column moderation_warns.fine" in reply.text,
        f"/migrate make should list the new column, got {reply.text!r}",
    )
    reply = await run(owner, "migrate upgrade", {}, "Upgrade done", progress=True)
    _check("Moderation: 0001 → 0002" in reply.text, f"unexpected summary {reply.text!r}")
    _check("Economy: nothing to do" in reply.text, f"unexpected summary {reply.text!r}")
    out.ok("moderation_warns.fine exists; older warnings got its server default (0)")

    out.section("6. The command uses the new column")
    await run(owner, "warn", {"user": bob, "reason": "spamming again"}, "Fined 10 coins")
    reply = await run(owner, "warnings", {"user": bob}, "#2 spamming again, fined 10")
    _check("#1 spamming, fined 0" in reply.text, f"the older warning: {reply.text!r}")
    await run(owner, "migrate check", {}, "Check passed")
    out.ok("models and database agree")


if __name__ == "__main__":
    sys.exit(main())
else:
    # Importers (nxalembic, via nxalembic.ini) get the bot with its cogs loaded; nothing
    # logs in and nothing connects until bot.run().
    bot = create_bot(admin_guild_ids=_admin_guild_ids())

__all__ = ["DEFAULT_DATABASE_URL", "EXTENSIONS", "create_bot", "main"]
