"""Database URLs: the original library's spellings, async drivers, and no password anywhere."""

import logging

import pytest

from nextcord_ormar import (
    Bot,
    DatabaseConnectError,
    DatabaseURLError,
    DriverMissingError,
    database,
    mask_url,
    normalize_url,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("sqlite:////abs/path/bot.db", "sqlite+aiosqlite:////abs/path/bot.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("mysql://root@127.0.0.1:3306/test", "mysql+aiomysql://root@127.0.0.1:3306/test"),
        ("mysql+pymysql://root@h/test", "mysql+aiomysql://root@h/test"),
        ("mariadb://root@h/test", "mariadb+aiomysql://root@h/test"),
    ],
)
def test_urls_are_normalised_to_async_drivers(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "empty"),
        ("not a url", "could not parse"),
        ("oracle://u:hunter2@h/db", "unsupported database 'oracle'"),
        ("postgresql+nosuchdriver://u:hunter2@h/db", "not an async driver"),
    ],
)
def test_bad_urls_give_a_clear_error_without_the_password(given: str, message: str) -> None:
    with pytest.raises(DatabaseURLError, match=message) as info:
        normalize_url(given)
    assert "hunter2" not in str(info.value)


def test_missing_driver_names_the_extra_to_install() -> None:
    # asyncmy is a supported MySQL driver that this test environment does not install.
    with pytest.raises(DriverMissingError, match=r"pip install 'nextcord-ormar\[mysql\]'") as info:
        normalize_url("mysql+asyncmy://root:hunter2@127.0.0.1/test")
    assert "hunter2" not in str(info.value)


async def test_password_never_in_repr_or_url_property() -> None:
    bot = Bot(database_url="postgresql://bob:hunter2@127.0.0.1:5432/db")
    assert "hunter2" not in repr(database)
    assert "hunter2" not in database.url
    assert "hunter2" not in bot.database_url
    assert bot.database_url == "postgresql+asyncpg://bob:***@127.0.0.1:5432/db"
    assert "hunter2" not in mask_url("postgres://bob:hunter2@h/db")


async def test_unreachable_database_is_a_clear_error_without_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    bot = Bot(database_url="postgresql://bob:hunter2@127.0.0.1:1/db")
    with pytest.raises(DatabaseConnectError) as info:
        await bot.connect_database()
    assert "could not connect to the database postgresql+asyncpg://bob:***@127.0.0.1:1/db" in str(
        info.value
    )
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in caplog.text
    assert not database.is_connected
    await bot.close()


async def test_default_url_is_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    bot = Bot()
    assert bot.database_url == "sqlite+aiosqlite:///bot.sqlite3"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from_env.db")
    assert Bot().database_url == "sqlite+aiosqlite:///from_env.db"
