"""The table of a sweep, read back from its job folders alone (no Hydra, no torch): what `gan sweeps`
prints and what the end of `gan train -m ...` writes (summary.csv, summary.md).

A sweep folder (outputs/multirun/<date>/<time>/) holds one run folder per job. Everything here is
rebuilt from those folders, never from the launching process's memory: jobs may have run in other
processes (joblib) or on other machines (SLURM), and an interrupted sweep can still be summarized.

What a job folder tells:
  .hydra/overrides.yaml    the job's overrides (the columns that vary across jobs)
  .hydra/hydra.yaml        its job number
  summary.json             written by the trainer at the end: the job finished (status ok)
  error.txt                written by `gan train` when the job raised: "<ExceptionType>: <one line>",
                           then the traceback for a bug (status failed, or diverged)
  metrics.jsonl            progress of a job that has no summary.json yet
  checkpoints/best.pt      the checkpoint to pick (else checkpoints/last.pt)

The number columns are whatever the jobs recorded: every number in summary.json (or, for a job
still running, in its last metrics.jsonl line) gets a column, so a new statistic (a VAE's recon
and kl) appears without being listed. Today's names keep their place and their short labels.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, FAILED, DIVERGED, INCOMPLETE = "ok", "failed", "diverged", "incomplete"
ERROR_FILE = "error.txt"
SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"
DIVERGED_ERROR = "TrainingDiverged"

# Today's names lead, in this order; every other number a job recorded gets a column after them.
BASE_COLUMNS = ("steps", "wall_time_s", "img_per_s_median", "d_loss", "g_loss")
LABELS = {
    "wall_time_s": "time",
    "img_per_s_median": "img/s",
    "d_loss": "D loss",
    "g_loss": "G loss",
    "modes_captured": "modes",
    "high_quality_pct": "% HQ",
    "kl_uniform": "KL",
}
LABELS.update({f"best_{key}": f"best {label}" for key, label in LABELS.items()})
LABELS.update({"best_step": "best at"})
# In summary.csv only: diagnostics that crowd a console table without ranking anything.
CSV_ONLY = ("epochs", "d_real", "d_fake")


# ---- overrides as the table shows them ---------------------------------------------------------
def split_override(line: str) -> tuple[str, str | None]:
    key, sep, value = line.partition("=")
    return key.lstrip("+~"), (value if sep else None)


def readable(value: str) -> str:
    """Optuna's 0.00012520653814999459 as 0.0001252; anything else (integers too) as it is."""
    if len(value) > 8 and re.fullmatch(r"[-+]?(\d*\.\d+|\d+\.?\d*)(e[-+]?\d+)?", value, re.IGNORECASE):
        if not value.lstrip("+-").isdigit():
            return f"{float(value):.4g}"
    return value


def short_keys(keys: list[str]) -> dict[str, str]:
    """optim.lr -> lr, unless another key ends the same way (then both stay whole)."""
    tails = [key.rsplit(".", 1)[-1] for key in keys]
    return {key: tail if tails.count(tail) == 1 else key for key, tail in zip(keys, tails, strict=True)}


# ---- what ranks a job ----------------------------------------------------------------------------
def _finite(value: Any) -> float | None:
    """value as a finite float, or None (NaN, inf, an integer too large for a float, not a number)."""
    if not _is_number(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def rank_value(summary: dict[str, Any]) -> float | None:
    """The number a sweep ranks this run by: its primary metric (its best value when recorded, which
    is what checkpoints/best.pt holds), or None when summary.json names none."""
    name = summary.get("primary_metric")
    if not isinstance(name, str):
        return None
    for key in (f"best_{name}", name):
        value = _finite(summary.get(key))
        if value is not None:
            return value
    return None


# ---- reading a sweep folder ---------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Job:
    num: int
    folder: Path
    overrides: dict[str, str]
    status: str
    numbers: dict[str, float] = field(default_factory=dict)  # summary.json's numbers (or progress)
    primary_metric: str | None = None
    primary_direction: str | None = None
    error: str = ""
    checkpoint: Path | None = None
    rank: float | None = None
    best: bool = False


def _read_text(path: Path) -> str | None:
    """A file's text, or None when it cannot be read (missing, unreadable, not a file). Files of a
    sweep may be cut short by a kill, hand-edited or crafted: bytes that are not UTF-8 are replaced."""
    if not _is_file(path):  # a FIFO would block the read for ever; a folder is no file
        return None
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a folder that cannot be entered
        return False


def _read_yaml(path: Path) -> Any:
    import yaml

    text = _read_text(path)
    if text is None:
        return None
    # libyaml's parser: the pure-Python one takes seconds on a crafted "[[[[..." before giving up
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


def _job_num(folder: Path) -> int | None:
    hydra_yaml = _read_yaml(folder / ".hydra" / "hydra.yaml")
    try:
        return int(hydra_yaml["hydra"]["job"]["num"])
    except (TypeError, KeyError, ValueError, OverflowError, IndexError):
        match = re.match(r"\d+", folder.name)
        return int(match.group()) if match else None


def _last_record(path: Path) -> dict[str, Any]:
    """The newest line of metrics.jsonl (a job killed mid-write may leave a partial last line)."""
    text = _read_text(path)
    for line in reversed((text or "").splitlines()):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            return record
    return {}


# A running job's metrics.jsonl line, as columns: its step is the summary's steps; the rest of the
# bookkeeping (and the rates and speed of one interval) would read as the finished run's figures.
PROGRESS_RENAMED = {"step": "steps"}
PROGRESS_LEFT_OUT = ("epoch", "time", "skipped", "lr_g", "lr_d", "img_per_s")


def progress_numbers(record: dict[str, Any]) -> dict[str, float]:
    return {
        PROGRESS_RENAMED.get(str(key), str(key)): value
        for key, value in record.items()
        if _is_number(value) and key not in PROGRESS_LEFT_OUT
    }


def read_job(folder: Path, num: int) -> Job:
    folder = Path(folder)
    overrides = _read_yaml(folder / ".hydra" / "overrides.yaml")
    if not isinstance(overrides, list):
        overrides = []
    pairs = dict(split_override(str(line)) for line in overrides)
    job = Job(
        num=num, folder=folder, overrides={k: "" if v is None else v for k, v in pairs.items()}, status=OK
    )
    summary: Any = {}
    text = _read_text(folder / "summary.json")
    try:
        summary = json.loads(text) if text is not None else {}
    except (ValueError, RecursionError):  # cut short by a kill, or not JSON
        summary, job.status = {}, INCOMPLETE
    if text is None:  # not written yet
        job.status = INCOMPLETE
    if not isinstance(summary, dict):
        summary, job.status = {}, INCOMPLETE
    error_text = _read_text(folder / ERROR_FILE) if _is_file(folder / ERROR_FILE) else None
    if error_text is not None:
        first = error_text.splitlines()[:1]
        kind, _, message = (first[0] if first else "").partition(": ")
        job.status = DIVERGED if kind == DIVERGED_ERROR else FAILED
        job.error = message or kind or "failed (error.txt is empty)"
    if summary:
        job.numbers = {str(k): v for k, v in summary.items() if _is_number(v)}
        primary, direction = summary.get("primary_metric"), summary.get("primary_direction")
        job.primary_metric = primary if isinstance(primary, str) else None
        job.primary_direction = direction if isinstance(direction, str) else None
        job.rank = rank_value(summary)
    else:  # how far it got: the statistics of the last logged interval, whatever their names
        job.numbers = progress_numbers(_last_record(folder / "metrics.jsonl"))
    for name in ("best.pt", "last.pt"):
        if _is_file(folder / "checkpoints" / name):
            job.checkpoint = folder / "checkpoints" / name
            break
    return job


def job_folders(folder: Path) -> list[Path]:
    """Subfolders that are run folders (Hydra writes .hydra/ into each job's folder first)."""
    try:
        children = sorted(p for p in Path(folder).iterdir() if p.is_dir())
    except OSError:
        return []
    return [p for p in children if _is_file(p / ".hydra" / "overrides.yaml")]


def _single_run(folder: Path) -> bool:
    """A folder of `gan train` (or sample, eval) run as one job: Hydra records hydra.mode RUN."""
    hydra_yaml = _read_yaml(folder / ".hydra" / "hydra.yaml")
    try:
        return str(hydra_yaml["hydra"]["mode"]).upper() in ("RUN", "RUNMODE.RUN")
    except (TypeError, KeyError, IndexError):
        return False


def is_sweep(folder: Path) -> bool:
    """Hydra writes multirun.yaml when a sweep starts; without it (copied, hand-made or cut short),
    job folders that are not single runs still make one. A day folder of single runs
    (outputs/<date>/) is not a sweep, though each of its folders looks like a job's."""
    if _is_file(Path(folder) / "multirun.yaml"):
        return True
    return any(not _single_run(job) for job in job_folders(folder))


def read_jobs(sweep_dir: Path) -> list[Job]:
    folders = job_folders(sweep_dir)
    numbered = [(_job_num(p), p) for p in folders]
    fallback = max((n for n, _ in numbered if n is not None), default=-1) + 1
    jobs = []
    for num, path in numbered:
        if num is None:
            num, fallback = fallback, fallback + 1
        jobs.append(read_job(path, num))
    return sorted(jobs, key=lambda job: job.num)


# ---- the table ----------------------------------------------------------------------------------
@dataclass
class Sweep:
    folder: Path
    jobs: list[Job]  # in table order
    swept: list[str]  # override keys whose values differ across jobs
    common: dict[str, str]  # overrides every job shares
    primary: str | None
    direction: str  # "min" or "max"
    columns: list[str]  # number columns, in order

    @property
    def failed(self) -> list[Job]:
        return [job for job in self.jobs if job.status in (FAILED, DIVERGED)]

    @property
    def best(self) -> Job | None:
        return next((job for job in self.jobs if job.best), None)

    def order_note(self) -> str:
        if self.primary is None:
            return "in job order (no primary metric in summary.json)"
        better = "lower" if self.direction == "min" else "higher"
        return f"sorted by {self.primary}, {better} is better (each run's best value where recorded); ★ best"


def _direction(value: Any) -> str:
    return "max" if str(value or "min").lower().startswith("max") else "min"


def summarize(sweep_dir: Path, declared_swept: Collection[str] = ()) -> Sweep:
    """Read every job folder of a sweep and order the jobs: finished ones by the primary metric
    (when summary.json names one), then the rest; without a primary metric, by job number.
    declared_swept: override keys the command line gave sweep syntax (a column even while every
    job so far has the same value); the caller parses them, this module knows no Hydra."""
    jobs = read_jobs(sweep_dir)
    keys: list[str] = []
    for job in jobs:
        keys += [key for key in job.overrides if key not in keys]
    swept = [
        key for key in keys if key in declared_swept or len({job.overrides.get(key) for job in jobs}) > 1
    ]
    common = {key: jobs[0].overrides[key] for key in keys if key not in swept}

    declared = [job for job in jobs if job.status == OK and job.primary_metric]
    primary = declared[0].primary_metric if declared else None
    direction = _direction(declared[0].primary_direction) if declared else "min"
    if primary is not None:
        ranked = [j for j in jobs if j.status == OK and j.primary_metric == primary and j.rank is not None]
        sign = 1.0 if direction == "min" else -1.0
        ranked.sort(key=lambda job: (sign * job.rank, job.num))
        rest = [job for job in jobs if job not in ranked]
        rest.sort(key=lambda job: (job.status != OK, job.num))
        jobs = ranked + rest
        if ranked:
            ranked[0].best = True

    # the ranking numbers first, next to the overrides they rank
    columns = ([primary, f"best_{primary}"] if primary is not None else []) + list(BASE_COLUMNS)
    for job in jobs:
        columns += [key for key in job.numbers if key not in columns]
    present = {key for job in jobs for key in job.numbers}
    columns = [key for key in columns if key in present]
    return Sweep(Path(sweep_dir), jobs, swept, common, primary, direction, columns)


def _format(key: str, value: Any) -> str:
    if value is None:
        return ""
    if _finite(value) is None:  # nan, inf, or an integer past what a float holds
        return str(value) if isinstance(value, float) else "(too large)"
    if key in ("steps", "best_step"):
        return f"{int(value):,}"
    if key == "wall_time_s":
        minutes, seconds = divmod(float(value), 60)
        return f"{int(minutes)}m{seconds:04.1f}s" if minutes else f"{seconds:.1f}s"
    if key == "img_per_s_median":
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _relative(path: Path | None, base: Path) -> str:
    if path is None:
        return ""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _display(sweep: Sweep, full_paths: bool) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the console / Markdown table (summary.csv has every column, unformatted).
    full_paths: the checkpoint relative to the sweep folder, else only its file name (the console
    shows the best one's path under the table)."""
    keys = short_keys(sweep.swept)
    numbers = [key for key in sweep.columns if key not in CSV_ONLY]
    marker = [""] if sweep.best is not None else []
    header = [*marker, "job", *[keys[key] for key in sweep.swept], "status"]
    header += [LABELS.get(key, key) for key in numbers] + ["checkpoint" if full_paths else "ckpt"]
    rows = []
    for job in sweep.jobs:
        cells = ["★" if job.best else ""] if marker else []
        cells += [str(job.num), *[readable(job.overrides.get(key, "")) for key in sweep.swept], job.status]
        cells += [_format(key, job.numbers.get(key)) for key in numbers]
        if job.checkpoint is None:
            cells.append("")
        else:
            cells.append(_relative(job.checkpoint, sweep.folder) if full_paths else job.checkpoint.name)
        rows.append(cells)
    return header, rows


def _counts(sweep: Sweep) -> str:
    counts: dict[str, int] = {}
    for job in sweep.jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    parts = [f"{counts[s]} {s}" for s in (OK, FAILED, DIVERGED, INCOMPLETE) if s in counts]
    return f"{len(sweep.jobs)} job{'s' if len(sweep.jobs) != 1 else ''}: " + ", ".join(parts)


def _common_line(sweep: Sweep) -> str:
    return " ".join(f"{key}={value}" for key, value in sweep.common.items())


def to_csv(sweep: Sweep) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["job", *sweep.swept, "status", *sweep.columns, "best", "checkpoint", "folder", "error"])
    for job in sweep.jobs:
        writer.writerow(
            [
                job.num,
                *[job.overrides.get(key, "") for key in sweep.swept],
                job.status,
                *["" if job.numbers.get(key) is None else job.numbers[key] for key in sweep.columns],
                "yes" if job.best else "",
                _relative(job.checkpoint, sweep.folder),
                job.folder.name,
                job.error,
            ]
        )
    return buffer.getvalue()


def to_markdown(sweep: Sweep) -> str:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    header, rows = _display(sweep, full_paths=True)
    lines = [f"# Sweep {sweep.folder.name}", "", f"{_counts(sweep)}; {sweep.order_note()}."]
    if sweep.common:
        lines.append(f"Every job: `{_common_line(sweep)}`.")
    lines += ["", row(header), row(["---"] * len(header)), *[row(cells) for cells in rows]]
    if sweep.failed:
        lines += ["", "Failures:", ""]
        lines += [
            f"- job {job.num} ({job.status}): {job.error} — `{job.folder.name}/{ERROR_FILE}`"
            for job in sweep.failed
        ]
    return "\n".join(lines) + "\n"


def write_files(sweep: Sweep) -> tuple[Path, Path]:
    csv_path, md_path = sweep.folder / SUMMARY_CSV, sweep.folder / SUMMARY_MD
    csv_path.write_text(to_csv(sweep), encoding="utf-8")
    md_path.write_text(to_markdown(sweep), encoding="utf-8")
    return csv_path, md_path


def print_summary(sweep: Sweep, console: Any = None, files: tuple[Path, ...] = ()) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.measure import Measurement
    from rich.table import Table

    console = console or Console()
    if not sweep.jobs:
        console.print(f"sweep {sweep.folder}: no job folders yet", highlight=False)
        return
    header, rows = _display(sweep, full_paths=False)
    # title and caption as lines of their own: a Table wraps them to its own (narrow) width
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    numeric = {LABELS.get(key, key) for key in sweep.columns}
    for name in header:
        table.add_column(name, justify="right" if name in numeric or name == "job" else "left", no_wrap=True)
    styles = {FAILED: "red", DIVERGED: "red", INCOMPLETE: "yellow"}
    for job, cells in zip(sweep.jobs, rows, strict=True):
        table.add_row(*cells, style="bold green" if job.best else styles.get(job.status))
    if not console.is_terminal:  # a log file or a pipe: the whole table rather than cut cells
        natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
        console.width = max(console.width, natural)
    console.print(f"[bold]sweep {sweep.folder}[/bold]  ({_counts(sweep)})", highlight=False, soft_wrap=True)
    console.print(table)
    console.print(sweep.order_note(), style="dim", highlight=False, soft_wrap=True)
    if sweep.common:
        # escaped: an override such as logger=[jsonl,csv] is not rich markup
        console.print(
            f"every job: {escape(_common_line(sweep))}", style="dim", highlight=False, soft_wrap=True
        )
    for job in sweep.failed:
        console.print(
            f"[red]job {job.num} {job.status}[/red]: {escape(str(job.error))} "
            f"({_relative(job.folder, Path.cwd())}/{ERROR_FILE})",
            highlight=False,
            soft_wrap=True,  # one line per job: paths stay whole for copying and grep
        )
    best = sweep.best
    if best is not None and best.checkpoint is not None:
        console.print(
            f"best: job {best.num}  gan sample ckpt={_relative(best.checkpoint, Path.cwd())}",
            highlight=False,
            soft_wrap=True,
        )
    if files:
        written = ", ".join(_relative(p, Path.cwd()) for p in files)
        console.print(f"written: {written}", highlight=False, soft_wrap=True)
