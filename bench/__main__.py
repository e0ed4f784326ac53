"""``python -m bench``: run every figure, print a table with targets, write the same as JSON.

Each measurement runs in a child process of its own (a clean registry, database and event
loop). See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .common import BACKENDS, REPO, Json, Sizes, run_child

FIGURES = (
    "loop_health",
    "ack_time",
    "scaling",
    "cli_startup",
    "overhead",
    "backup",
    "startup",
    "replay",
)
TARGETS = {
    "loop_health": ("largest event-loop lag (ours)", "<= 50 ms", 50.0),
    "ack_time": ("ack p99 (idle and busy)", "<= 100 ms", 100.0),
    "scaling": ("make time 2000/0 unrelated (ours)", "<= 1.5x", 1.5),
    "cli_startup": ("nxalembic/alembic current", "<= 1.3x", 1.3),
    "overhead": ("engine/plain Alembic make+upgrade", "<= 1.15x", 1.15),
    "backup": ("SQLite backup of the database", "<= 5 s", 5.0),
    "startup": ("start to ready, migrations check/off", "<= 1.2x or +0.5 s", 1.2),
    "replay": ("nxalembic migrate --replay/migrate", "<= 2x", 2.0),
}


def loop_health(sizes: Sizes, common: list[str], tmp: Path) -> Json:
    from .loop_health import run_all

    def one(layout: str, mode: str, index: int) -> Json:
        args = ["--layout", layout, "--mode", mode, *common]
        return run_child("loop_health", args, tmp / f"lh-{layout}-{mode}-{index}.json")

    runs = run_all(sizes, one)
    worst = max(runs[f"{layout}_thread"]["max_lag_ms"] for layout in ("big", "many"))
    return {"value": worst, "unit": "ms", "runs": runs}


def ack_time(sizes: Sizes, common: list[str], tmp: Path) -> Json:
    result = run_child("ack", common, tmp / "ack.json")
    worst = max(result[key]["p99_ms"] for key in ("idle", "busy_reads", "busy_writes"))
    return {"value": worst, "unit": "ms", **result}


def scaling(sizes: Sizes, common: list[str], tmp: Path, original: bool) -> Json:
    args = [*common, *(["--original"] if original else [])]
    result = run_child("scaling", args, tmp / "scaling.json", timeout=900)
    return {"value": result["ours_cli_ratio"], "unit": "x", **result}


def cli_startup(sizes: Sizes, common: list[str], tmp: Path) -> Json:
    result = run_child("cli_startup", common, tmp / "cli.json")
    return {"value": result["ratio"], "unit": "x", **result}


def overhead(sizes: Sizes, common: list[str], tmp: Path) -> Json:
    result = run_child("overhead", common, tmp / "overhead.json")
    return {"value": result["ratio"], "unit": "x", **result}


def backup(sizes: Sizes, common: list[str], tmp: Path) -> Json:
    result = run_child("backup", common, tmp / "backup.json")
    return {"value": result["backup_s"], "unit": "s", **result}


def startup(sizes: Sizes, common: list[str], tmp: Path) -> Json:
    result = run_child("startup", common, tmp / "startup.json")
    return {"value": result["ratio"], "unit": "x", **result}


def replay(sizes: Sizes, common: list[str], tmp: Path) -> Json:
    result = run_child("replay", common, tmp / "replay.json", timeout=900)
    return {"value": result["ratio"], "unit": "x", **result}


def details(name: str, figure: Json) -> str:
    """One line of the most telling numbers beside the headline value."""
    if "error" in figure:
        return f"error: {figure['error']}"
    if name == "loop_health":
        runs = figure["runs"]
        parts = []
        for layout in ("big", "many"):
            t, lo = runs[f"{layout}_thread"], runs[f"{layout}_loop"]
            parts.append(
                f"{layout} ({t['tables']} tables/{t['cogs']} cogs, {t['runs']} runs): max lag "
                f"thread {t['max_lag_ms']} (median {t['median_max_lag_ms']}, p99 "
                f"{t['median_p99_lag_ms']}) / on-loop {lo['max_lag_ms']} (median "
                f"{lo['median_max_lag_ms']}, p99 {lo['median_p99_lag_ms']}) ms; largest lag with "
                f"the process busy {t['max_busy_lag_ms']} / {lo['max_busy_lag_ms']} ms; worst "
                f"thread stall: process CPU {t['worst_cpu_ms']} ms, loop thread waiting for a CPU "
                f"{t['worst_cpu_wait_ms']} ms; lags > 10 ms {t['lags_over_10ms']} (process busy "
                f"{t['lags_over_10ms_busy']}, starved {t['lags_over_10ms_starved']}); compile() "
                f"calls over 5 ms per run {t['median_long_compiles']} (longest "
                f"{t['longest_compile_ms']} ms); "
                "heartbeat gap "
                f"{t['max_heartbeat_gap_ms']} / {lo['max_heartbeat_gap_ms']} ms; the full "
                f"collection after the work (paid later, on the loop) {t['max_gc_after_work_ms']}"
                f" / {lo['max_gc_after_work_ms']} ms"
            )
        return " | ".join(parts)
    if name == "ack_time":
        i, r, w = figure["idle"], figure["busy_reads"], figure["busy_writes"]
        return (
            f"idle p50/p99 {i['p50_ms']}/{i['p99_ms']} ms (n={i['n']}); while an upgrade holds "
            f"the lock: reads {r['p50_ms']}/{r['p99_ms']} ms (n={r['n']}), 'busy' replies "
            f"{w['p50_ms']}/{w['p99_ms']} ms (n={w['n']})"
        )
    if name == "scaling":
        n = figure["unrelated_tables"]
        text = (
            f"ours nxalembic migrate {figure['ours_cli_0_s']}s -> {figure[f'ours_cli_{n}_s']}s; "
            f"engine make alone {figure['ours_engine_0_s']}s -> {figure[f'ours_engine_{n}_s']}s "
            f"({figure['ours_engine_ratio']}x, CPU {figure['ours_engine_cpu_ratio']}x; "
            "target <= 1.2x)"
        )
        orig = figure["original"]
        if isinstance(orig, dict):
            text += (
                f"; original 0.3.3: {orig['cli_0_s']}s -> {orig[f'cli_{n}_s']}s "
                f"({orig['cli_ratio']}x)"
            )
        else:
            text += f"; original 0.3.3: {orig}"
        return text
    if name == "backup":
        return (
            f"{figure['database_mb']} MB SQLite file: upgrade {figure['upgrade_with_backup_s']}s "
            f"with the backup, {figure['upgrade_without_backup_s']}s without; the backup is "
            f"{figure['backup_share']:.0%} of the upgrade"
        )
    if name == "startup":
        return (
            f"{figure['cogs']} cogs x {figure['tables'] // figure['cogs']} tables, all "
            f"migrated: ready in {figure['off_s']}s (off), {figure['check_s']}s (check), "
            f"{figure['added_s']}s added (median of {figure['runs']}); first start of a "
            f"process (imports Alembic): {figure.get('first_off_s')}s / "
            f"{figure.get('first_check_s')}s, {figure.get('first_added_s')}s added "
            f"({'met' if figure.get('first_met') else 'NOT met'}); one check of every "
            f"app: {figure.get('check_statements')} statements, {figure.get('check_cpu_s')}s "
            f"CPU (one app: {figure.get('check_one_app_statements')}, "
            f"{figure.get('check_one_app_cpu_s')}s)"
        )
    if name == "replay":
        return (
            f"{figure['tables']} tables in {figure['migrations']} migrations, one change: "
            f"migrate {figure['migrate_s']}s, migrate --replay {figure['migrate_replay_s']}s "
            f"(median of {figure['runs']})"
        )
    if name == "cli_startup":
        return (
            f"nxalembic current {figure['nxalembic_current_s']}s, alembic current "
            f"{figure['alembic_current_s']}s; CPU {figure['nxalembic_current_cpu_s']}s / "
            f"{figure['alembic_current_cpu_s']}s ({figure['cpu_ratio']}x), URL from "
            f"DATABASE_URL; URL in the bot's code: {figure['url_in_code_current_s']}s, CPU "
            f"{figure['url_in_code_current_cpu_s']}s ({figure['url_in_code_cpu_ratio']}x); "
            f"import nextcord+ormar alone {figure['import_nextcord_ormar_libs_s']}s"
        )
    return (
        f"engine {figure['engine_s']}s (make {figure['engine_make_s']} + upgrade "
        f"{figure['engine_upgrade_s']}), plain {figure['plain_alembic_s']}s (make "
        f"{figure['plain_make_s']} + upgrade {figure['plain_upgrade_s']}); make alone "
        f"{figure['make_ratio']}x"
    )


def table(results: Json) -> str:
    rows = [("figure", "measured", "target", "met", "details")]
    for name in FIGURES:
        figure = results[name]
        label, target, limit = TARGETS[name]
        if "error" in figure:
            rows.append((name, "error", target, "-", details(name, figure)))
            continue
        value = figure["value"]
        measured = f"{value} {figure['unit']}"
        rows.append(
            (
                name,
                f"{label}: {measured}",
                target,
                "yes" if figure.get("met", value <= limit) else "NO",
                details(name, figure),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        lines.append(" | ".join([*cells, row[4]]))
        if row is rows[0]:
            lines.append("-+-".join("-" * w for w in widths) + "-+--------")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; skip the original")
    parser.add_argument("--database", choices=BACKENDS, default="sqlite")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "latest.json")
    parser.add_argument("--only", choices=FIGURES, action="append", help="run only these")
    parser.add_argument(
        "--skip-original", action="store_true", help="do not install/run nextcord-ormar 0.3.3"
    )
    args = parser.parse_args(argv)
    sizes = Sizes.smoke() if args.smoke else Sizes()
    original = not (args.smoke or args.skip_original)
    common = ["--database", args.database, "--sizes", json.dumps(sizes.as_json())]
    chosen = args.only or list(FIGURES)
    steps: dict[str, Callable[[Path], Json]] = {
        "loop_health": lambda tmp: loop_health(sizes, common, tmp),
        "ack_time": lambda tmp: ack_time(sizes, common, tmp),
        "scaling": lambda tmp: scaling(sizes, common, tmp, original),
        "cli_startup": lambda tmp: cli_startup(sizes, common, tmp),
        "overhead": lambda tmp: overhead(sizes, common, tmp),
        "backup": lambda tmp: backup(sizes, common, tmp),
        "startup": lambda tmp: startup(sizes, common, tmp),
        "replay": lambda tmp: replay(sizes, common, tmp),
    }
    results: Json = {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nxo-bench-") as tmp:
        for name in FIGURES:
            if name not in chosen:
                continue
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            try:
                results[name] = steps[name](Path(tmp))
            except Exception as exc:  # one broken figure must not hide the others
                results[name] = {"error": str(exc).strip().splitlines()[-1][:300]}
                print(f"[bench] {name} failed: {exc}", file=sys.stderr)
            results[name]["seconds"] = round(time.perf_counter() - start, 1)
    total = time.perf_counter() - began
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    shown = {name: results[name] for name in FIGURES if name in results}
    print(table({**{n: {"error": "not run"} for n in FIGURES}, **shown}))
    print(
        f"\n{args.database}, {'smoke' if args.smoke else 'full'} sizes, {total:.0f} s; "
        f"JSON: {args.output}"
    )
    return 1 if any("error" in figure for figure in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
