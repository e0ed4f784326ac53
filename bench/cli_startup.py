"""Figure 4: ``nxalembic current`` against plain ``alembic current`` on the same database.

The plain Alembic project is the smallest that answers the same question: an ``alembic.ini``
and an ``env.py`` (async engine, the same driver) reading the same app's version table with
the same scripts. The bot module ``nxalembic`` imports is the usual one (nextcord, the cog).

The headline is a bot that reads its URL from ``DATABASE_URL``, as deployed bots do (on the
servers the URL carries a password, which nxalembic never writes down: it records the
variable's name). A second project, the same bot with the URL written in its code, is
measured alongside: on the servers its password keeps every read-only command importing it.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .common import (
    Json,
    Sizes,
    async_url,
    child_env,
    child_main,
    fresh_database,
    median,
    write_project,
)

APP = "shop"

ALEMBIC_INI = """\
[alembic]
script_location = {script_location}
version_locations = {versions}
sqlalchemy.url = {url}
"""

ENV_PY = """\
import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine


def run(connection):
    context.configure(connection=connection, target_metadata=None, version_table={table!r})
    with context.begin_transaction():
        context.run_migrations()


async def main():
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        await connection.run_sync(run)
    await engine.dispose()


asyncio.run(main())
"""

SCRIPT_MAKO = '''\
"""${message}"""
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
'''


#: ``(cmd, cwd, pycache, extra environment)``.
Command = tuple[list[str], Path, Path | None, dict[str, str]]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_runs(commands: list[Command], runs: int) -> list[tuple[list[float], list[float]]]:
    """Each ``(cmd, cwd, pycache, env)`` once to warm up, then ``runs`` rounds taking turns (so a
    busy moment of a shared machine weighs on all alike); per command, the wall times and
    the CPU times (user + system) of the runs.

    With ``pycache``, Python writes and reads bytecode there (the warm-up fills it), as an
    installed package has its own; without, the environment's setting stands.
    """
    prepared = []
    for cmd, cwd, pycache, extra in commands:
        env = {**child_env(cwd), **extra}
        if pycache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(pycache)
        prepared.append((cmd, cwd, env))
    times: list[tuple[list[float], list[float]]] = [([], []) for _ in commands]
    for attempt in range(runs + 1):
        for index, (cmd, cwd, env) in enumerate(prepared):
            start, start_cpu = time.perf_counter(), _children_cpu()
            done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
            took, took_cpu = time.perf_counter() - start, _children_cpu() - start_cpu
            if done.returncode != 0:
                tail = (done.stderr or done.stdout)[-500:]
                raise RuntimeError(f"{' '.join(cmd)} failed: {tail}")
            if attempt:
                times[index][0].append(took)
                times[index][1].append(took_cpu)
    return times


def run(backend: str, sizes: Sizes, folder: Path) -> Json:
    bin_dir = Path(sys.executable).parent
    with fresh_database(backend, folder) as url:
        if backend == "sqlite":
            # The test suite's SQLite URLs carry its secret as ``?password=`` (SQLite ignores
            # it); a real one carries none. On the servers the test users have passwords,
            # as real ones do: nxalembic writes none down (see the module's docstring).
            url = url.split("?", 1)[0]
        project = folder / "project"
        write_project(project, url, {APP: sizes.scaling_cog_tables})
        from_env = {"DATABASE_URL": url}
        in_code = folder / "project-url-in-code"
        bot_source = (project / "bot.py").read_text(encoding="utf-8")
        (project / "bot.py").write_text(
            "import os\n" + bot_source.replace(repr(url), 'os.environ["DATABASE_URL"]'),
            encoding="utf-8",
        )
        for step in (["migrate"], ["upgrade"]):
            subprocess.run(
                [str(bin_dir / "nxalembic"), *step],
                cwd=project,
                env={**child_env(project), **from_env},
                check=True,
                capture_output=True,
            )
        shutil.copytree(project, in_code)
        (in_code / "bot.py").write_text(bot_source, encoding="utf-8")
        plain = folder / "plain"
        (plain / "alembic").mkdir(parents=True)
        (plain / "alembic" / "env.py").write_text(
            ENV_PY.format(table=f"alembic_version_{APP}"), encoding="utf-8"
        )
        (plain / "alembic" / "script.py.mako").write_text(SCRIPT_MAKO, encoding="utf-8")
        (plain / "alembic.ini").write_text(
            ALEMBIC_INI.format(
                script_location=plain / "alembic",
                versions=project / "cogs" / APP / "migrations",
                url=async_url(url).replace("%", "%%"),
            ),
            encoding="utf-8",
        )
        cache = folder / "pycache"
        nxalembic, alembic = (
            [str(bin_dir / "nxalembic"), "current"],
            [str(bin_dir / "alembic"), "current"],
        )
        ours_runs, theirs_runs, coded_runs, compiling, imports = timed_runs(
            [
                (nxalembic, project, cache, from_env),
                (alembic, plain, cache, {}),
                # The URL (password included, on the servers) written in the bot's code.
                (nxalembic, in_code, cache, {}),
                # A source checkout run with PYTHONDONTWRITEBYTECODE=1: every run compiles
                # nextcord-ormar's modules (Alembic's come with bytecode).
                (nxalembic, project, None, from_env),
                # What importing the bot's own libraries costs, which plain Alembic never pays.
                ([sys.executable, "-c", "import nextcord, ormar"], project, cache, {}),
            ],
            sizes.cli_runs,
        )
    (ours, ours_cpu), (theirs, theirs_cpu), (coded, coded_cpu) = ours_runs, theirs_runs, coded_runs
    return {
        "runs": sizes.cli_runs,
        "nxalembic_current_s": round(median(ours), 3),
        "alembic_current_s": round(median(theirs), 3),
        "ratio": round(median(ours) / median(theirs), 2),
        # CPU time (user + system) of the commands: less swayed by other work on a shared
        # machine than wall time.
        "nxalembic_current_cpu_s": round(median(ours_cpu), 3),
        "alembic_current_cpu_s": round(median(theirs_cpu), 3),
        "cpu_ratio": round(median(ours_cpu) / median(theirs_cpu), 2),
        # The same bot with its URL in its code (not from the environment).
        "url_in_code_current_s": round(median(coded), 3),
        "url_in_code_current_cpu_s": round(median(coded_cpu), 3),
        "url_in_code_cpu_ratio": round(median(coded_cpu) / median(theirs_cpu), 2),
        "nxalembic_current_compiling_s": round(median(compiling[0]), 3),
        "import_nextcord_ormar_libs_s": round(median(imports[0]), 3),
    }


def main() -> None:
    child_main(lambda args, sizes, folder: run(args.database, sizes, folder))


if __name__ == "__main__":
    main()
