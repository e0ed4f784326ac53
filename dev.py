#!/usr/bin/env python3
"""Set up and run nextcord-ormar's development tasks with nothing but Python installed.

    python3 dev.py test       lint, type-check, build the docs and run the whole test
                              suite on every supported Python/nextcord line on this machine
    python3 dev.py example    run example_bot.py offline (local Discord, SQLite)
    python3 dev.py docs       build the Sphinx docs with warnings as errors
    python3 dev.py bench      run the benchmarks (bench/README.md)
    python3 dev.py mutate     break each promise on purpose (tests/mutations.py) in a copy
                              of the repository and report which the tests catch (not in CI)

Each task creates the virtual environment it needs under ``.venvs/`` (once; again when
pyproject.toml changes). Python 3.11 runs nextcord 2.6, Python 3.12 runs nextcord 3.x.
With ``CI`` set in the environment a missing interpreter is an error, not a skip.
Only the standard library is used here, on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENVS = ROOT / ".venvs"

#: (Python version, nextcord requirement) for each line we support and test.
LINES: list[tuple[str, str]] = [("3.11", "nextcord>=2.6,<3"), ("3.12", "nextcord>=3,<4")]
IN_CI = bool(os.environ.get("CI"))
#: The docs build (warnings are errors), run by ``test`` and ``docs``.
SPHINX = ["-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", "docs/_build/html"]


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def find_python(version: str) -> str | None:
    """An interpreter for ``version``: ``pythonX.Y`` on PATH, else one installed by pyenv."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted((pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"))[::-1]
    if sys.version_info[:2] == tuple(int(p) for p in version.split(".")):
        candidates.append(sys.executable)
    for candidate in candidates:
        # A pyenv shim is on PATH even when its version is not active; make sure it runs.
        if (
            candidate
            and subprocess.run([str(candidate), "-c", ""], capture_output=True).returncode == 0
        ):
            return str(candidate)
    return None


def run(cmd: list[str], **kwargs: object) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def venv_for(version: str, nextcord_req: str, extras: str) -> Path:
    """Create (or reuse) ``.venvs/py<version>`` with the package and ``extras`` installed."""
    python = find_python(version)
    if python is None:
        raise LookupError(f"Python {version} not found (tried python{version} and pyenv)")
    venv = VENVS / f"py{version}"
    bin_dir = venv / "bin"
    if not (bin_dir / "python").exists():
        run([python, "-m", "venv", str(venv)])
    stamp = venv / ".installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + nextcord_req.encode())
    wanted = set(extras.split(","))
    # The stamp records what is installed; a task needing no more extras reuses it as it is.
    done_digest, _, done_extras = (stamp.read_text() if stamp.exists() else "").partition("\n")
    installed = set(done_extras.split(",")) if done_digest == digest.hexdigest() else set()
    if "all" in installed:
        installed |= {"sqlite", "postgresql", "mysql"}
    if not wanted <= installed:
        extras = ",".join(sorted(wanted | installed))
        pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
        run([*pip, "--upgrade", "pip"])
        run([*pip, "-e", f".[{extras}]", nextcord_req])
        stamp.write_text(f"{digest.hexdigest()}\n{extras}")
    return bin_dir


def available_lines(wanted: list[str] | None) -> list[tuple[str, str]]:
    lines = [line for line in LINES if wanted is None or line[0] in wanted]
    usable = []
    for version, req in lines:
        if find_python(version) is None:
            message = f"Python {version} is not installed; its line ({req}) is not tested"
            if IN_CI:
                raise SystemExit(f"[dev] error: {message} (CI is set)")
            say(f"warning: {message}")
            continue
        usable.append((version, req))
    if not usable:
        raise SystemExit("[dev] error: no supported Python (3.11 or 3.12) found")
    return usable


def pytest_workers(pytest_args: list[str]) -> list[str]:
    """``-n auto`` unless the caller chose: most tests wait on a database or a subprocess,
    so one worker per core roughly halves the suite's time (measured in README)."""
    chosen = any(a == "-n" or a.startswith(("-n", "--numprocesses", "--dist")) for a in pytest_args)
    return [] if chosen or "no:xdist" in " ".join(pytest_args) else ["-n", "auto"]


def task_test(args: argparse.Namespace) -> int:
    lines = available_lines(args.python)
    failures = []
    for index, (version, req) in enumerate(lines):
        newest = index == len(lines) - 1
        bin_dir = venv_for(version, req, "all,test,docs" if newest else "all,test")
        py = str(bin_dir / "python")
        say(f"== Python {version} ({req}) ==")
        try:
            if newest:  # lint, types and docs once, on the newest line
                run([py, "-m", "ruff", "check", "."])
                run([py, "-m", "ruff", "format", "--check", "."])
                run([py, "-m", "mypy", "--strict", "nextcord_ormar"])
                run([py, *SPHINX])
            run([py, "-m", "pytest", *pytest_workers(args.pytest_args), *args.pytest_args])
        except subprocess.CalledProcessError as exc:
            failures.append(
                f"Python {version}: {' '.join(map(str, exc.cmd))} exited {exc.returncode}"
            )
    for failure in failures:
        say(f"FAILED {failure}")
    if not failures:
        say("all checks passed on " + ", ".join(f"Python {v}" for v, _ in lines))
    return 1 if failures else 0


def task_example(args: argparse.Namespace) -> int:
    version, req = available_lines(None)[-1]
    bin_dir = venv_for(version, req, "sqlite")
    cmd = [str(bin_dir / "python"), "example_bot.py", "--offline", *args.rest]
    say("$ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT).returncode


def task_docs(args: argparse.Namespace) -> int:
    version, req = available_lines(None)[-1]
    bin_dir = venv_for(version, req, "all,test,docs")
    cmd = [str(bin_dir / "python"), *SPHINX]
    say("$ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT).returncode


def task_bench(args: argparse.Namespace) -> int:
    version, req = available_lines(None)[-1]
    bin_dir = venv_for(version, req, "all,test")
    cmd = [str(bin_dir / "python"), "-m", "bench", *args.rest]
    say("$ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT).returncode


#: Left out of the copy ``mutate`` works in.
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venvs", "_build", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"
)


def _mutation_verdict(copy: Path, mutation: Any, py: str, env: dict[str, str]) -> str:
    """Apply one mutation in ``copy``, run its tests, restore the file; return the verdict."""
    target = copy / mutation.file
    original = target.read_text(encoding="utf-8")
    found = original.count(mutation.old)
    if found != 1:
        where = "no longer in" if found == 0 else f"{found} times in"
        return f"does not apply (its snippet is {where} {mutation.file})"
    target.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
    try:
        cmd = [py, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider"]
        done = subprocess.run(
            [*cmd, *mutation.tests],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        target.write_text(original, encoding="utf-8")
    if done.returncode == 0:
        return "SURVIVED (the tests passed)"
    failed = [
        line.split(" ", 1)[1].split(" - ")[0]
        for line in done.stdout.splitlines()
        if line.startswith(("FAILED tests/", "ERROR tests/"))
    ]
    if not failed:  # a usage error, no tests collected, a crash: not a catch
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return f"ERROR (pytest exited {done.returncode}): " + " | ".join(tail)
    return "caught by " + ", ".join(failed)


def task_mutate(args: argparse.Namespace) -> int:
    """Break each promise of tests/mutations.py in a temporary copy; report caught/survived."""
    sys.path.insert(0, str(ROOT))
    from tests.mutations import MUTATIONS

    wanted = [m for m in MUTATIONS if not args.rest or m.name in args.rest]
    unknown = set(args.rest) - {m.name for m in MUTATIONS}
    if unknown:
        raise SystemExit(f"[dev] error: unknown mutation(s): {', '.join(sorted(unknown))}")
    version, req = available_lines(None)[0]
    py = str(venv_for(version, req, "all,test") / "python")
    results: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="nxo-mutate-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=_NOT_COPIED)
        # The copy's package comes first (for nxalembic subprocesses too); no stale bytecode.
        env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
        probe = [py, "-c", "import nextcord_ormar; print(nextcord_ormar.__file__)"]
        where = subprocess.run(probe, cwd=copy, env=env, capture_output=True, text=True)
        if not where.stdout.strip().startswith(str(copy)):
            raise SystemExit(f"[dev] error: the copy's package is not the one imported: {where}")
        for mutation in wanted:
            say(f"mutation {mutation.name}: {mutation.promise}")
            started = time.monotonic()
            verdict = _mutation_verdict(copy, mutation, py, env)
            results.append((mutation.name, verdict, time.monotonic() - started))
            say(f"  -> {verdict}")
    width = max(len(name) for name, _, _ in results)
    print("\nmutation".ljust(width + 3) + "verdict")
    for name, verdict, seconds in results:
        print(f"{name.ljust(width + 2)}{verdict} ({seconds:.0f} s)")
    caught = sum(verdict.startswith("caught") for _, verdict, _ in results)
    print(f"\n{caught} of {len(results)} mutations caught")
    return 0 if caught == len(results) else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="task", required=True)
    test = sub.add_parser(
        "test", help="lint, type-check, build the docs, run the tests on every line"
    )
    test.add_argument(
        "--python", action="append", metavar="X.Y", help="only this line (repeatable)"
    )
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    test.set_defaults(func=task_test)
    for name, func, text in [
        ("example", task_example, "run example_bot.py offline"),
        ("docs", task_docs, "build the docs (warnings are errors)"),
        ("bench", task_bench, "run the benchmarks"),
        ("mutate", task_mutate, "break each promise in a copy; report what the tests catch"),
    ]:
        p = sub.add_parser(name, help=text)
        p.add_argument("rest", nargs="*", help="arguments passed on (after --)")
        p.set_defaults(func=func)
    args = parser.parse_args()
    try:
        return int(args.func(args))
    except (LookupError, subprocess.CalledProcessError) as exc:
        say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
