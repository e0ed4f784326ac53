"""Promises broken on purpose: ``python3 dev.py mutate`` applies each in a temporary copy of
the repository and runs the tests that must catch it (not run in CI; see dev.py).

Each mutation names a file, an exact snippet of its source (it must occur exactly once) and
the replacement. When the code changes so that a snippet no longer occurs, the mutation
reports "does not apply": update it to break the same promise in the new code. A new
promise in README.md gets its mutation here, with the test that guards it.

Plain data and the standard library only: dev.py imports this file without a virtualenv.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    """One broken promise and the pytest arguments (tests) that must fail on it."""

    name: str
    promise: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


COG_PROMISES = "tests/test_cog_promises.py"
CLI_PROMISES = "tests/cli/test_promises.py"

MUTATIONS = [
    Mutation(
        "bot-logs-full-url",
        "the bot never logs its database password (scan of every log record)",
        "nextcord_ormar/connection.py",
        'log.info("database connected: %s", self.url)',
        'log.info("database connected: %s", self.sa_url.render_as_string(hide_password=False))',
        ("tests/test_bot_lifecycle.py", "-k", "sqlite-Bot or postgresql-Bot"),
    ),
    Mutation(
        "masked-url-shows-query",
        "a masked URL hides a ?password= in its query (SQLite test URLs carry the secret there)",
        "nextcord_ormar/redact.py",
        "key: (MASK if _SECRET_KEY.search(key) else value) for key, value in parsed.query.items()",
        "key: value for key, value in parsed.query.items()",
        ("tests/test_bot_lifecycle.py", "-k", "sqlite-Bot"),
    ),
    Mutation(
        "reply-carries-full-url",
        "no reply carries the database URL with its secret, on SQLite too, under pytest -n 2",
        "nextcord_ormar/admin_cog/delivery.py",
        "return render.error(str(exc))",
        "return render.error(f\"{exc} ({__import__('nextcord_ormar.database', fromlist=['x'])"
        '.database.sa_url.render_as_string(False)})")',
        (
            "-n",
            "2",
            "tests/test_admin_cog.py::test_hostile_slash_options_give_safe_files_or_clear_errors[sqlite]",
        ),
    ),
    Mutation(
        "check-hides-tamper",
        "nxalembic check and /migrate check flag a script edited after it ran (one core: the"
        " difference is the engine's, both faces render it)",
        "nextcord_ormar/migrations/results.py",
        "        if self.tampered:\n            found.append(",
        "        if False:\n            found.append(",
        (
            f"{CLI_PROMISES}::test_check_flags_a_script_edited_after_it_ran[sqlite]",
            f"{COG_PROMISES}::test_a_script_edited_after_it_ran_is_flagged_in_show_and_check[sqlite]",
        ),
    ),
    Mutation(
        "cog-show-hides-tamper",
        "/migrate show flags a script edited after it ran",
        "nextcord_ormar/admin_cog/render.py",
        "        if st.tampered:\n            parts.append(",
        "        if False:\n            parts.append(",
        (
            f"{COG_PROMISES}::test_a_script_edited_after_it_ran_is_flagged_in_show_and_check[sqlite]",
        ),
    ),
    Mutation(
        "cli-does-not-wait-for-the-lock",
        "nxalembic waits for another process's migration (--lock-timeout)",
        "nextcord_ormar/nxalembic/cli.py",
        "lock_timeout=self.args.lock_timeout,",
        "lock_timeout=0,",
        (f"{CLI_PROMISES}::test_upgrade_waits_for_another_migration_and_says_so[sqlite]",),
    ),
    Mutation(
        "cli-waits-silently",
        "nxalembic says that it waits for the lock",
        "nextcord_ormar/nxalembic/cli.py",
        "on_lock_wait=_say_waiting(self.args.lock_timeout),",
        "on_lock_wait=None,",
        (f"{CLI_PROMISES}::test_upgrade_waits_for_another_migration_and_says_so[sqlite]",),
    ),
    Mutation(
        "no-narrowing-warning",
        "migrate warns about a narrowed column type",
        "nextcord_ormar/migrations/operations.py",
        "if op.modify_type is not None and is_narrowing(op.existing_type, op.modify_type):",
        "if False:",
        (
            f"{CLI_PROMISES}::test_migrate_warns_about_narrowed_types_and_not_null_columns_on_full_tables[sqlite]",
        ),
    ),
    Mutation(
        "no-not-null-on-rows-warning",
        "migrate warns about a NOT NULL column added to a table that has rows",
        "nextcord_ormar/migrations/operations.py",
        "not col.nullable\n                and col.server_default is None",
        "False\n                and col.server_default is None",
        (
            f"{CLI_PROMISES}::test_migrate_warns_about_narrowed_types_and_not_null_columns_on_full_tables[sqlite]",
        ),
    ),
    Mutation(
        "no-channel-fallback",
        "a result goes to the channel when Discord rejects the interaction token",
        "nextcord_ormar/admin_cog/delivery.py",
        "if exc.code in _TOKEN_GONE or exc.status == 401:",
        "if False:",
        (
            f"{COG_PROMISES}::test_result_goes_to_the_channel_when_discord_rejects_the_token[sqlite]",
        ),
    ),
    Mutation(
        "big-files-attached",
        "files over 8 MiB are named in the reply, not attached",
        "nextcord_ormar/admin_cog/delivery.py",
        "        reply = reply.fit()\n",
        "",
        (f"{COG_PROMISES}::test_files_over_8_mib_are_named_not_attached[postgresql]",),
    ),
    Mutation(
        "stamp-ignores-revision",
        "/migrate stamp marks the revision it is given",
        "nextcord_ormar/admin_cog/cog.py",
        "await self.engine.stamp(app, revision)",
        'await self.engine.stamp(app, "head")',
        (f"{COG_PROMISES}::test_stamp_marks_the_revision_it_is_given[sqlite]",),
    ),
    Mutation(
        "upgrade-ignores-target",
        "/migrate upgrade target: stops at that revision",
        "nextcord_ormar/admin_cog/cog.py",
        'apps, target or "head", on_progress=progress.on_event, questioner=buttons',
        'apps, "head", on_progress=progress.on_event, questioner=buttons',
        (f"{COG_PROMISES}::test_upgrade_stops_at_its_target[sqlite]",),
    ),
    Mutation(
        "work-on-the-event-loop",
        "migration work runs off the bot's event loop (heartbeats keep arriving)",
        "nextcord_ormar/migrations/runner.py",
        "            if self.in_thread:\n",
        "            if False:\n",
        ("tests/test_admin_cog.py::test_heartbeats_keep_arriving_while_a_migration_runs[sqlite]",),
    ),
    Mutation(
        "no-server-lock",
        "one migration at a time on PostgreSQL and MySQL (the racing test fails, it does not hang)",
        "nextcord_ormar/migrations/locking.py",
        'ok = conn.execute(take, {"k": key}).scalar() == 1',
        "ok = True",
        (
            "tests/test_reliability.py::"
            "test_two_processes_racing_upgrades_apply_each_migration_once[postgresql]",
        ),
    ),
    Mutation(
        "owner-check-removed",
        "only the bot's owner may use /migrate",
        "nextcord_ormar/admin_cog/cog.py",
        "if not await self.owners.allows(interaction.user, fresh=not is_read_only(interaction)):",
        "if False:",
        ("tests/test_admin_cog.py", "-k", "refuses_a_non_owner and sqlite and make"),
    ),
    Mutation(
        "owner-rule-any-role",
        "read-only and invited team members are not owners",
        "nextcord_ormar/admin_cog/owners.py",
        'if member.get("membership_state") == ACCEPTED and member.get("role") in OWNER_ROLES:',
        "if True:",
        ("tests/test_owner_rule.py", "-k", "read_only or invited"),
    ),
    Mutation(
        "owner-rule-no-refresh-before-writes",
        "a member taken off the team is refused on the next write, without a restart",
        "nextcord_ormar/admin_cog/owners.py",
        "if fresh or stale:",
        "if stale:",
        ("tests/test_owner_rule.py", "-k", "taken_off"),
    ),
    Mutation(
        "confirm-without-owner-recheck",
        "Confirm asks the owner rule again: a member taken off the team while a question"
        " waited confirms nothing",
        "nextcord_ormar/admin_cog/views.py",
        "if choice and self.still_owner is not None and not await self.still_owner(interaction):",
        "if False:",
        ("tests/test_owner_rule.py", "-k", "before_confirming"),
    ),
    Mutation(
        "held-cogs-message-to-any-member",
        "the held-cogs message goes to the team's owner, not to any member nextcord counts",
        "nextcord_ormar/startup.py",
        "owner_id = bot.owner_id or application_owner(",
        "owner_id = bot.owner_id or min(bot.owner_ids or {0}) or application_owner(",
        ("tests/test_startup_policy.py", "-k", "team_owner and sqlite"),
    ),
]
