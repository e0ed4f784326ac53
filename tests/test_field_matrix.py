"""Every ormar field type and option on every database, through the real ``nxalembic``:
migrate → upgrade → check is clean → migrate writes nothing → rows round-trip through
ormar → an evolution step of every kind → clean again → downgrade to base removes the
apps' tables and touches no other.

Each cell (field type x database x stage) is recorded; the test prints the table and, with
``NXO_FIELD_MATRIX=FILE``, appends it as JSON lines to FILE. A failing cell fails the test
with the table in the message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy

from tests.cli.project import BotProject, Run
from tests.field_matrix import (
    EXTRA_LABELS,
    FIELDS,
    HEADER,
    LONG_APP,
    core_source,
    long_source,
    refs_source,
    roundtrip_script,
)

APPS = ("mx", "mxrefs")
STAGES = ("clean after upgrade", "round-trip", "evolution")

#: Names that show a matrix row in ``check`` output (drift) besides the field's own column.
MARKERS: dict[str, tuple[str, ...]] = {
    "UniqueColumns": ("uc_mx_things_f_integer", "uc_mx_things_ev_u"),
    "IndexColumns": ("ix_mx_things_f_bigint", "ix_mx_things_ev_u"),
    "CheckColumns": ("ck_mx_things",),
    "ForeignKey (ondelete/onupdate)": ("main_tag", "fk_mx_things"),
    "ForeignKey (self-referencing)": ("mx_nodes",),
    "ForeignKey (cross-app)": ("mxrefs_notes.thing", "fk_mxrefs_notes"),
    "ManyToMany (default through)": ("mx_things_tags",),
    "ManyToMany (custom through)": ("mx_thinglabels",),
    "ManyToMany (cross-app)": ("mxrefs_notes_things", "mxrefs_notes_tags"),
    "pydantic-only field": ("f_pydantic",),
}
#: Keys of the round-trip script's answer for the rows that are not a column.
ROUNDTRIP_KEYS = {
    "pydantic-only field": ("f_pydantic",),
    "UniqueColumns": ("unique_together",),
    "ForeignKey (ondelete/onupdate)": ("main_tag",),
    "ForeignKey (self-referencing)": ("parent",),
    "ForeignKey (cross-app)": ("note.thing",),
    "ManyToMany (default through)": ("tags",),
    "ManyToMany (custom through)": ("labels",),
    "ManyToMany (cross-app)": ("note.things",),
}


@dataclass
class Matrix:
    """The cells of one database's run."""

    backend: str
    cells: dict[tuple[str, str], str] = field(default_factory=dict)

    def set(self, label: str, stage: str, verdict: str) -> None:
        if self.cells.get((label, stage), "ok") == "ok":
            self.cells[(label, stage)] = verdict

    def failures(self) -> list[str]:
        return [f"{label} / {stage}: {v}" for (label, stage), v in self.cells.items() if v != "ok"]

    def table(self) -> str:
        rows = [f"field type x {self.backend}: " + " | ".join(STAGES)]
        for label in [f.label for f in FIELDS] + EXTRA_LABELS:
            rows.append(
                f"  {label:32} "
                + " | ".join(self.cells.get((label, stage), "not run") for stage in STAGES)
            )
        return "\n".join(rows)

    def save(self) -> None:
        target = os.environ.get("NXO_FIELD_MATRIX")
        if not target:
            return
        with open(target, "a", encoding="utf-8") as out:
            for (label, stage), verdict in self.cells.items():
                record = {"db": self.backend, "type": label, "stage": stage, "verdict": verdict}
                out.write(json.dumps(record) + "\n")


def markers(label: str) -> tuple[str, ...]:
    """Patterns of a row's names in ``check`` output (a column: exactly; others: prefix)."""
    for f in FIELDS:
        if f.label == label:
            return (rf"\.{f.column}(?![a-z0-9_])", rf"\.e{f.column[1:]}(?![a-z0-9_])")
    return tuple(rf"(?<![a-z0-9]){re.escape(name)}" for name in MARKERS[label])


def all_labels() -> list[str]:
    return [f.label for f in FIELDS] + EXTRA_LABELS


def judge_drift(matrix: Matrix, stage: str, run: Run) -> list[str]:
    """Mark every row named in a ``check``'s drift lines; return the lines nobody claimed."""
    lines = [line.strip() for line in run.out.splitlines() if line.startswith("  ")]
    claimed: set[str] = set()
    for label in all_labels():
        for line in lines:
            if any(re.search(pattern, line) for pattern in markers(label)):
                matrix.set(label, stage, f"drift: {line}")
                claimed.add(line)
    return [line for line in lines if line not in claimed]


def write_step(project: BotProject, step: int) -> None:
    project.write_cog("mx", core_source(step), imports=HEADER)
    project.write_cog(
        "mxrefs", refs_source(step), imports=HEADER + "from cogs.mx import Tag, Thing\n"
    )


def fail_all(matrix: Matrix, stage: str, why: Run | str) -> None:
    reason = why if isinstance(why, str) else f"`nxalembic {' '.join(why.args)}` exit {why.code}: "
    if not isinstance(why, str):
        reason += (why.err.strip().splitlines() or why.out.strip().splitlines() or [""])[-1]
    for label in all_labels():
        matrix.set(label, stage, reason)


def stage_clean(project: BotProject, matrix: Matrix, stage: str) -> list[str]:
    """migrate → upgrade → check clean → migrate writes nothing; what no row claimed."""
    stray: list[str] = []
    for args in (("migrate",), ("upgrade", "--yes")):
        run = project.nx(*args)
        if run.code != 0:
            fail_all(matrix, stage, run)
            return [str(run)]
    check = project.nx("check")
    stray += judge_drift(matrix, stage, check)
    if check.code != 0 and not stray and not matrix.failures():
        stray.append(str(check))
    before = {app: project.migrations(app) for app in APPS}
    again = project.nx("migrate")
    if again.code != 0:
        stray.append(str(again))
    for app in APPS:
        if project.migrations(app) != before[app]:
            stray.append(f"{app}: migrate wrote another script right after upgrade:\n{again}")
    for label in all_labels():
        matrix.set(label, stage, "ok")
    return stray


def roundtrip(project: BotProject, matrix: Matrix) -> list[str]:
    project.write("roundtrip.py", roundtrip_script())
    done = subprocess.run(
        [sys.executable, "roundtrip.py"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    stage = "round-trip"
    if done.returncode != 0:
        fail_all(matrix, stage, "round-trip script failed: " + done.stderr.strip().splitlines()[-1])
        return [done.stderr]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    for f in FIELDS:
        matrix.set(f.label, stage, answer[f.column])
    for label, keys in ROUNDTRIP_KEYS.items():
        for key in keys:
            matrix.set(label, stage, answer[key])
    return []


@pytest.fixture
def project(db_url: str, tmp_path: Path) -> BotProject:
    """An empty bot project on ``db_url`` (run once per database backend)."""
    bot_project = BotProject(tmp_path / "bot", db_url)
    bot_project.write_ini()
    return bot_project


def test_every_field_type_migrates_round_trips_and_evolves(project: BotProject) -> None:
    matrix = Matrix(project.backend)
    stray: list[str] = []
    project.execute(
        "CREATE TABLE unowned_keep (id INTEGER PRIMARY KEY, note VARCHAR(20))",
        "INSERT INTO unowned_keep (id, note) VALUES (1, 'mine')",
    )
    write_step(project, 0)
    project.write_bot("cogs.mx", "cogs.mxrefs")
    stray += stage_clean(project, matrix, "clean after upgrade")
    stray += roundtrip(project, matrix)
    # The CHECK constraint is not compared by Alembic: see that it exists and bites.
    try:
        project.execute("UPDATE mx_things SET f_integer = -5000")
    except Exception:
        matrix.set("CheckColumns", "round-trip", "ok")
    else:
        matrix.set("CheckColumns", "round-trip", "the CHECK constraint let -5000 in")

    indexes = project.db(lambda conn: sqlalchemy.inspect(conn).get_indexes("mx_things"))
    found = any(i["column_names"] == ["f_bigint", "f_float"] for i in indexes)
    matrix.set("IndexColumns", "round-trip", "ok" if found else "the index is missing")

    write_step(project, 1)
    stray += stage_clean(project, matrix, "evolution")
    columns = project.columns("mx_things") if "mx_things" in project.tables() else {}
    for f in FIELDS:
        twin = "e" + f.column[1:]
        if f.twin and twin not in columns:
            matrix.set(f.label, "evolution", f"{twin} was not added")
    if "ev_drop" in columns or "ev_added" not in columns:
        stray.append("the evolution step did not drop ev_drop or add ev_added")

    for app in reversed(APPS):
        run = project.nx("downgrade", app, "base", "--yes")
        if run.code != 0:
            fail_all(matrix, "evolution", run)
            stray.append(str(run))
    left = {
        t
        for t in project.tables()
        if t.startswith(tuple(f"{a}_" for a in APPS)) and not t.startswith("alembic_version")
    }
    if left:
        fail_all(matrix, "evolution", f"downgrade to base left {sorted(left)}")
    assert project.rows("SELECT id, note FROM unowned_keep") == [(1, "mine")]

    print(matrix.table())
    matrix.save()
    problems = matrix.failures() + stray
    assert not problems, matrix.table() + "\n\n" + "\n".join(problems)


def test_the_longest_app_name_migrates_evolves_and_downgrades(project: BotProject) -> None:
    """A 40-character app (the longest allowed) with every kind of named constraint."""
    assert len(LONG_APP) == 40
    for step in (0, 1):
        project.write_cog(LONG_APP, long_source(step), imports=HEADER)
        if step == 0:
            project.write_bot(f"cogs.{LONG_APP}")
        project.ok("migrate")
        project.ok("upgrade")
        check = project.nx("check")
        assert check.code == 0, check
        again = project.ok("migrate")
        assert "wrote" not in again.out, again
    project.ok("downgrade", LONG_APP, "base", "--yes")
    left = [t for t in project.tables() if t.startswith(LONG_APP)]
    assert left == [], left
