"""A database password never reaches the terminal, even in --verbose logs of a working run."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.cli.project import BotProject

SECRET = "Sup3rSecretPw"

MEMBERS = """
class Member(AppModel):
    ormar_config = app.config()
    id: int = ormar.Integer(primary_key=True)
"""


# The test server trusts local connections, so a URL with any password connects.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_password_in_a_working_url_is_masked_in_verbose_output(project: BotProject) -> None:
    url = make_url(project.db_url).set(password=SECRET).render_as_string(hide_password=False)
    project.write_cog("economy", MEMBERS)
    project.write_bot("cogs.economy", url=url)

    made = project.ok("-v", "migrate")
    upgraded = project.ok("upgrade", "--verbose", "--database-url", url)

    for run in (made, upgraded):
        assert SECRET not in run.output, run
        assert ":***@" in run.err, run
    assert "database connected: postgresql+asyncpg://postgres:***@" in upgraded.err
    assert project.version("economy") == "0001"
    assert SECRET not in project.migration_text("economy", "0001")
