"""Read-only commands answer from what the last import of the bot recorded, while it holds.

``current``, ``history``, ``heads`` and ``show`` need only the apps' names, folders and order
and the database URL; after an import nxalembic records them with what they came from (the
project's files, the environment, the ini file) and later read-only commands use them
instead of importing the bot, until any of those changes. Here the bot module counts its
own imports in ``imports.log``, so each test sees when nxalembic imported it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.cli.project import BOT_MODULE, BotProject

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    name: str = ormar.String(max_length=50)
"""

AWARDS = """
class Award(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
    member = ormar.ForeignKey(Member)
"""

COUNTING_BOT = """\
import os

import nextcord
from nextcord_ormar import Bot

# os.open: nxalembic notes the files a bot reads with open(); this one is only a counter.
log = os.open("imports.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
os.write(log, b"imported\\n")
os.close(log)

bot = Bot(database_url={url}, intents=nextcord.Intents.none())
bot.load_extension("cogs.economy")
bot.load_extension("cogs.awards")
"""


def counting_bot(project: BotProject, url: str | None = None) -> None:
    """Two cogs (``awards`` references ``economy``, so comes after it); ``url`` is Python."""
    project.write_cog("economy", MEMBERS)
    project.write_cog("awards", AWARDS, imports="from cogs.economy import Member")
    project.write(f"{BOT_MODULE}.py", COUNTING_BOT.format(url=url or repr(project.db_url)))


def imports(project: BotProject) -> int:
    log = project.root / "imports.log"
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def test_read_only_commands_reuse_the_recorded_bot_until_a_file_changes(
    sqlite_project: BotProject,
) -> None:
    project = sqlite_project
    counting_bot(project)
    project.ok("migrate")
    project.ok("upgrade")
    assert imports(project) == 2

    for args in (["current"], ["history"], ["heads"], ["show", "economy", "0001"]):
        project.ok(*args)
    assert imports(project) == 2  # answered from what ``upgrade`` recorded
    current = project.ok("current")
    assert current.out.splitlines() == ["economy: 0001 (head)", "awards: 0001 (head)"]
    assert project.ok("history").out.splitlines() == [
        "economy (cogs/economy/migrations):",
        "  0001 create members [applied, head]",
        "awards (cogs/awards/migrations):",
        "  0001 create awards [applied, head]",
    ]
    unknown = project.nx("current", "--app", "shop")
    assert unknown.code == 2
    assert "unknown app 'shop' (known apps: awards, economy)" in unknown.err
    assert imports(project) == 2

    # A changed cog is imported again; what the import finds is recorded for next time.
    project.write_cog("economy", MEMBERS + "    nickname: str = ormar.String(max_length=20)\n")
    assert project.ok("current").out == current.out
    assert imports(project) == 3
    project.ok("heads")
    assert imports(project) == 3

    # A command that compares the models or writes always imports the bot, and so does
    # --verbose (which shows what the import logs and warns).
    assert project.nx("check").code == 1
    assert imports(project) == 4
    project.ok("current", "-v")
    assert imports(project) == 5


def test_a_changed_environment_or_cache_no_imports_the_bot_again(
    sqlite_project: BotProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = sqlite_project
    counting_bot(project, url='os.environ["BOT_DB"]')
    monkeypatch.setenv("BOT_DB", project.db_url)
    project.ok("migrate")
    project.ok("upgrade")
    assert project.ok("current").out.startswith("economy: 0001 (head)")
    assert imports(project) == 2

    # The URL comes from the environment: another value is another database.
    monkeypatch.setenv("BOT_DB", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    other = project.ok("current")
    assert "economy: 0001 (head)" not in other.out
    assert imports(project) == 3
    monkeypatch.setenv("BOT_DB", project.db_url)
    project.ok("current")
    assert imports(project) == 3  # each environment keeps its own record

    project.write("nxalembic.ini", f"[nxalembic]\nmodule = {BOT_MODULE}\nbot = bot\ncache = no\n")
    project.ok("current")
    project.ok("current")
    assert imports(project) == 5


def test_the_record_is_private_and_outside_the_project(
    sqlite_project: BotProject, tmp_path: Path
) -> None:
    project = sqlite_project
    counting_bot(project)
    project.ok("migrate")
    records = list((tmp_path / "xdg-cache").rglob("*.json"))
    assert len(records) == 1
    assert stat.S_IMODE(records[0].stat().st_mode) == 0o600
    assert not [p for p in project.root.rglob("*") if p.suffix == ".json"]


def test_a_database_that_does_not_answer_fails_alike_with_a_recorded_bot(
    sqlite_project: BotProject, tmp_path: Path
) -> None:
    project = sqlite_project
    missing = tmp_path / "no-such-folder" / "bot.sqlite3"
    counting_bot(project, url=repr(f"sqlite:///{missing}"))
    imported = project.nx("current")
    recalled = project.nx("current")
    assert imports(project) == 1
    assert imported.code == recalled.code == 1
    assert "could not connect to the database" in imported.err
    assert recalled.err == imported.err
    assert not os.path.exists(missing)


@pytest.mark.parametrize(
    "url_of",
    [
        lambda path: f"sqlite:///{path}?password=hunter2-recall",
        lambda path: f"sqlite:///{path}?sslkey=x&auth_token=hunter2-recall",
    ],
    ids=["query-password", "query-token"],
)
def test_a_url_with_a_credential_is_never_written_down(
    sqlite_project: BotProject, tmp_path: Path, url_of: Any
) -> None:
    """The record lives on disk: a URL carrying a credential is not recorded at all, and
    read-only commands import the bot each time instead."""
    project = sqlite_project
    counting_bot(project, url=repr(url_of(tmp_path / "secret.sqlite3")))
    project.ok("migrate")
    project.ok("upgrade")
    assert project.ok("current").out.startswith("economy: 0001 (head)")
    assert imports(project) == 3  # nothing recorded to answer from
    cache = tmp_path / "xdg-cache"
    written = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert not [p for p in written if "hunter2-recall" in p.read_text(errors="replace")]
    assert not written


def imported(run: Any) -> set[str]:
    """The modules a run imported, from its ``-X importtime`` report on stderr."""
    names = set()
    for line in run.err.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert names, "no -X importtime report: PYTHONPROFILEIMPORTTIME was not set"
    return names


def heavy(names: set[str]) -> set[str]:
    """What a recalled read-only command has no use for: the bot's libraries."""
    return {n for n in names if n.split(".")[0] in {"ormar", "pydantic", "nextcord"}}


def test_a_recalled_command_imports_neither_ormar_nor_pydantic_nor_nextcord(
    sqlite_project: BotProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only SQLAlchemy, the driver, Alembic's script reading and nextcord-ormar's own small
    modules: the models and the bot's connection (ormar, pydantic) are not needed to read a
    version table, so a recorded bot does not load them."""
    project = sqlite_project
    counting_bot(project)
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # the same environment throughout
    project.ok("migrate")
    first = project.ok("upgrade")
    assert {"ormar", "pydantic", "nextcord"} <= heavy(imported(first))  # the bot was imported

    for args in (["current"], ["history"], ["heads"], ["show", "economy", "0001"]):
        run = project.ok(*args)
        assert heavy(imported(run)) == set(), args
    assert imports(project) == 2
    current = project.ok("current")
    assert current.out.splitlines() == ["economy: 0001 (head)", "awards: 0001 (head)"]
    assert {"sqlalchemy", "aiosqlite", "alembic"} <= imported(current)


def test_the_package_still_offers_every_name_it_did() -> None:
    """The names that import ormar or nextcord load on first use, as they were before."""
    code = (
        "import sys, nextcord_ormar as n\n"
        "assert 'ormar' not in sys.modules and 'nextcord' not in sys.modules\n"
        "import nextcord_ormar.database\n"
        "from nextcord_ormar import AppConfig, AppModel, Bot, BotDatabase, OrmarApp, database\n"
        "from nextcord_ormar import registry\n"
        "from nextcord_ormar.apps import AppModelMeta, registry as apps_registry\n"
        "assert isinstance(n.database, BotDatabase) and n.database is database\n"
        "assert registry is apps_registry is n.registry and registry.database is database\n"
        "assert type(AppModel) is AppModelMeta\n"
        "from nextcord_ormar import *\n"
        "print(sorted(set(n.__all__) - set(globals())))\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def server_url_parts(project: BotProject) -> tuple[str, str]:
    """The project's server URL without its password (Python source), and the password."""
    url = make_url(project.db_url)
    assert url.password
    bare = url.set(password="PASSWORD").render_as_string(hide_password=False)
    head, tail = bare.split(":PASSWORD@")
    return f'{head!r} + ":" + os.environ["BOT_DB_PASSWORD"] + "@" + {tail!r}', str(url.password)


@pytest.mark.parametrize("part", ["url", "password"])
def test_a_server_url_from_the_environment_is_read_again_not_written(
    project: BotProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    """A deployed bot reads its URL (or its password) from an environment variable: the
    record keeps the variable's name, never its value, and read-only commands take the
    value from the environment again instead of importing the bot."""
    if project.backend == "sqlite":
        pytest.skip("a SQLite URL carries no password")
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    monkeypatch.setenv("AAA_BROKEN", "postgresql://u@h:no-port/db")  # variables hold anything
    password = str(make_url(project.db_url).password)
    if part == "url":
        counting_bot(project, url='os.environ["BOT_DB"]')
        monkeypatch.setenv("BOT_DB", project.db_url)
    else:
        source, password = server_url_parts(project)
        counting_bot(project, url=source)
        monkeypatch.setenv("BOT_DB_PASSWORD", password)
    project.ok("migrate")
    project.ok("upgrade")
    assert imports(project) == 2

    current = project.ok("current")
    assert current.out.splitlines() == ["economy: 0001 (head)", "awards: 0001 (head)"]
    assert imports(project) == 2  # answered from the record, the bot not imported
    assert heavy(imported(current)) == set()
    assert project.ok("history").out.splitlines()[1] == "  0001 create members [applied, head]"
    assert imports(project) == 2

    (record,) = (tmp_path / "xdg-cache").rglob("*.json")
    text = record.read_text(encoding="utf-8")
    assert password not in text
    assert project.db_url not in text
    assert ("BOT_DB" if part == "url" else "BOT_DB_PASSWORD") in text
    if part == "url":
        assert "://" not in text  # only the URL's shape: no user name either

    # Another value (the same database spelt another way): the bot is imported again.
    variable = "BOT_DB" if part == "url" else "BOT_DB_PASSWORD"
    if part == "url":
        other = make_url(project.db_url)
        backend, plus, _ = other.drivername.partition("+")
        spelt = (
            backend if plus else f"{backend}+{'asyncpg' if backend == 'postgresql' else 'aiomysql'}"
        )
        monkeypatch.setenv(
            variable, other.set(drivername=spelt).render_as_string(hide_password=False)
        )
    else:
        monkeypatch.setenv("UNRELATED", "x")  # the password cannot change: the server checks it
    assert project.ok("current").out == current.out
    assert imports(project) == 3
    assert project.ok("current").out == current.out
    assert imports(project) == 3  # and recorded for that environment

    # Without the variable the bot is imported, and fails as it would on its own.
    monkeypatch.delenv(variable)
    gone = project.nx("current")
    assert imports(project) == 4
    assert gone.code == 2
    assert f"KeyError: '{variable}'" in gone.err


def test_a_server_password_written_in_the_code_is_not_recorded(project: BotProject) -> None:
    """The URL in the bot's code (or in a file it reads), password included: nothing to read
    it again from, so the record is not written and every command imports the bot."""
    if project.backend == "sqlite":
        pytest.skip("a SQLite URL carries no password")
    counting_bot(project)
    project.ok("migrate")
    project.ok("upgrade")
    project.ok("current")
    project.ok("heads")
    assert imports(project) == 4
