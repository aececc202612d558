"""What the default runs reach, and how fast: the README's quality table, measured.

    python benchmarks/quality.py                          # the default run of each family x data set
    python benchmarks/quality.py --cases mlp:ring8,mlp:grid25 --seeds 5    # medians over seeds 0..4
    python benchmarks/quality.py --cases dcgan:fashion_mnist trainer.batch_size=128   # on every run
    python benchmarks/quality.py --budgets 30,100,600 --cases mlp:fashion_mnist \\
        --candidate default= --candidate ema="trainer.ema.decay=0.999"      # quality per second
    python benchmarks/quality.py --budgets 30,100,600 --jobs 2 ...       # budget runs two at a time

Each run is the real command (`python -m gan_cli train ...`) in a temporary folder, timed from start
to exit (start-up, data, training and the final evaluation: what a user waits for). The figures are
the run's own `summary.json`: FID/KID/precision/recall/coverage with the classifier features for
image sets, modes captured / % high quality / KL to uniform for the 2D sets.

--budgets T1,T2,... answers "what does T seconds of training buy": for each candidate a short
calibration run measures its images/s, then one run per budget trains for the number of steps that
takes T seconds at that rate (its learning-rate schedule ends with the run, as a user's run of that
length would) and reports its primary metric. Run it on a quiet machine: the step count comes from
the measured rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DEFAULT_CASES = "mlp:fashion_mnist,dcgan:fashion_mnist,mlp:ring8,mlp:grid25"
IMAGE_COLUMNS = ("fid", "kid", "precision", "recall", "coverage")
POINT_COLUMNS = ("modes_captured", "high_quality_pct", "kl_uniform")
CALIBRATION_STEPS = 300


def run_train(overrides: list[str], folder: Path, threads: int | None = None) -> tuple[float, dict]:
    """One `gan train` in its own process; (wall seconds, its summary.json). ``threads`` sets
    OMP_NUM_THREADS for it (None: the tool's own choice)."""
    argv = [
        sys.executable,
        "-m",
        "gan_cli",
        "train",
        *overrides,
        "trainer.progress=false",
        f"hydra.run.dir={folder}",
    ]
    env = dict(os.environ) if threads is None else {**os.environ, "OMP_NUM_THREADS": str(threads)}
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`{' '.join(argv[2:])}` failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, json.loads((folder / "summary.json").read_text())


def parse_cases(text: str) -> list[tuple[str, str]]:
    cases = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        model, sep, data = item.partition(":")
        if not sep or not model or not data:
            sys.exit(f"--cases: {item!r} is not model:data (e.g. mlp:ring8)")
        cases.append((model, data))
    return cases


def columns_for(summary: dict) -> tuple[str, ...]:
    return POINT_COLUMNS if "modes_captured" in summary else IMAGE_COLUMNS


def median_row(runs: list[tuple[float, dict]]) -> dict[str, float]:
    columns = columns_for(runs[0][1])
    row = {"time_s": statistics.median(wall for wall, _ in runs)}
    for name in columns:
        values = [summary[name] for _, summary in runs if name in summary]
        if values:
            row[name] = statistics.median(values)
    return row


def table(cases, seeds: int, overrides: list[str], root: Path) -> list[dict]:
    rows = []
    for model, data in cases:
        runs = []
        for seed in range(seeds):
            folder = root / f"{model}-{data}-seed{seed}"
            runs.append(run_train([f"model={model}", f"data={data}", f"seed={seed}", *overrides], folder))
            print(f"  {model} {data} seed {seed}: {runs[-1][0]:.0f} s", file=sys.stderr)
        rows.append({"model": model, "data": data, "seeds": seeds, **median_row(runs)})
    return rows


def budgets(
    cases, candidates: dict[str, list[str]], seconds: list[float], overrides, root: Path, jobs: int = 1
) -> list[dict]:
    """Calibrate every candidate one after another (the machine must be quiet for the rates), then
    train the budget runs, ``jobs`` at a time. With jobs > 1 each run gets cores // jobs threads:
    its step count still comes from the quiet rate, so its FID is the one T seconds of the
    candidate buy alone; only the wall time of the table changes (and the float sum order)."""
    rows, planned = [], []
    for model, data in cases:
        for name, extra in candidates.items():
            base = [f"model={model}", f"data={data}", *overrides, *extra]
            _, calibration = run_train(
                [*base, f"trainer.steps={CALIBRATION_STEPS}", "trainer.eval_every=0"],
                root / f"{model}-{data}-{name}-calibrate",
            )
            steps_per_s = calibration["steps"] / calibration["wall_time_s"]
            row = {
                "model": model,
                "data": data,
                "candidate": name,
                "img_per_s": calibration["img_per_s_median"],
            }
            print(f"  {model} {data} {name}: {row['img_per_s']:.0f} img/s", file=sys.stderr)
            rows.append(row)
            for budget in seconds:
                steps = max(1, round(budget * steps_per_s))
                folder = root / f"{model}-{data}-{name}-{budget:g}s"
                planned.append((row, budget, steps, [*base, f"trainer.steps={steps}"], folder))
    threads = None if jobs == 1 else max(1, (os.cpu_count() or 1) // jobs)

    def train_one(plan) -> None:
        row, budget, steps, argv, folder = plan
        _, summary = run_train(argv, folder, threads)
        primary = summary.get("primary_metric", "fid")
        row[f"{primary}@{budget:g}s"] = summary.get(primary)
        row[f"steps@{budget:g}s"] = steps
        name = f"{row['model']} {row['data']} {row['candidate']}"
        print(f"  {name} {budget:g}s ({steps} steps): {primary} {summary.get(primary)}", file=sys.stderr)

    # longest first, so the pool does not end on one long run while the other workers idle
    planned.sort(key=lambda plan: -plan[1])
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(train_one, planned))
    for row in rows:  # columns in budget order whatever order the runs finished in
        for key in [k for budget in seconds for k in row if k.endswith(f"@{budget:g}s")]:
            row[key] = row.pop(key)
    return rows


def markdown(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = []
        for key in keys:
            value = row.get(key, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"model:data,... (default {DEFAULT_CASES})")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per case; the table shows medians")
    parser.add_argument("--budgets", default="", help="seconds of training: 30,100,600")
    parser.add_argument(
        "--candidate", action="append", default=[], metavar="NAME=OVERRIDES",
        help="with --budgets: a named set of space-separated overrides (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", type=int, default=1, help="with --budgets: runs at once after the quiet calibrations"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--keep", type=Path, help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("overrides", nargs="*", help="gan train overrides for every run")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    cases = parse_cases(args.cases)
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        if args.budgets:
            seconds = [float(part) for part in args.budgets.split(",") if part]
            candidates = {}
            for text in args.candidate or ["default="]:
                name, _, extra = text.partition("=")
                candidates[name or "default"] = extra.split()
            rows = budgets(cases, candidates, seconds, args.overrides, root, args.jobs)
        else:
            rows = table(cases, args.seeds, args.overrides, root)
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
