"""Every usage and configuration error: its exit status and one clear line on stderr.

The runs are independent, so a module fixture runs them all side by side once (each is a
subprocess of about a second) and each case is then checked as its own test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.project import BotProject, Run, run_parallel

SECRET = "Sup3rSecretPw"

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
"""


def nothing(project: BotProject) -> None:
    pass


@dataclass(frozen=True)
class Case:
    """A run of ``nxalembic args`` in a project that ``setup`` changed, and what it must print."""

    id: str
    args: tuple[str, ...]
    code: int
    message: str
    setup: Callable[[BotProject], None] = nothing
    in_folder: str | None = None  # run in this sub-folder of the project instead


def remove_ini(project: BotProject) -> None:
    (project.root / "nxalembic.ini").unlink()


def write(relative: str, source: str) -> Callable[[BotProject], None]:
    return lambda project: project.write(relative, source)


def bot_url(url: str) -> Callable[[BotProject], None]:
    return lambda project: project.write_bot("cogs.economy", url=url)


def make_migration(project: BotProject) -> None:
    project.write(
        "cogs/economy/migrations/0001_start.py",
        '"""start"""\n'
        "revision = '0001'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n"
        "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n",
    )


PLAIN_BOT = """
import nextcord
from nextcord.ext import commands

bot = commands.Bot(intents=nextcord.Intents.none())
"""

RUNS_AT_IMPORT = """
import nextcord
from nextcord_ormar import Bot

bot = Bot(database_url="sqlite://", intents=nextcord.Intents.none())
bot.load_extension("cogs.economy")
bot.run("not-a-token")
"""

NO_APPS = """
import nextcord
from nextcord_ormar import Bot

bot = Bot(database_url="sqlite://", intents=nextcord.Intents.none())
"""

CASES = [
    # -- the command line --
    Case("no-command", (), 2, "the following arguments are required: COMMAND"),
    Case("unknown-command", ("frobnicate",), 2, "invalid choice: 'frobnicate'"),
    Case("missing-argument", ("show", "economy"), 2, "required: REVISION"),
    Case("empty-needs-app", ("migrate", "--empty"), 2, "migrate --empty needs --app"),
    Case("revision-needs-app", ("upgrade", "0001"), 2, "upgrade to '0001' needs --app"),
    Case("message-too-long", ("migrate", "-m", "x" * 501), 2, "at most 500 are allowed"),
    # -- the ini file --
    Case("no-ini", ("migrate",), 2, "no nxalembic.ini in ", setup=remove_ini),
    Case("ini-not-found", ("-c", "other.ini", "current"), 2, "config file 'other.ini' not found"),
    Case(
        "no-section",
        ("current",),
        2,
        "has no [nxalembic] section",
        setup=write("nxalembic.ini", "[alembic]\nscript_location = x\n"),
    ),
    Case(
        "missing-keys",
        ("current",),
        2,
        "lacks 'module' and 'bot'",
        setup=write("nxalembic.ini", "[nxalembic]\n"),
    ),
    Case(
        "missing-bot-key",
        ("current",),
        2,
        "lacks 'bot' (bot = the name of the nextcord_ormar.Bot object in it",
        setup=write("nxalembic.ini", "[nxalembic]\nmodule = mybot\n"),
    ),
    # -- the bot module and object --
    Case(
        "module-not-found",
        ("current",),
        2,
        "cannot import bot module 'nosuchbot': no module named 'nosuchbot'",
        setup=write("nxalembic.ini", "[nxalembic]\nmodule = nosuchbot\nbot = bot\n"),
    ),
    Case(
        "module-raises",
        ("current",),
        2,
        "importing bot module 'mybot' failed: RuntimeError: no token file",
        setup=write("mybot.py", "raise RuntimeError('no token file\\nsecond line')\n"),
    ),
    Case(
        "module-needs-missing-library",
        ("current",),
        2,
        "importing bot module 'mybot' failed: ModuleNotFoundError: No module named 'nosuchlib'",
        setup=write("mybot.py", "import nosuchlib\n"),
    ),
    Case(
        "no-such-object",
        ("current",),
        2,
        "module 'mybot' has no 'client'; set 'bot' in nxalembic.ini",
        setup=write("nxalembic.ini", "[nxalembic]\nmodule = mybot\nbot = client\n"),
    ),
    Case(
        "not-a-nextcord-ormar-bot",
        ("current",),
        2,
        "mybot.bot is a nextcord.ext.commands.bot.Bot, not a nextcord_ormar bot",
        setup=write("mybot.py", PLAIN_BOT),
    ),
    Case(
        "bot-runs-at-import",
        ("current",),
        2,
        "the bot module starts the bot when imported; put bot.run(...) under",
        setup=write("mybot.py", RUNS_AT_IMPORT),
    ),
    Case("no-apps", ("current",), 2, "the bot has no apps", setup=write("mybot.py", NO_APPS)),
    Case(
        "module-from-config-folder",
        ("-c", "../nxalembic.ini", "heads"),
        0,
        "",
        in_folder="cogs",
    ),
    # -- apps and revisions --
    Case(
        "unknown-app", ("migrate", "--app", "nope"), 2, "unknown app 'nope' (known apps: economy)"
    ),
    Case("unknown-app-positional", ("downgrade", "nope"), 2, "unknown app 'nope'"),
    Case(
        "unknown-revision",
        ("show", "economy", "0042"),
        2,
        "app 'economy' has no revision '0042' (its revisions: 0001;",
        setup=make_migration,
    ),
    Case(
        "unknown-upgrade-target",
        ("upgrade", "--app", "economy", "abc"),
        2,
        "app 'economy' has no revision 'abc'",
        setup=make_migration,
    ),
    # -- the database --
    Case(
        "driver-missing",
        ("--database-url", "postgresql+psycopg://u@127.0.0.1/x", "current"),
        2,
        "the postgresql driver 'psycopg' is not installed; "
        "install it with: pip install 'nextcord-ormar[postgresql]'",
    ),
    Case(
        "bad-database-url",
        ("--database-url", "oracle://scott:" + SECRET + "@db/x", "current"),
        2,
        "unsupported database 'oracle' in oracle://scott:***@db/x",
    ),
    Case(
        "sqlite-unreachable",
        ("--database-url", "sqlite:////nonexistent-folder/deeper/x.db", "current"),
        1,
        "could not connect to the database sqlite+aiosqlite:////nonexistent-folder/deeper/x.db",
    ),
    Case(
        "postgresql-unreachable",
        ("--database-url", f"postgresql://bot:{SECRET}@127.0.0.1:1/botdb", "migrate"),
        1,
        "could not connect to the database postgresql+asyncpg://bot:***@127.0.0.1:1/botdb",
    ),
    Case(
        "postgresql-unreachable-from-bot-module",
        ("check",),
        1,
        "could not connect to the database postgresql+asyncpg://bot:***@127.0.0.1:1/botdb",
        setup=bot_url(f"postgresql://bot:{SECRET}@127.0.0.1:1/botdb"),
    ),
    Case(
        "mysql-wrong-password",
        ("--database-url", f"mysql://root:{SECRET}@127.0.0.1:3306/mysql", "upgrade"),
        1,
        "could not connect to the database mysql+aiomysql://root:***@127.0.0.1:3306/mysql",
    ),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case's run, made side by side."""

    # mktemp is not thread-safe: make every folder here, then run the cases side by side.
    roots = {case.id: tmp_path_factory.mktemp(case.id) for case in CASES}

    def one(case: Case) -> tuple[str, Run]:
        root = roots[case.id]
        project = BotProject(root / "bot", f"sqlite:///{root / 'bot.sqlite3'}")
        project.write_ini()
        project.write_cog("economy", MEMBERS)
        project.write_bot("cogs.economy")
        case.setup(project)
        cwd = project.root / case.in_folder if case.in_folder else None
        return case.id, project.nx(*case.args, cwd=cwd)

    return dict(run_parallel([lambda case=case: one(case) for case in CASES]))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_error_is_one_line_with_its_exit_status(case: Case, runs: dict[str, Run]) -> None:
    run = runs[case.id]
    assert run.code == case.code, run
    assert SECRET not in run.output, run
    if case.code == 0:
        assert run.err == "", run
        return
    assert run.out == "", run
    assert len(run.err.splitlines()) == 1, run
    assert run.err.startswith("nxalembic: error: "), run
    assert case.message in run.err, run


def test_wrong_mysql_password_is_refused_by_the_server(runs: dict[str, Run]) -> None:
    """The server answered and refused the password: not a connection refused or a timeout."""
    run = runs["mysql-wrong-password"]
    assert "(1045, \"Access denied for user 'root'@" in run.err, run


def test_verbose_adds_the_traceback_without_the_password(tmp_path: Path) -> None:
    project = BotProject(tmp_path / "bot", f"postgresql://bot:{SECRET}@127.0.0.1:1/botdb")
    project.write_ini()
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")
    project.write("cogs/broken.py", "raise ValueError('bad cog')\n")
    project.write(
        "brokenbot.py",
        (project.root / "mybot.py").read_text() + "bot.load_extension('cogs.broken')\n",
    )
    project.write("broken.ini", "[nxalembic]\nmodule = brokenbot\nbot = bot\n")
    unreachable, broken = run_parallel(
        [
            lambda: project.nx("-v", "check", "--database-url", project.db_url),
            lambda: project.nx("current", "--verbose", "-c", "broken.ini"),
        ]
    )
    assert unreachable.code == 1, unreachable
    assert "Traceback (most recent call last)" in unreachable.err
    assert "nxalembic: error: could not connect to the database" in unreachable.err
    assert "bot:***@127.0.0.1:1/botdb" in unreachable.err
    assert SECRET not in unreachable.output

    assert broken.code == 2, broken
    assert "Traceback (most recent call last)" in broken.err
    assert "raise ValueError('bad cog')" in broken.err
    assert "nxalembic: error: importing bot module 'brokenbot' failed:" in broken.err
    assert SECRET not in broken.output


def test_help_and_the_console_script(sqlite_project: BotProject) -> None:
    script = Path(sys.executable).with_name("nxalembic")
    calls = [lambda: sqlite_project.nx("--help"), lambda: sqlite_project.nx("migrate", "--help")]
    help_top, help_migrate = run_parallel(calls)
    assert help_top.code == 0, help_top
    assert "usage: nxalembic" in help_top.out
    for command in ("migrate", "upgrade", "downgrade", "current", "history", "heads", "show"):
        assert f"    {command}" in help_top.out
    assert help_migrate.code == 0, help_migrate
    assert "--empty" in help_migrate.out
    if not script.exists():
        pytest.skip(f"no console script at {script}")
    import subprocess

    done = subprocess.run(
        [str(script), "heads"], cwd=sqlite_project.root, capture_output=True, text=True
    )
    assert done.returncode == 2, done
    assert done.stderr == (
        "nxalembic: error: cannot import bot module 'mybot': no module named 'mybot' "
        "(run nxalembic from your bot's folder, or fix 'module' in nxalembic.ini)\n"
    )
