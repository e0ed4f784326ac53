"""Shared fixtures: one fresh database per test on each backend, and a clean registry."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from nextcord_ormar import database, registry
from tests import leakcheck
from tests.databases import BACKENDS, ServerUnavailable, fresh_database

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of a database backend: the test runs once for each."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of its own on ``backend``, dropped after the test."""
    try:
        with fresh_database(backend, tmp_path) as url:
            yield url
    except ServerUnavailable as exc:
        if IN_CI:
            pytest.fail(f"{exc} (CI is set, so an unreachable server is a failure)")
        pytest.skip(str(exc))


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Each test starts with no apps and a disconnected shared database."""
    registry.clear()
    yield
    registry.clear()
    if database.is_connected:
        # A test that left the database connected; drop the engine so the next test starts clean.
        with contextlib.suppress(Exception):
            asyncio.run(database.disconnect())
        database._engine = None
        database._autocommit_engine = None


class CogProject:
    """A temporary folder on ``sys.path`` where a test writes cog modules and imports them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, source: str) -> Path:
        """Write ``source`` (dedented) to ``relative`` under the project root."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        return path


@pytest.fixture
def cog_project(tmp_path: Path) -> Iterator[CogProject]:
    """A fresh importable project folder; its modules are forgotten after the test."""
    root = tmp_path / "project"
    root.mkdir()
    sys.path.insert(0, str(root))
    before = set(sys.modules)
    try:
        yield CogProject(root)
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            places = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
            if any(str(place).startswith(str(root)) for place in places):
                del sys.modules[name]


@pytest.fixture(autouse=True)
def _password_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if anything it printed, sent or logged carried the test password."""
    leaked = leakcheck.unchecked_leaks()  # recorded since the last test (module fixtures)
    yield
    leaked += leakcheck.unchecked_leaks()
    if leaked:
        pytest.fail(
            "the test databases' password leaked in: " + "; ".join(leaked),
            pytrace=False,
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Record the process's log records for the password scan (each xdist worker its own)."""
    leakcheck.install_recorder()


_worker_totals: list[tuple[int, list[str]]] = []


class _WorkerScans:
    """On the xdist controller: collect what each worker scanned and found."""

    def pytest_testnodedown(self, node: object, error: object) -> None:
        output = getattr(node, "workeroutput", {})
        if "leak_scanned" in output:
            _worker_totals.append((int(output["leak_scanned"]), list(output["leak_found"])))


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_WorkerScans(), "nxo-worker-scans")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Search what is left (recorded after the last test), report the count, fail on a leak."""
    leaked = leakcheck.unchecked_leaks()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the figures to the controller
        workeroutput["leak_scanned"] = leakcheck.scanned()
        workeroutput["leak_found"] = leaked
        return
    scanned = leakcheck.scanned() + sum(count for count, _ in _worker_totals)
    leaked += [where for _, found in _worker_totals for where in found]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and scanned:
        verdict = f"LEAKED after the last test in: {', '.join(leaked)}" if leaked else "not found"
        reporter.write_line(
            f"password scan: {scanned} outputs, messages and log records scanned; "
            f"the test databases' password {verdict} (a leak inside a test fails that test)"
        )
    if leaked:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly how many tests a missing database server skipped (CI fails them instead)."""
    skipped = terminalreporter.stats.get("skipped", [])
    unreachable = [r for r in skipped if "server unreachable" in str(getattr(r, "longrepr", ""))]
    if unreachable:
        terminalreporter.write_line(
            f"WARNING: {len(unreachable)} tests skipped because a database server was "
            "unreachable; they did not run (with CI set they fail)",
            yellow=True,
            bold=True,
        )
