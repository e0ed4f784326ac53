"""Hardening points of issue 14 below the CLI: which SQLite URLs name a real file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from nextcord_ormar.migrations.locking import sqlite_file


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///file:{tmp}/a.db?uri=true", "{tmp}/a.db"),
        ("sqlite:///file:{tmp}/a%20b.db?uri=true", "{tmp}/a b.db"),
        ("sqlite:///file://localhost{tmp}/a.db?uri=true", "{tmp}/a.db"),
        ("sqlite:///file:{tmp}/a.db?uri=true&mode=rwc", "{tmp}/a.db"),
        ("sqlite:///{tmp}/a.db", "{tmp}/a.db"),
        ("sqlite:///file:{tmp}/a.db?uri=true&mode=memory", None),
        ("sqlite:///file::memory:?uri=true", None),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
    ],
)
def test_sqlite_file_tells_files_from_memory(
    tmp_path: Path, url: str, expected: str | None
) -> None:
    found = sqlite_file(make_url(url.format(tmp=tmp_path)))
    assert found == (Path(expected.format(tmp=tmp_path)) if expected else None)
