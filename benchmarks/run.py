"""Benchmark: the whole `innostat run` at a named size, its incremental one-day run, and two same-run baselines.

For each repetition, in this order on the same machine:
  1. full run      `innostat run` on a fresh warehouse, every file but the last three days' (wall, peak RSS, stages)
  2. day 1, day 2  the first two of those days land, each followed by `innostat run` on the built warehouse
  3. incremental   the last day lands, then `innostat run` again: a daily run (the ratio's numerator)
     nothing new   `innostat run` once more over the same landing zone: publishes nothing (must say so)
  4. duckdb_sql    benchmarks/baselines/duckdb_sql.sql on the whole landing zone: the practical floor
  5. pandas        benchmarks/baselines/pandas_indicators.py on the whole landing zone: a typical team's script
Step 2 is measured and reported but is not the daily figure: the first two runs after a build each write a whole
copy of the warehouse file, which later runs start from (pipelines/lib/warehouse.py).
Each baseline's indicators are compared with the pipeline's published `marts.indicator_values` after step 3
(the same files): a baseline that disagrees fails the benchmark, so every ratio compares equal work.

Peak memory is the largest sum of RSS over the process and all its children (dbt runs in a subprocess),
sampled every 50 ms. Landing zones are generated once per size under --work and reused.

    make bench SIZE=district                 # or: python -m benchmarks.run --size district --record
    python -m benchmarks.run --size tiny     # the CI smoke test: one repetition, nothing recorded
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from benchmarks.compare import compare
from benchmarks.sizes import SIZES, Size

REPO = Path(__file__).resolve().parent.parent
RESULTS_MD = REPO / "benchmarks" / "RESULTS.md"
BIN = Path(sys.executable).parent
SAMPLE_SECONDS = 0.05
GIB = 1024**3
# Targets of issue 7 on a 2-core, 24 GiB machine (judged at `city` size).
TARGET_VS_DUCKDB = 2.0
TARGET_VS_PANDAS = 5.0
TARGET_PEAK_GIB = 4.0
TARGET_INCREMENTAL_SHARE = 0.10
RUN_NAMES = {
    "full": "`innostat run`, full build",
    "day1": "`innostat run`, day 1 after the build (writes a whole copy of the file)",
    "day2": "`innostat run`, day 2 after the build (writes a whole copy of the file)",
    "incremental": "`innostat run`, one more day (a daily run)",
    "noop": "`innostat run`, nothing new (no file, no release)",
}
PIPELINE_RUNS = tuple(RUN_NAMES)  # in the order a repetition runs them
DAY_RUNS = PIPELINE_RUNS[1:4]  # the runs that each take one held-back day


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --------------------------------------------------------------------------------------------- measuring


@dataclass
class Measurement:
    wall_s: float
    peak_rss_bytes: int
    exit_code: int
    log: str


def measure(command: list[str], log_path: Path, env: dict[str, str] | None = None) -> Measurement:
    """Run `command` to its end; wall time and peak RSS of its whole process tree."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        started = time.monotonic()
        process = psutil.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(process))
            time.sleep(SAMPLE_SECONDS)
        wall = time.monotonic() - started
    return Measurement(round(wall, 3), peak, process.returncode, str(log_path))


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):  # ended between listing and reading
            total += member.memory_info().rss
    return total


# --------------------------------------------------------------------------------------------- landing zones


@dataclass
class Landing:
    full: Path  # every generated file
    base: Path  # all but the held-back days (hard links: same bytes, same modification times)
    days: list[list[Path]]  # the files of each held-back day, relative to `full`; the last is the daily run's


def prepare_landing(size: Size, work: Path) -> Landing:
    """Generate the size's landing zone once (reused while the arguments match), and split off its last days."""
    full = work / size.name / "landing"
    marker = work / size.name / "landing.json"
    wanted = {"generate": size.generate_args}
    if not (marker.exists() and json.loads(marker.read_text()) == wanted):
        if full.exists():
            shutil.rmtree(full)
        say(f"{size.name}: generating the landing zone (innostat generate {' '.join(size.generate_args)})")
        started = time.monotonic()
        subprocess.run([str(BIN / "innostat"), "generate", "--out", str(full), *size.generate_args], check=True)
        say(f"{size.name}: generated in {time.monotonic() - started:.0f} s")
        marker.write_text(json.dumps(wanted))
    files = sorted(p.relative_to(full) for p in full.rglob("*") if p.is_file())
    days = [[p for p in files if any(day in p.name for day in spellings)] for spellings in size.held_back_days]
    for spellings, found in zip(size.held_back_days, days, strict=True):
        if not found:
            raise SystemExit(f"bench: no files of {spellings[0]} in {full}; delete {marker} and run again")
    base = work / size.name / "base"
    if base.exists():
        shutil.rmtree(base)
    held = {p for day in days for p in day}
    for rel in files:
        if rel not in held:
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            os.link(full / rel, base / rel)
    return Landing(full, base, days)


def landing_facts(landing: Landing) -> dict:
    files = [p for p in landing.full.rglob("*") if p.is_file()]
    by_feed: dict[str, int] = {}
    for path in files:
        feed = path.relative_to(landing.full).parts[0]
        by_feed[feed] = by_feed.get(feed, 0) + path.stat().st_size
    return {
        "files": len(files),
        "bytes": sum(by_feed.values()),
        "bytes_by_folder": by_feed,
        "held_back_days": [
            {"files": [str(p) for p in day], "bytes": sum((landing.full / p).stat().st_size for p in day)}
            for day in landing.days
        ],
    }


# --------------------------------------------------------------------------------------------- one repetition


@dataclass
class Repetition:
    full: dict = field(default_factory=dict)
    day1: dict = field(default_factory=dict)
    day2: dict = field(default_factory=dict)
    incremental: dict = field(default_factory=dict)
    noop: dict = field(default_factory=dict)
    duckdb_sql: dict = field(default_factory=dict)
    pandas: dict = field(default_factory=dict)


def _pipeline_env(run_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "INNOSTAT_PII_KEY": "benchmark-key-not-a-secret",
            # Ephemeral Dagster instance, as when the recorded figures were taken: a run in a SQLite DAGSTER_HOME
            # (what `innostat run` does by default, so the UI lists it) also stores its events, ~3 s a daily run.
            "DAGSTER_HOME": "",
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "GX_ANALYTICS_ENABLED": "false",
            # Files are hard-linked in whole just before a run (which moves their ctime): no settle wait to time.
            "INNOSTAT_SETTLE_SECONDS": "0",
        }
    )
    return env


def _innostat_run(landing: Path, warehouse: Path, run_dir: Path, name: str) -> dict:
    timings = run_dir / f"{name}.timings.json"
    command = [
        str(BIN / "innostat"),
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--timings",
        str(timings),
    ]
    result = measure(command, run_dir / f"{name}.log", _pipeline_env(run_dir))
    if result.exit_code != 0:
        raise SystemExit(f"bench: `innostat run` ({name}) failed with exit {result.exit_code}; see {result.log}")
    return {**asdict(result), **json.loads(timings.read_text())}


BASELINE_MODULES = {"duckdb_sql": "duckdb_sql", "pandas": "pandas_indicators"}  # name → benchmarks/baselines/


def _baseline(name: str, landing: Path, out: Path, run_dir: Path) -> dict:
    module = f"benchmarks.baselines.{BASELINE_MODULES[name]}"
    command = [sys.executable, "-m", module, "--landing", str(landing), "--out", str(out)]
    result = measure(command, run_dir / f"{out.stem}.log")
    if result.exit_code != 0:
        raise SystemExit(f"bench: baseline {name} failed with exit {result.exit_code}; see {result.log}")
    return asdict(result)


def repetition(size: Size, landing: Landing, index: int, work: Path, baselines: list[str]) -> Repetition:
    run_dir = work / size.name / "runs" / str(index)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_landing = run_dir / "landing"
    shutil.copytree(landing.base, run_landing, copy_function=os.link)  # hard links keep bytes and mtimes
    warehouse = run_dir / "warehouse" / "innostat.duckdb"
    rep = Repetition()

    say(f"{size.name} #{index + 1}: full run on {sum(1 for _ in run_landing.rglob('*.*'))} files")
    rep.full = _innostat_run(run_landing, warehouse, run_dir, "full")
    peak = rep.full["peak_rss_bytes"] / GIB
    say(f"{size.name} #{index + 1}: full run {rep.full['wall_s']:.1f} s, peak {peak:.2f} GiB")

    for kind, files, (day, _) in zip(DAY_RUNS, landing.days, size.held_back_days, strict=True):
        for rel in files:
            os.link(landing.full / rel, run_landing / rel)
        say(f"{size.name} #{index + 1}: {RUN_NAMES[kind]}: {len(files)} files of {day}")
        setattr(rep, kind, _innostat_run(run_landing, warehouse, run_dir, kind))
        say(f"{size.name} #{index + 1}: {kind} {getattr(rep, kind)['wall_s']:.1f} s")
    rep.noop = _innostat_run(run_landing, warehouse, run_dir, "noop")
    if "nothing new" not in Path(rep.noop["log"]).read_text():
        raise SystemExit(f"bench: the run over an unchanged landing zone published; see {rep.noop['log']}")
    say(f"{size.name} #{index + 1}: nothing new {rep.noop['wall_s']:.1f} s")

    for module in baselines:
        out = run_dir / f"{module}.parquet"
        say(f"{size.name} #{index + 1}: baseline {module}")
        measured = _baseline(module, landing.full, out, run_dir)
        comparison = compare(warehouse, out)
        measured["equal"] = comparison.equal
        measured["comparison"] = comparison.summary()
        say(f"{size.name} #{index + 1}: baseline {module} {measured['wall_s']:.1f} s; {comparison.summary(3)}")
        setattr(rep, module, measured)
    return rep


# --------------------------------------------------------------------------------------------- summary


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


STAGES = {  # stage → the Dagster steps it sums (see `innostat run --timings`)
    "ingest: statistics": ["raw__statistics"],
    "ingest: rd_filings": ["raw__rd_filings"],
    "ingest: gov_services": ["raw__gov_services"],
    "ingest: security_incidents": ["raw__security_incidents"],
    "ingest: security_cameras": ["raw__security_cameras"],
    "dbt build: base (seeds, statistics, R&D; 0 when kept)": ["dbt_base"],
    # dbt_final: the third invocation of runs before 2026-12-03, kept so older timings still sum
    "dbt build: monthly (gov services, security) and final (indicator_values, ledger, quarantine)": [
        "dbt_monthly",
        "dbt_final",
    ],
    "checks (GX suites, freshness)": ["*great_expectations", "*feed_is_fresh"],
    "publish": ["warehouse__published"],
}


def stage_seconds(run: dict) -> dict[str, float]:
    steps: dict[str, float] = run["steps"]
    out = {}
    for stage, patterns in STAGES.items():
        total = 0.0
        for pattern in patterns:
            if pattern.startswith("*"):
                total += sum(v for k, v in steps.items() if k.endswith(pattern[1:]))
            else:
                total += steps.get(pattern, 0.0)
        out[stage] = round(total, 3)
    out["outside steps (process start, imports, dbt start, planning)"] = round(run["wall_s"] - sum(out.values()), 3)
    return out


def summarise(size: Size, reps: list[Repetition], facts: dict, baselines: list[str]) -> dict:
    def series(kind: str, key: str) -> list[float]:
        return [getattr(r, kind)[key] for r in reps]

    summary = {
        "size": asdict(size),
        "landing": facts,
        "wall_s": {kind: spread(series(kind, "wall_s")) for kind in [*PIPELINE_RUNS, *baselines]},
        "peak_rss_bytes": {kind: max(series(kind, "peak_rss_bytes")) for kind in [*PIPELINE_RUNS, *baselines]},
        "stages": {
            kind: {
                stage: spread([stage_seconds(getattr(r, kind))[stage] for r in reps])
                for stage in stage_seconds(getattr(reps[0], kind))
            }
            for kind in PIPELINE_RUNS
        },
        "baselines_equal": {b: all(getattr(r, b)["equal"] for r in reps) for b in baselines},
        "ratios_per_repetition": [],
    }
    for r in reps:
        ratio = {
            "incremental_share": r.incremental["wall_s"] / r.full["wall_s"],
            "noop_vs_incremental": r.noop["wall_s"] / r.incremental["wall_s"],
        }
        if "duckdb_sql" in baselines:
            ratio["full_vs_duckdb_sql"] = r.full["wall_s"] / r.duckdb_sql["wall_s"]
        if "pandas" in baselines:
            ratio["pandas_vs_full"] = r.pandas["wall_s"] / r.full["wall_s"]
        summary["ratios_per_repetition"].append(ratio)
    summary["ratios"] = {
        key: spread([ratio[key] for ratio in summary["ratios_per_repetition"]])
        for key in summary["ratios_per_repetition"][0]
    }
    return summary


def machine() -> dict:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=REPO)
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / GIB, 1),
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": (commit.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty.stdout else ""),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(s: dict, unit: str = "s") -> str:
    if s["n"] == 1:
        return f"{s['median']:.1f} {unit}"
    return f"{s['median']:.1f} {unit} ({s['min']:.1f}–{s['max']:.1f})"


def markdown(summary: dict, host: dict) -> str:
    size = summary["size"]
    facts = summary["landing"]
    walls, peaks, ratios = summary["wall_s"], summary["peak_rss_bytes"], summary["ratios"]
    generate = " ".join(Size(**{**size, "years": tuple(size["years"])}).generate_args)
    lines = [
        f"## `{size['name']}` (`innostat generate {generate}`)",
        "",
        f"Measured by `make bench SIZE={size['name']}` ({size['repeat']} repetitions; median, with min–max). "
        "Written by the runner: do not edit by hand.",
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {host['date']} |",
        f"| commit | `{host['commit']}` |",
        f"| machine | {host['cores']} cores, {host['memory_gib']} GiB, {host['cpu']}, {host['os']}, "
        f"Python {host['python']} |",
        f"| load average before | {', '.join(map(str, host['load_average_before']))} |",
        f"| landing zone | {facts['files']} files, {facts['bytes'] / 1e6:.0f} MB "
        f"({', '.join(f'{k} {v / 1e6:.0f} MB' for k, v in facts['bytes_by_folder'].items())}) |",
        "| held-back days | "
        + "; ".join(f"{len(d['files'])} files, {d['bytes'] / 1e6:.1f} MB" for d in facts["held_back_days"])
        + " |",
        "",
        "| what | wall time | peak RSS (process tree) |",
        "| --- | --- | --- |",
    ]
    names = {**RUN_NAMES, "duckdb_sql": "baseline: hand-written DuckDB SQL", "pandas": "baseline: pandas"}
    for kind, stats in walls.items():
        lines.append(f"| {names[kind]} | {_fmt(stats)} | {peaks[kind] / GIB:.2f} GiB |")
    stages = summary["stages"]
    lines += [
        "",
        "| stage | full build | day 1 after the build | one more day | nothing new |",
        "| --- | --- | --- | --- | --- |",
    ]
    for stage, stats in stages["full"].items():
        lines.append(
            f"| {stage} | {_fmt(stats)} | {_fmt(stages['day1'][stage])} | {_fmt(stages['incremental'][stage])} "
            f"| {_fmt(stages['noop'][stage])} |"
        )
    lines += ["", "| ratio (same repetition, then median) | value | target (at `city`) |", "| --- | --- | --- |"]
    if "full_vs_duckdb_sql" in ratios:
        r = ratios["full_vs_duckdb_sql"]
        lines.append(f"| full run ÷ DuckDB-SQL baseline | {_ratio(r)} | ≤ {TARGET_VS_DUCKDB:g} |")
    if "pandas_vs_full" in ratios:
        r = ratios["pandas_vs_full"]
        lines.append(f"| pandas baseline ÷ full run | {_ratio(r)} | ≥ {TARGET_VS_PANDAS:g} |")
    r = ratios["incremental_share"]
    lines.append(f"| one more day ÷ full run | {_ratio(r, percent=True)} | < {TARGET_INCREMENTAL_SHARE:.0%} |")
    lines.append(f"| nothing new ÷ one more day | {_ratio(ratios['noop_vs_incremental'], percent=True)} | < 100% |")
    lines.append(f"| peak RSS of the full run | {peaks['full'] / GIB:.2f} GiB | < {TARGET_PEAK_GIB:g} GiB |")
    equal = summary["baselines_equal"]
    lines += [
        "",
        "Baselines agree with the pipeline's `marts.indicator_values` (after the last run, same files): "
        + ", ".join(f"{b} {'yes' if ok else '**NO**'}" for b, ok in equal.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def _ratio(stats: dict, percent: bool = False) -> str:
    f = (lambda x: f"{x:.1%}") if percent else (lambda x: f"{x:.2f}×")
    if stats["n"] == 1:
        return f(stats["median"])
    return f"{f(stats['median'])} ({f(stats['min'])}–{f(stats['max'])})"


def record(size_name: str, text: str) -> None:
    """Replace (or append) this size's section of RESULTS.md, between its markers."""
    start, end = f"<!-- bench:{size_name}:start -->", f"<!-- bench:{size_name}:end -->"
    current = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n"
    block = f"{start}\n{text}{end}"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        _, after = rest.split(end, 1)
        current = before + block + after
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS_MD.write_text(current)


# --------------------------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), required=True, help="named dataset size (benchmarks/sizes.py)")
    parser.add_argument("--repeat", type=int, help="repetitions (default: the size's own, 3 for district and city)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/innostat-bench"), help="scratch folder (reused)")
    parser.add_argument(
        "--baselines", default="duckdb_sql,pandas", help="comma-separated baselines to run (default: both)"
    )
    parser.add_argument("--record", action="store_true", help="write this size's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    size = SIZES[args.size]
    if args.repeat:
        size = Size(**{**asdict(size), "repeat": args.repeat})
    baselines = [b for b in args.baselines.split(",") if b]
    if unknown := set(baselines) - set(BASELINE_MODULES):
        parser.error(f"unknown baseline(s) {', '.join(sorted(unknown))}; choose from {', '.join(BASELINE_MODULES)}")
    host = machine()
    landing = prepare_landing(size, args.work)
    facts = landing_facts(landing)
    say(f"{size.name}: {facts['files']} files, {facts['bytes'] / 1e6:.0f} MB; {size.repeat} repetition(s)")
    reps = [repetition(size, landing, i, args.work, baselines) for i in range(size.repeat)]
    summary = summarise(size, reps, facts, baselines)
    summary["machine"] = host
    out = args.work / size.name / "results.json"
    out.write_text(json.dumps({"summary": summary, "repetitions": [asdict(r) for r in reps]}, indent=1))
    text = markdown(summary, host)
    print(text)
    if args.record:
        record(size.name, text)
        say(f"recorded in {RESULTS_MD.relative_to(REPO)}")
    say(f"raw figures: {out}")
    disagree = [b for b, ok in summary["baselines_equal"].items() if not ok]
    if disagree:
        for rep in reps:
            for b in disagree:
                print(getattr(rep, b)["comparison"], file=sys.stderr)
        print(f"bench: the baselines {', '.join(disagree)} disagree with the pipeline (above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
