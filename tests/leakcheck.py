"""Everything the CLI printed and the bot sent during the suite, scanned for the database password.

The test databases' URLs carry :data:`SECRET` as their password (PostgreSQL trusts local
connections and ignores it; MariaDB gets a user with that password), so a URL leaking into
any output would show up here. ``conftest.pytest_sessionfinish`` fails the run on a leak.
"""

from __future__ import annotations

SECRET = "nxo-test-s3cret"

_seen: list[tuple[str, str]] = []


def saw(where: str, *texts: str) -> None:
    """Record ``texts`` (output or messages) produced by ``where`` (a test id or a command)."""
    for text in texts:
        if text:
            _seen.append((where, text))


def scanned() -> int:
    """How many texts were recorded."""
    return len(_seen)


def leaks() -> list[str]:
    """Where the secret was seen, if anywhere."""
    return sorted({where for where, text in _seen if SECRET in text})
