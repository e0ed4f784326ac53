"""The benchmarks keep working: ``python -m bench --smoke`` runs and writes every figure.

Nothing here looks at time; the figures themselves are read by people (bench/README.md).
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {
    "loop_health",
    "ack_time",
    "scaling",
    "cli_startup",
    "overhead",
    "backup",
    "startup",
    "replay",
}


def test_smoke_bench_writes_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text(encoding="utf-8"))
    assert set(results) == FIGURES
    for name, figure in results.items():
        assert "error" not in figure, (name, figure)
        assert "value" in figure, name
    assert results["scaling"]["original"] == "skipped"
    for name in FIGURES:
        assert name in done.stdout  # the printed table has a row per figure
