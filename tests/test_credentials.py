"""Every credential a SQLAlchemy URL can carry stays out of reprs, properties, logs and errors.

Issue 14.1: a password in the query string (``?password=``, accepted by asyncpg and aiomysql)
and an unencoded ``@`` inside a password used to show (partly) unmasked.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.engine import make_url

from nextcord_ormar import Bot, DatabaseConnectError, database, mask_url
from nextcord_ormar.migrations import MigrationEngine, MigrationError
from tests.leakcheck import SECRET

QUERY_URLS = [
    f"postgresql://bob@127.0.0.1:5432/db?password={SECRET}",
    f"postgresql://bob@127.0.0.1:5432/db?sslmode=disable&sslpassword={SECRET}",
    f"mysql://bob@127.0.0.1:3306/db?passwd={SECRET}&charset=utf8mb4",
    f"postgresql://bob@127.0.0.1/db?PWD={SECRET}",
    f"postgresql://bob@127.0.0.1/db?token={SECRET}",
    f"postgresql://bob@127.0.0.1/db?secret={SECRET}",
]


@pytest.mark.parametrize("url", QUERY_URLS)
async def test_query_string_credentials_are_masked_everywhere(url: str) -> None:
    # async: nextcord 2.6's Client needs a current event loop to be created
    bot = Bot(database_url=url)
    for shown in (repr(database), database.url, bot.database_url, mask_url(url)):
        assert SECRET not in shown, shown
        assert "=***" in shown, shown
    # what is not a credential stays readable
    assert "127.0.0.1" in bot.database_url
    assert "bob" in bot.database_url


async def test_an_unencoded_at_sign_in_the_password_is_masked_whole() -> None:
    url = "postgresql://bob:nxo-t@st-s3cret@127.0.0.1:5432/db"
    bot = Bot(database_url=url)
    for shown in (repr(database), database.url, bot.database_url, mask_url(url)):
        assert "st-s3cret" not in shown, shown
        assert "nxo-t" not in shown, shown
    assert bot.database_url == "postgresql+asyncpg://bob:***@127.0.0.1:5432/db"
    # and the URL means what it says: the password is "nxo-t@st-s3cret", the host 127.0.0.1
    assert database.sa_url.password == "nxo-t@st-s3cret"
    assert database.sa_url.host == "127.0.0.1"


def test_the_scrubber_masks_urls_it_never_saw_and_known_secrets_in_prose() -> None:
    from nextcord_ormar.redact import Scrubber

    scrub = Scrubber(f"postgresql://bob@h/db?password={SECRET}")
    text = (
        f"could not connect to postgresql://eve:other-pw@h/x?token=abc&sslmode=require: "
        f"password {SECRET!r} refused; mysql://root:p@ss@db/y"
    )
    cleaned = scrub(text)
    for secret in (SECRET, "other-pw", "abc", "p@ss", "ss@db"):
        assert secret not in cleaned, cleaned
    assert "sslmode=require" in cleaned
    assert "@db/y" in cleaned


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
async def test_a_query_password_connects_and_the_log_line_masks_it(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The URL's password moved into the query string: the driver uses it, nobody sees it."""
    url = make_url(db_url)
    moved = url.set(password=None).update_query_dict({"password": SECRET})
    caplog.set_level(logging.INFO, logger="nextcord_ormar")
    bot = Bot(database_url=moved.render_as_string(hide_password=False))
    await bot.connect_database()
    try:
        assert "database connected" in caplog.text
        assert SECRET not in caplog.text
        assert SECRET not in repr(bot.database)
    finally:
        await bot.close()
    assert "database disconnected" in caplog.text
    assert SECRET not in caplog.text


async def test_unreachable_database_with_a_query_password_is_a_clean_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = Bot(database_url=f"postgresql://bob@127.0.0.1:1/db?password={SECRET}")
    with pytest.raises(DatabaseConnectError) as info:
        await bot.connect_database()
    assert "127.0.0.1:1/db?password=***" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text
    await bot.close()


async def test_engine_errors_what_migrate_replies_show_mask_query_passwords() -> None:
    """``/migrate`` shows the engine's error messages as they are: they must be clean."""
    Bot(database_url=f"postgresql://bob@127.0.0.1:1/db?password={SECRET}")
    engine = MigrationEngine(database, in_thread=True)
    with pytest.raises(MigrationError) as info:
        await engine.current([])
    assert "database error on postgresql+asyncpg://bob@127.0.0.1:1/db?password=***" in str(
        info.value
    )
    assert SECRET not in str(info.value)
