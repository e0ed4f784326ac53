"""Fixtures for the ``nxalembic`` tests: a bot project on the test's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.project import BotProject


@pytest.fixture
def project(db_url: str, tmp_path: Path) -> BotProject:
    """An empty bot project whose bot uses ``db_url`` (run once per database backend)."""
    bot_project = BotProject(tmp_path / "bot", db_url)
    bot_project.write_ini()
    return bot_project


@pytest.fixture
def sqlite_project(tmp_path: Path) -> BotProject:
    """A bot project on a SQLite file, for tests that do not depend on the database."""
    bot_project = BotProject(tmp_path / "bot", f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    bot_project.write_ini()
    return bot_project


@pytest.fixture(autouse=True)
def _own_nxalembic_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What nxalembic records about a bot goes to the test's folder, not the user's cache."""
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache
