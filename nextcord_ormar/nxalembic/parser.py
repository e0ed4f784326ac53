"""The ``nxalembic`` command line, as one :class:`argparse.ArgumentParser`.

The parser lives at module level as :data:`parser` so the documentation can render it
(``.. argparse:: :ref: nextcord_ormar.nxalembic.parser.parser``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from ..errors import UsageError

__all__ = ["PROG", "NxalembicParser", "UsageError", "build_parser", "parser"]

PROG = "nxalembic"


class NxalembicParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one line and exit with 2.

    argparse prints the usage block and exits; here an error raises :class:`UsageError`
    instead, so :func:`nextcord_ormar.nxalembic.cli.main` can print one line and return 2.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


_DESCRIPTION = """\
Make and apply per-cog database migrations for a nextcord-ormar bot.

nxalembic reads nxalembic.ini in the current directory ([nxalembic] with 'module', the
import path of the bot's main script, and 'bot', the name of its nextcord_ormar.Bot),
imports the bot (without logging in to Discord) to find the apps its cogs create, and
compares their models with the live database. Each app (one per cog) has its own
history: its own versions folder and its own version table.
"""

_EPILOG = """\
workflow: 'nxalembic migrate' writes a migration per changed app; read it, then
'nxalembic upgrade' applies it. A step that drops data, and every downgrade, asks
first on a terminal; in scripts pass --yes. Exit status: 0 success, 1 failure (or a
question left unanswered, or, for 'check', models that differ from the database),
2 usage or configuration error.
"""

_REVISION_HELP = (
    "a revision id (0003, or a unique prefix), 'head', 'base', or a relative step such as -1 or +2"
)


def _common_options(*, top: bool) -> NxalembicParser:
    """The options every command accepts, before or after the command name."""
    # Sub-commands default to SUPPRESS so that an option given before the command is not
    # overwritten by the sub-command's default.
    default: object = None if top else argparse.SUPPRESS
    common = NxalembicParser(add_help=False)
    group = common.add_argument_group("global options")
    group.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=default,
        help="read this file instead of ./nxalembic.ini",
    )
    group.add_argument(
        "--database-url",
        metavar="URL",
        default=default,
        help="use this database instead of the bot's own (for example a staging copy)",
    )
    group.add_argument(
        "--lock-timeout",
        metavar="SECONDS",
        type=float,
        default=60.0 if top else argparse.SUPPRESS,
        help="how long a write waits for another process's migration of the same database "
        "(default: 60)",
    )
    _backup_options(group, top=top)
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="log what happens and show tracebacks of errors",
    )
    return common


def _backup_options(group: argparse._ArgumentGroup, *, top: bool) -> None:
    """When writes are backed up first, where to, and how many backups stay."""
    default: object = None if top else argparse.SUPPRESS
    group.add_argument(
        "--backup",
        action=argparse.BooleanOptionalAction,
        default=default,
        help="back up before upgrade, downgrade, stamp, adopt and restore (default: yes for a "
        "SQLite file, no for PostgreSQL and MariaDB/MySQL, which need pg_dump or mariadb-dump)",
    )
    group.add_argument(
        "--backup-dir",
        metavar="DIR",
        default=default,
        help="put backups here (default: beside a SQLite file; ./backups for a server)",
    )
    group.add_argument(
        "--keep-backups",
        metavar="N",
        type=int,
        default=default,
        help="keep the newest N backups of the database, delete older ones (default: 5)",
    )


def _app_option(sub: argparse.ArgumentParser, what: str) -> None:
    sub.add_argument(
        "--app",
        metavar="APP",
        help=f"{what} only this app (default: every app, in dependency order)",
    )


def _answer_options(sub: argparse.ArgumentParser) -> None:
    """``--yes`` / ``--no-input``: how a question (a dropping step, a downgrade) is answered."""
    group = sub.add_argument_group("questions")
    group.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="answer yes: run steps that drop data (and downgrades) without asking",
    )
    group.add_argument(
        "--no-input",
        action="store_true",
        help="never prompt, even on a terminal: a step that needs a yes is refused (exit 1) "
        "unless --yes is given (the default when stdin is not a terminal)",
    )


def _replay_options(sub: argparse.ArgumentParser, what: str) -> None:
    sub.add_argument(
        "--replay",
        action="store_true",
        help=f"{what} the app's migration history, replayed into a scratch database of the "
        "bot's dialect, instead of the live database (which is not touched)",
    )
    sub.add_argument(
        "--replay-url",
        metavar="URL",
        help="create the scratch database on this server (default: the bot's server, or "
        "replay_url in nxalembic.ini); implies --replay",
    )


def build_parser() -> NxalembicParser:
    """A fresh parser for the ``nxalembic`` command line."""
    top = NxalembicParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(top=True)],
    )
    common = _common_options(top=False)
    commands = top.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", parser_class=NxalembicParser
    )
    commands.required = True

    def command(
        name: str, summary: str, description: str, aliases: list[str] | None = None
    ) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=description,
            aliases=aliases or [],
            parents=[common],
        )

    migrate = command(
        "migrate",
        "compare the models with the database and write a migration per changed app",
        "Compare each app's models with the live database and write the app's next "
        "migration script into its versions folder. Apps without changes get no file "
        "(unless --empty). Read each script before you upgrade. A dropped and an added column "
        "that may be a rename is asked about (or answered with --rename); a table the app's "
        "own scripts created whose model is gone is dropped (other tables never are).",
    )
    _app_option(migrate, "make a migration for")
    migrate.add_argument(
        "--empty",
        action="store_true",
        help="write a blank migration to fill in by hand (needs --app), for example to "
        "drop a table",
    )
    migrate.add_argument(
        "-m",
        "--message",
        metavar="MESSAGE",
        help="what the migration does; it names the file (default: a name derived from "
        "the changes, such as 'add wallets bank')",
    )
    _replay_options(migrate, "compare the models with")
    renames = migrate.add_argument_group("renames")
    renames.add_argument(
        "--rename",
        metavar="TABLE.OLD:NEW",
        action="append",
        default=[],
        help="column OLD of TABLE was renamed to NEW: rename it (keeping its data) instead "
        "of dropping it and adding NEW (repeatable; otherwise nxalembic asks)",
    )
    renames.add_argument(
        "--rename-table",
        metavar="OLD:NEW",
        action="append",
        default=[],
        help="table OLD was renamed to NEW: rename it (keeping its rows) instead of dropping "
        "it and creating NEW (repeatable)",
    )
    renames.add_argument(
        "--no-input",
        action="store_true",
        help="never ask whether a dropped and an added column is a rename: keep the drop and "
        "the add, with a warning (the default when stdin is not a terminal)",
    )
    migrate.set_defaults(yes=False)

    upgrade = command(
        "upgrade",
        "apply pending migrations",
        "Apply the pending migrations of every app (referenced apps first), or of one app "
        "up to REVISION. When a migration drops data, nxalembic shows what and asks first "
        "(on a terminal); elsewhere it refuses unless --yes is given.",
        aliases=["update"],
    )
    _app_option(upgrade, "upgrade")
    upgrade.add_argument(
        "--sql",
        action="store_true",
        help="print the SQL the upgrade would run, and change nothing",
    )
    _answer_options(upgrade)
    upgrade.add_argument(
        "revision",
        metavar="REVISION",
        nargs="?",
        default="head",
        help=f"where to go (default: head); other than head it needs --app; {_REVISION_HELP}",
    )

    downgrade = command(
        "downgrade",
        "undo migrations of one app",
        "Undo migrations of one app, by default the last one applied. nxalembic shows what "
        "each step drops and asks first (on a terminal); elsewhere it refuses unless --yes "
        "is given.",
    )
    downgrade.add_argument("app", metavar="APP", help="the app to downgrade")
    downgrade.add_argument(
        "revision",
        metavar="REVISION",
        nargs="?",
        default="-1",
        help=f"where to go (default: -1, one step back; 'base' undoes all); {_REVISION_HELP}",
    )
    downgrade.add_argument(
        "--sql",
        action="store_true",
        help="print the SQL the downgrade would run, and change nothing",
    )
    _answer_options(downgrade)

    current = command(
        "current",
        "show the revision each app's database is at",
        "Show the revision the database is at for each app, and what is pending.",
    )
    _app_option(current, "show")

    history = command(
        "history",
        "list each app's migrations",
        "List each app's migrations, oldest first, marking which are applied.",
    )
    _app_option(history, "list")

    heads = command(
        "heads",
        "show each app's latest migration",
        "Show the newest migration (the head) of each app; reads only the scripts.",
    )
    _app_option(heads, "show")

    show = command(
        "show",
        "print one migration script",
        "Print one migration of an app: its id, message, file and script.",
    )
    show.add_argument("app", metavar="APP", help="the app the migration belongs to")
    show.add_argument("revision", metavar="REVISION", help=_REVISION_HELP)

    stamp = command(
        "stamp",
        "mark a revision as applied without running anything",
        "Record REVISION as the app's current revision without running any migration, "
        "for a database whose tables already match it ('base' forgets all).",
    )
    stamp.add_argument("app", metavar="APP", help="the app to stamp")
    stamp.add_argument("revision", metavar="REVISION", help=_REVISION_HELP)

    check = command(
        "check",
        "exit 1 if any app's models differ from the database",
        "Compare each app's models with the database and its scripts with the applied "
        "revision. Exit 0 when everything is migrated and applied, 1 otherwise (for CI).",
    )
    _app_option(check, "check")
    _replay_options(check, "compare the models with")
    _adopt_command(command)

    backup = command(
        "backup",
        "back up the database now",
        "Back up now, whatever --backup says: a SQLite database is copied whole beside its "
        "file; on PostgreSQL and MariaDB/MySQL the apps' tables and version tables are dumped "
        "with pg_dump or mariadb-dump/mysqldump into ./backups (or --backup-dir).",
    )
    backup.add_argument(
        "--app",
        metavar="APP",
        help="only this app's tables (SQLite: names the file; the copy is always whole)",
    )

    restore = command(
        "restore",
        "put a backup back, after you confirm",
        "Put a backup made by nxalembic back: a SQLite backup replaces the whole database, a "
        "dump replaces the tables it holds (with psql or mariadb/mysql). With backups on, what "
        "it replaces is backed up first. Asks first (on a terminal); elsewhere it refuses "
        "unless --yes is given.",
    )
    restore.add_argument("file", metavar="FILE", help="the backup file (.bak or .sql)")
    _answer_options(restore)
    return top


def _adopt_command(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    adopt = command(
        "adopt",
        "carry over a database and history made by nextcord-ormar 0.3",
        "Take over what nextcord-ormar 0.3 left: the revision in its 'alembic.<app>' "
        "version table becomes the app's current revision, its scripts (hash ids) stay the "
        "start of the app's history (moved into the app's folder when 0.3 kept them "
        "elsewhere), and a migration is written that renames the '<app>.<model>s' tables to "
        "'<app>_<model>s' (applied by 'nxalembic upgrade'). The plan is shown and asked "
        "about first (on a terminal; elsewhere it refuses unless --yes is given); nothing is "
        "renamed or dropped by adopt itself. Running it again changes nothing.",
    )
    _app_option(adopt, "adopt")
    adopt.add_argument(
        "--keep-names",
        action="store_true",
        help="keep the 0.3 table names: nothing is renamed, and adopt prints the "
        "tablename= to write into each model's app.config(...)",
    )
    only_show = adopt.add_mutually_exclusive_group()
    only_show.add_argument(
        "--dry-run", action="store_true", help="show the plan, and change nothing"
    )
    only_show.add_argument(
        "--sql",
        action="store_true",
        help="show the plan and the SQL that records each app's revision; change nothing",
    )
    _answer_options(adopt)


#: The ``nxalembic`` parser (sphinx-argparse renders it in the docs).
parser = build_parser()
