"""Models change under data: after each migrate + upgrade the models match the database
(Alembic's own comparison finds nothing) and every row is still there."""

from __future__ import annotations

from dataclasses import dataclass

from tests.cli.project import BotProject


@dataclass(frozen=True)
class Step:
    """One change to the cogs' models and what ``migrate`` must report for it."""

    title: str
    app: str
    operations: tuple[str, ...]
    warning: str | None = None


STEPS = [
    Step("add a nullable column", "economy", ("add column economy_members.nick",)),
    Step("add a column with a server default", "economy", ("add column economy_members.coins",)),
    Step("add a table", "economy", ("create table economy_wallets",)),
    Step(
        "add an index and a unique constraint",
        "economy",
        ("create index ix_economy_members_level", "uq_economy_members_nick"),
    ),
    Step(
        "change column types",
        "economy",
        ("alter column economy_members.name", "alter column economy_members.level"),
    ),
    Step(
        "change nullability",
        "economy",
        ("alter column economy_members.level (NOT NULL)",),
        warning="  warning: makes economy_members.level NOT NULL: the upgrade fails if any row "
        "holds NULL there",
    ),
    Step(
        "add a cross-app foreign key",
        "shop",
        ("add column shop_items.owner", "create foreign key"),
    ),
]


def economy_source(step: int) -> str:
    """The economy cog's models after ``step`` changes (0: as first migrated)."""
    name = "ormar.String(max_length=120)" if step >= 5 else "ormar.String(max_length=50)"
    level_type = "ormar.BigInteger" if step >= 5 else "ormar.Integer"
    level_options = ["nullable=False" if step >= 6 else "nullable=True"]
    if step >= 4:
        level_options.append("index=True")
    fields = [
        "id: int = ormar.Integer(primary_key=True, autoincrement=False)",
        f"name: str = {name}",
        f"level: int = {level_type}({', '.join(level_options)})",
    ]
    if step >= 1:
        unique = ", unique=True" if step >= 4 else ""
        fields.append(f"nick: str = ormar.String(max_length=30, nullable=True{unique})")
    if step >= 2:
        fields.append('coins: int = ormar.Integer(server_default="5", nullable=False)')
    body = "class Member(AppModel):\n    ormar_config = app.config()\n"
    body += "".join(f"    {field}\n" for field in fields)
    if step >= 3:
        body += (
            "\n\nclass Wallet(AppModel):\n"
            "    ormar_config = app.config()\n"
            "    id: int = ormar.Integer(primary_key=True)\n"
            "    balance: int = ormar.Integer(default=0)\n"
        )
    return body


def shop_source(step: int) -> str:
    body = (
        "class Item(AppModel):\n"
        "    ormar_config = app.config()\n"
        "    id: int = ormar.Integer(primary_key=True, autoincrement=False)\n"
        "    title: str = ormar.String(max_length=40)\n"
    )
    if step >= 7:
        body += "    owner = ormar.ForeignKey(Member, nullable=True)\n"
    return body


def write_step(project: BotProject, step: int) -> None:
    project.write_cog("economy", economy_source(step))
    project.write_cog("shop", shop_source(step), imports="from cogs.economy import Member")


MEMBERS = [(1, "ada", 1), (2, "bob", 2)]


def assert_rows_kept(project: BotProject) -> None:
    assert project.rows("SELECT id, name, level FROM economy_members ORDER BY id") == MEMBERS
    assert project.rows("SELECT id, title FROM shop_items") == [(1, "hat")]


def test_models_evolve_with_data_in_the_tables(project: BotProject) -> None:
    write_step(project, 0)
    project.write_bot("cogs.economy", "cogs.shop")
    project.ok("migrate")
    project.ok("upgrade")
    project.execute(
        "INSERT INTO economy_members (id, name, level) VALUES (1, 'ada', 1), (2, 'bob', 2)",
        "INSERT INTO shop_items (id, title) VALUES (1, 'hat')",
    )

    for number, step in enumerate(STEPS, start=1):
        write_step(project, number)
        if number == 1:
            run = project.nx("check")
            assert run.code == 1, run
            assert "economy: models differ from the database:" in run.out
            assert "shop: up to date" in run.out

        made = project.ok("migrate")
        written = [line for line in made.out.splitlines() if ": wrote migration " in line]
        assert len(written) == 1, f"{step.title}: {made}"
        assert written[0].startswith(f"{step.app}: wrote migration "), made
        for operation in step.operations:
            assert operation in made.out, f"{step.title}: {made}"
        assert "drop" not in made.out, f"{step.title}: {made}"
        warnings = [line for line in made.out.splitlines() if "warning" in line]
        assert warnings == ([step.warning] if step.warning else []), f"{step.title}: {made}"

        project.ok("upgrade")
        for app in ("economy", "shop"):
            assert project.model_diff(app) == [], f"{step.title}: {app} differs"
        assert_rows_kept(project)

        if number == 2:
            assert project.rows("SELECT coins FROM economy_members") == [(5,), (5,)]

    run = project.ok("check")
    assert run.out.splitlines() == ["economy: up to date", "shop: up to date"]
    assert project.migrations("economy") == [
        "0001_create_members.py",
        "0002_add_members_nick.py",
        "0003_add_members_coins.py",
        "0004_create_wallets.py",
        "0005_index_members_level_and_unique_members.py",
        "0006_alter_members_name_and_alter_members.py",
        "0007_alter_members_level.py",
    ]
    assert project.migrations("shop") == [
        "0001_create_items.py",
        "0002_add_items_owner_and_fk_items_economy.py",
    ]
