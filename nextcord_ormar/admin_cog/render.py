"""Turn the engine's results into Discord replies: short content, an embed, files for long text.

Pure functions, no I/O: the cog sends what these return; the facts (what is pending, what a
step drops) come computed from the engine's results. Discord's limits are respected here
(2,000 characters of content, embed field and description sizes); anything longer goes out
as a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import nextcord

from ..migrations import (
    AdoptPlan,
    AppRun,
    AppStatus,
    Backup,
    CheckResult,
    Difference,
    MakeResult,
    Plan,
    RevisionInfo,
    SqlResult,
    StampResult,
    UpgradeResult,
)
from ..migrations.adopt import backup_of
from ..migrations.questions import ConfirmAdopt, ConfirmMove, Question

__all__ = ["Rendered", "clip"]

CONTENT_LIMIT = 2000
#: Discord takes files up to 10 MiB from bots; keep a margin for the request's other parts.
ATTACHMENT_LIMIT = 8 * 1024 * 1024
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
OK, FAIL, WARN, INFO = 0x2ECC71, 0xE74C3C, 0xF1C40F, 0x5865F2


@dataclass
class Rendered:
    """What to send: content, at most one embed, and files as (name, bytes)."""

    content: str = ""
    embed: nextcord.Embed | None = None
    files: list[tuple[str, bytes]] = field(default_factory=list)

    def fit(self) -> Rendered:
        """This reply with files too large for Discord left out and named in the content."""
        kept = [(n, d) for n, d in self.files if len(d) <= ATTACHMENT_LIMIT]
        dropped = [
            f"{n} ({len(d) / 2**20:.1f} MiB)" for n, d in self.files if len(d) > ATTACHMENT_LIMIT
        ]
        if not dropped:
            return self
        note = "Too large to attach: " + ", ".join(dropped) + "; find it on the bot's host."
        content = clip(f"{self.content}\n{note}".strip(), CONTENT_LIMIT)
        return Rendered(content=content, embed=self.embed, files=kept)

    def file_objects(self) -> list[nextcord.File]:
        import io

        return [nextcord.File(io.BytesIO(data), filename=name) for name, data in self.files]


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rev(revision: str | None) -> str:
    return revision or "base"


def _bullets(lines: Iterable[str], limit: int = DESCRIPTION_LIMIT) -> str:
    out: list[str] = []
    used = 0
    items = list(lines)
    for index, line in enumerate(items):
        entry = f"• {line}"
        if used + len(entry) + 1 > limit - 40:
            out.append(f"… and {len(items) - index} more (see the attached file)")
            break
        out.append(entry)
        used += len(entry) + 1
    return "\n".join(out)


def _label(cog: str | None, app: str) -> str:
    return f"{cog} (app `{app}`)" if cog and cog != app else f"`{app}`"


def error(message: str, *, title: str = "Migration command failed") -> Rendered:
    embed = nextcord.Embed(title=title, description=clip(message, DESCRIPTION_LIMIT), colour=FAIL)
    return Rendered(embed=embed)


def busy(what: str, who: str) -> Rendered:
    return Rendered(
        content=f"busy: {what} started by {who} is still running; try again when it ends"
    )


def make(result: MakeResult, cog: str | None) -> Rendered:
    label = _label(cog, result.app)
    if result.outcome == "no_changes":
        return Rendered(
            content=f"No changes for {label}: its models match the database. Nothing written."
        )
    if result.outcome == "not_up_to_date":
        pending = ", ".join(result.pending) or "?"
        return Rendered(
            embed=nextcord.Embed(
                title=f"{result.app}: database not up to date",
                description=(
                    f"{label} has migrations that are not applied yet: {pending}.\n"
                    f"Apply them first with `/migrate upgrade cog:{cog or result.app}`, "
                    "then make the new migration. Nothing written."
                ),
                colour=WARN,
            )
        )
    assert result.path is not None
    assert result.revision is not None
    ops = [op.describe() for op in result.operations] or ["(empty migration: write it by hand)"]
    embed = nextcord.Embed(
        title=clip(f"{result.app} {result.revision}: {result.message}", 256),
        description=_bullets(ops),
        colour=WARN if result.warnings else OK,
    )
    embed.add_field(name="Cog", value=clip(label, FIELD_LIMIT), inline=True)
    embed.add_field(name="Revision", value=result.revision, inline=True)
    if result.warnings:
        embed.add_field(
            name="Warnings",
            value=clip(_bullets(result.warnings, FIELD_LIMIT), FIELD_LIMIT),
            inline=False,
        )
    embed.set_footer(
        text=clip(f"Written to {result.path}. Review it, then /migrate upgrade.", 2048)
    )
    data = (result.script or "").encode()  # the engine read the file once, as written
    return Rendered(
        content=f"Made migration `{result.path.name}` for {label}.",
        embed=embed,
        files=[(result.path.name, data)],
    )


def progress(lines: Sequence[str], title: str) -> Rendered:
    return Rendered(content=clip(f"**{title}**\n" + "\n".join(lines), CONTENT_LIMIT))


def _run_line(run: AppRun, cogs: dict[str, str]) -> str:
    label = cogs.get(run.app, run.app)
    if run.error is not None:
        return f"{label}: FAILED at {run.failed_revision or '?'}, left at {_rev(run.after)}"
    if not run.steps:
        return f"{label}: nothing to do (at {_rev(run.after)})"
    count = len(run.steps)
    noun = "migration" if count == 1 else "migrations"
    return f"{label}: {_rev(run.before)} → {_rev(run.after)} ({count} {noun})"


def moved(result: UpgradeResult, cogs: dict[str, str]) -> Rendered:
    """The final summary of an upgrade or downgrade, with the traceback file on failure."""
    verb = "Upgrade" if result.direction == "up" else "Downgrade"
    lines = [_run_line(run, cogs) for run in result.apps] or ["no cogs with migrations"]
    failed = result.failed
    if failed is None:
        embed = nextcord.Embed(title=f"{verb} done", description=_bullets(lines), colour=OK)
        _backup_field(embed, result.backup)
        return Rendered(embed=embed)
    embed = nextcord.Embed(title=f"{verb} failed", description=_bullets(lines), colour=FAIL)
    _backup_field(embed, result.backup)
    embed.add_field(
        name="Failed migration",
        value=clip(
            f"{cogs.get(failed.app, failed.app)} {failed.failed_revision or '?'}", FIELD_LIMIT
        ),
        inline=False,
    )
    embed.add_field(name="Error", value=clip(f"```{failed.error}```", FIELD_LIMIT), inline=False)
    if failed.left == "rolled_back":
        state = f"rolled back: nothing of {failed.failed_revision or 'it'} was applied"
    elif failed.left == "partly_applied":
        shown = "\n".join(failed.statements_run)
        state = f"{len(failed.statements_run)} statement(s) of it ran and stay applied:\n{shown}"
    else:
        state = "no statement of it ran"
    embed.add_field(name="Database state", value=clip(state, FIELD_LIMIT), inline=False)
    files = [("traceback.txt", (failed.traceback or "").encode())] if failed.traceback else []
    return Rendered(embed=embed, files=files)


def _plan_lines(plan: Plan, cogs: dict[str, str]) -> list[str]:
    label = cogs.get(plan.app, plan.app)
    lines = [f"{label}: {_rev(plan.current)} → {_rev(plan.target)}"]
    for step in plan.steps:
        lines.append(f"{step.revision} {step.message}")
        lines += [f"⚠ {loss.describe()}" for loss in step.losses]
    return lines


def _adopt_lines(plan: AdoptPlan, cogs: dict[str, str]) -> list[str]:
    label = _label(cogs.get(plan.app), plan.app)
    if plan.state == "nothing":
        return [f"{label}: nothing from nextcord-ormar 0.3 here"]
    if plan.state == "adopted" and not plan.done:
        return [f"{label}: already adopted (at {_rev(plan.current)}); nothing to do"]
    lines = [f"{label}: record {_rev(plan.revision)} in `{plan.version_table_ours}`"]
    lines += [f"move `{a.name}` to `{b.parent}`" for a, b in plan.moves]
    if plan.migration is not None:
        renames = ", ".join(f"`{m.legacy}` → `{m.target}`" for m in plan.tables)
        lines.append(f"migration `{plan.migration.name}` renames {renames} (run by upgrade)")
    return lines + plan.paste


def adopted(plans: Sequence[AdoptPlan], cogs: dict[str, str]) -> Rendered:
    """What ``/migrate adopt`` did; the renaming migration it wrote is attached for review."""
    lines = [line for plan in plans for line in _adopt_lines(plan, cogs)]
    done = [plan for plan in plans if plan.done]
    title = "Adopted from nextcord-ormar 0.3" if done else "Nothing to adopt"
    embed = nextcord.Embed(title=title, description=_bullets(lines), colour=OK if done else INFO)
    _backup_field(embed, backup_of(plans))
    files = [
        (plan.migration.name, plan.migration.read_bytes())
        for plan in done
        if plan.migration is not None and plan.migration.is_file()
    ]
    return Rendered(embed=embed, files=files)


def question(asked: Question, cogs: dict[str, str]) -> Rendered:
    """An engine question, to be answered with the Confirm / Cancel buttons."""
    if isinstance(asked, ConfirmAdopt):
        lines = [line for plan in asked.plans for line in _adopt_lines(plan, cogs)]
        embed = nextcord.Embed(
            title="Adopt what nextcord-ormar 0.3 left", description=_bullets(lines), colour=WARN
        )
        content = "This will adopt the cog's 0.3 history. Only you can confirm."
        return Rendered(content=content, embed=embed)
    if not isinstance(asked, ConfirmMove):
        return Rendered(content=clip(asked.summary(), CONTENT_LIMIT))
    verb = "undo" if asked.direction == "down" else "apply"
    count = len(asked.steps)
    content = (
        f"This will {verb} {count} migration(s). "
        "Only you can confirm; nothing changes until you do."
    )
    title = f"{count} migration(s) to {verb}"
    if asked.losses:
        title = "These migrations drop tables, columns, indexes or constraints"
        content += " Data they drop cannot be brought back."
    lines = [line for plan in asked.plans for line in _plan_lines(plan, cogs)]
    embed = nextcord.Embed(title=title, description=_bullets(lines), colour=WARN)
    return Rendered(content=content, embed=embed)


def status(statuses: Sequence[AppStatus], cogs: dict[str, str]) -> Rendered:
    if not statuses:
        return Rendered(content="No loaded cog has models.")
    embed = nextcord.Embed(title="Migration status", colour=INFO)
    for st in statuses[:25]:
        parts = [f"current: {_rev(st.current)}", f"head: {', '.join(st.heads) or 'none'}"]
        if st.legacy is not None:
            parts.append(f"⚠ {st.legacy.describe()}")
        if st.unknown_current:
            parts.append("⚠ current revision has no script")
        if st.tampered:
            parts.append("⚠ changed after it was applied: " + ", ".join(st.tampered))
        if st.pending:
            parts.append("pending: " + ", ".join(f"{p.revision} {p.message}" for p in st.pending))
        if st.differs:
            parts.append(
                f"models differ from the database ({len(st.changes)} change(s) not migrated)"
            )
        elif st.in_sync:
            parts.append("up to date")
        embed.add_field(
            name=clip(_label(cogs.get(st.app), st.app), 256),
            value=clip("\n".join(parts), FIELD_LIMIT),
            inline=False,
        )
    return Rendered(embed=embed)


def history(revisions: Sequence[RevisionInfo], cog: str | None, app: str) -> Rendered:
    label = _label(cog, app)
    if not revisions:
        return Rendered(content=f"{label} has no migrations yet.")
    lines = [
        f"{'✅' if r.applied else '⬜'} {r.revision} {r.message}{' (head)' if r.is_head else ''}"
        for r in revisions
    ]
    text = "\n".join(lines)
    embed = nextcord.Embed(
        title=clip(f"History of {label}", 256), description=_bullets(lines), colour=INFO
    )
    files = [(f"{app}_history.txt", text.encode())] if len(text) > DESCRIPTION_LIMIT - 200 else []
    return Rendered(embed=embed, files=files)


def sql(result: SqlResult, cog: str | None) -> Rendered:
    label = _label(cog, result.app)
    if not result.sql.strip():
        return Rendered(content=f"Nothing to run for {label} (at {_rev(result.from_revision)}).")
    name = f"{result.app}_{_rev(result.from_revision)}_to_{_rev(result.to_revision)}.sql"
    verb = "an upgrade" if result.direction == "up" else "a downgrade"
    content = (
        f"SQL for {verb} of {label} from {_rev(result.from_revision)} to "
        f"{_rev(result.to_revision)}. Nothing was applied."
    )
    return Rendered(content=content, files=[(name, result.sql.encode())])


def check(result: CheckResult, cogs: dict[str, str]) -> Rendered:
    if result.ok:
        return Rendered(
            embed=nextcord.Embed(
                title="Check passed", description="All cogs match the database.", colour=OK
            )
        )
    lines = []
    for st in result.differing:
        why = [_difference(diff) for diff in st.differences]
        lines.append(f"{_label(cogs.get(st.app), st.app)}: {', '.join(why)}")
    embed = nextcord.Embed(
        title="Cogs that differ from the database", description=_bullets(lines), colour=WARN
    )
    return Rendered(embed=embed)


def _difference(diff: Difference) -> str:
    if diff.kind == "legacy":
        return diff.detail
    if diff.kind == "pending":
        return f"{len(diff.revisions)} migration(s) not applied"
    if diff.kind == "models":
        return f"{len(diff.changes)} model change(s) without a migration"
    return "script(s) changed after they were applied: " + ", ".join(diff.revisions)


def stamped(result: StampResult, cog: str | None) -> Rendered:
    label = _label(cog, result.app)
    text = f"Stamped {label}: {_rev(result.before)} → {_rev(result.after)} (nothing ran)."
    if result.backup is not None:
        text += f"\n{result.backup.describe()}"
    return Rendered(content=clip(text, CONTENT_LIMIT))


def _backup_field(embed: nextcord.Embed, backup: Backup | None) -> None:
    """The backup taken before the write (its path on the bot's host), or why none was."""
    if backup is not None:
        embed.add_field(name="Backup", value=clip(backup.describe(), FIELD_LIMIT), inline=False)


def backup_made(backup: Backup, data: bytes | None) -> Rendered:
    """A backup made on request: attached when ``data`` (it fits Discord's limit) is given."""
    embed = nextcord.Embed(
        title="Backup made", description=clip(backup.describe(), DESCRIPTION_LIMIT), colour=OK
    )
    if backup.path is None or data is None:
        embed.add_field(name="File", value="too large to attach; find it on the bot's host")
        return Rendered(embed=embed)
    return Rendered(embed=embed, files=[(backup.path.name, data)])
