"""``nxalembic`` never prints a credential carried in a URL's query string (issue 14.1)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.cli.project import BotProject
from tests.leakcheck import SECRET

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
"""


def _in_query(db_url: str) -> str:
    url = make_url(db_url)
    return url.set(password=None).update_query_dict({"password": SECRET}).render_as_string(False)


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_a_query_password_works_and_never_shows(project: BotProject) -> None:
    url = _in_query(project.db_url)
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy", url=url)

    made = project.ok("-v", "migrate")
    upgraded = project.ok("upgrade", "--verbose", "--database-url", url)

    for run in (made, upgraded):
        assert SECRET not in run.output, run
        assert "=***" in run.err, run
    assert project.version("economy") == "0001"


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob@127.0.0.1:1/db?password={SECRET}",
        f"postgresql://bob@127.0.0.1:1/db?sslmode=disable&sslpassword={SECRET}",
        "postgresql://bob:nxo-t@st-s3cret@127.0.0.1:1/db",
    ],
)
def test_errors_on_an_unreachable_database_mask_every_credential(
    project: BotProject, url: str
) -> None:
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy")
    run = project.nx("-v", "upgrade", "--database-url", url)
    assert run.code == 1, run
    assert "could not connect to the database" in run.err, run
    for secret in (SECRET, "st-s3cret", "nxo-t@"):
        assert secret not in run.output, run
