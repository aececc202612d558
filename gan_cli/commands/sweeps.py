"""Sweeps: the job folders of `gan train -m ...`, read back into one table.

A sweep folder (outputs/multirun/<date>/<time>/) holds one run folder per job. Everything here is
rebuilt from those folders alone, never from the launching process's memory: jobs may have run in
other processes (joblib) or on other machines (SLURM), and a sweep that was interrupted can still be
summarized. `gan sweeps FOLDER` is the command; the Hydra callback in sweep_callback.py calls the
same functions when a sweep ends.

What a job folder tells:
  .hydra/overrides.yaml    the job's overrides (the columns that vary across jobs)
  .hydra/hydra.yaml        its job number
  summary.json             written by the trainer at the end: the job finished (status ok)
  error.txt                written by `gan train` when the job raised: "<ExceptionType>: <one line>",
                           then the traceback for a bug (status failed, or diverged)
  metrics.jsonl            progress of a job that has no summary.json yet
  checkpoints/best.pt      the checkpoint to pick (else checkpoints/last.pt)

Nothing here imports torch: the table answers in well under a second.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, FAILED, DIVERGED, INCOMPLETE = "ok", "failed", "diverged", "incomplete"
ERROR_FILE = "error.txt"
SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"
DIVERGED_ERROR = "TrainingDiverged"

# Shown in their own columns, in this order; any other number in summary.json gets a column after them.
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
MAX_DIRNAME = 100


# ---- job folder names ---------------------------------------------------------------------------
def _split_override(line: str) -> tuple[str, str | None]:
    key, sep, value = line.partition("=")
    return key.lstrip("+~"), (value if sep else None)


def _readable(value: str) -> str:
    """Optuna's 0.00012520653814999459 as 0.0001252; anything else (integers too) as it is."""
    if len(value) > 8 and re.fullmatch(r"[-+]?(\d*\.\d+|\d+\.?\d*)(e[-+]?\d+)?", value, re.IGNORECASE):
        if not value.lstrip("+-").isdigit():
            return f"{float(value):.4g}"
    return value


def _short_value(value: str) -> str:
    """Filesystem- and shell-safe: [32,64] -> 32_64, a/b -> a_b, long floats to 4 digits."""
    value = re.sub(r"[^A-Za-z0-9.+-]+", "_", _readable(value)).strip("_")
    return value or "_"


def short_keys(keys: list[str]) -> dict[str, str]:
    """optim.lr -> lr, unless another key ends the same way (then both stay whole)."""
    tails = [key.rsplit(".", 1)[-1] for key in keys]
    return {key: tail if tails.count(tail) == 1 else key for key, tail in zip(keys, tails, strict=True)}


def job_dirname(num: Any, overrides: Any, exclude_keys: Any = ()) -> str:
    """`<num>-<key>=<value>,...`, e.g. 0-lr=0.0001,model=mlp: the job's overrides minus the excluded
    keys (the sweep callback excludes the ones every job shares), short keys, sorted."""
    exclude = {str(key) for key in exclude_keys or ()}
    pairs = [_split_override(str(line)) for line in overrides or ()]
    pairs = [(key, value) for key, value in pairs if key not in exclude]
    names = short_keys([key for key, _ in pairs])
    items = sorted(
        f"{_short_value(names[key])}={_short_value(value)}" if value is not None else _short_value(key)
        for key, value in pairs
    )
    name = f"{num}-{','.join(items)}" if items else str(num)
    return name[:MAX_DIRNAME]  # the job number in front keeps a cut name unique


def register_resolver() -> None:
    """`${gan_job_dirname:...}` for hydra.sweep.subdir in configs/train.yaml."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("gan_job_dirname"):
        OmegaConf.register_new_resolver("gan_job_dirname", job_dirname)


# ---- what a job does for its sweep --------------------------------------------------------------
def available_cores() -> int:
    try:
        from joblib import cpu_count  # what joblib itself counts for n_jobs=-1 (cgroup quotas too)

        return int(cpu_count())
    except ImportError:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_job(n_jobs: int, cores: int) -> int:
    """torch threads for each of n_jobs parallel jobs (joblib's n_jobs; -1 = all cores, -2 = all but
    one), so that jobs x threads does not exceed the cores: oversubscribed cores slow every job down."""
    workers = n_jobs if n_jobs > 0 else cores + 1 + n_jobs
    return max(1, cores // max(1, workers))


def local_parallel_jobs(launcher_cfg: Any) -> int | None:
    """n_jobs when the launcher runs jobs in parallel on this machine (joblib), else None."""
    if launcher_cfg is None or "joblib" not in str(launcher_cfg.get("_target_", "")).lower():
        return None
    return int(launcher_cfg.get("n_jobs", -1))


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


def objective(summary: dict[str, Any]) -> float | None:
    """What `gan train` returns to Hydra's sweeper (Optuna optimizes it): the rank value, or the final
    D loss while no primary metric is recorded."""
    value = rank_value(summary)
    if value is None:
        value = _finite(summary.get("d_loss"))
    return value


def record_failure(run_dir: Path, error: BaseException, with_traceback: bool) -> tuple[str, str]:
    """Write error.txt into the job folder: "<ExceptionType>: <one line>", then the traceback when
    asked (a bug). Returns the job's status (failed or diverged) and the one-line message."""
    from gan_cli.commands.errors_report import one_line

    message = one_line(error)
    # by name: gan_cli.training.trainer imports torch, and an error raised before training needs no torch
    diverged = any(cls.__name__ == DIVERGED_ERROR for cls in type(error).__mro__)
    text = f"{DIVERGED_ERROR if diverged else type(error).__name__}: {message}\n"
    if with_traceback:
        text += "\n" + "".join(traceback.format_exception(error))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / ERROR_FILE).write_text(text, encoding="utf-8")
    return (DIVERGED if diverged else FAILED), message


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


def read_job(folder: Path, num: int) -> Job:
    folder = Path(folder)
    overrides = _read_yaml(folder / ".hydra" / "overrides.yaml")
    if not isinstance(overrides, list):
        overrides = []
    pairs = dict(_split_override(str(line)) for line in overrides)
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
    else:  # how far it got: the last logged interval
        record = _last_record(folder / "metrics.jsonl")
        for key, label in (("step", "steps"), ("d_loss", "d_loss"), ("g_loss", "g_loss")):
            if _is_number(record.get(key)):
                job.numbers[label] = record[key]
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


def _swept_in_command(sweep_dir: Path) -> set[str]:
    """Keys given sweep syntax on the command line (multirun.yaml): a column even while only some
    jobs have started, or when every job so far happened to get the same value."""
    saved = _read_yaml(sweep_dir / "multirun.yaml")
    try:
        task = [str(line) for line in saved["hydra"]["overrides"]["task"]]
    except (TypeError, KeyError):
        return set()
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(task)
    except Exception:  # a hand-edited multirun.yaml: fall back to what varies
        return set()
    return {override.key_or_group for override in parsed if override.is_sweep_override()}


def _direction(value: Any) -> str:
    return "max" if str(value or "min").lower().startswith("max") else "min"


def summarize(sweep_dir: Path) -> Sweep:
    """Read every job folder of a sweep and order the jobs: finished ones by the primary metric
    (when summary.json names one), then the rest; without a primary metric, by job number."""
    jobs = read_jobs(sweep_dir)
    keys: list[str] = []
    for job in jobs:
        keys += [key for key in job.overrides if key not in keys]
    declared_swept = _swept_in_command(Path(sweep_dir))
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
        cells += [str(job.num), *[_readable(job.overrides.get(key, "")) for key in sweep.swept], job.status]
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
        console.print(f"every job: {_common_line(sweep)}", style="dim", highlight=False, soft_wrap=True)
    for job in sweep.failed:
        console.print(
            f"[red]job {job.num} {job.status}[/red]: {job.error} "
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


# ---- `gan sweeps FOLDER` ------------------------------------------------------------------------
def _not_a_sweep(folder: Path) -> str:
    try:
        return _why_not_a_sweep(folder)
    except (OSError, ValueError) as error:
        return f"{folder} cannot be read as a sweep folder ({getattr(error, 'strerror', None) or error})"


def _why_not_a_sweep(folder: Path) -> str:
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a sweep folder"
    if (folder / ".hydra").is_dir():
        return f"{folder} is the folder of a single run, not a sweep (sweeps are under outputs/multirun/)"
    markers = [m for depth in ("*/", "*/*/", "*/*/*/") for m in folder.glob(depth + "multirun.yaml")]
    markers += [m for depth in ("*/", "*/*/", "*/*/*/") for m in folder.glob(depth + SUMMARY_CSV)]
    inner = sorted({m.parent for m in markers})
    if inner:
        return f"{folder} is not a sweep folder; it holds {len(inner)} sweep(s), the newest {inner[-1]}"
    runs = job_folders(folder)
    if runs:
        return (
            f"{folder} holds {len(runs)} single run folder(s), not a sweep (a sweep is the folder of one "
            "`gan train -m ...`, under outputs/multirun/<date>/<time>)"
        )
    return (
        f"{folder} is not a sweep folder: no job folders (with .hydra/) in it; "
        "sweeps are under outputs/multirun/<date>/<time>"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="gan sweeps",
        description="The table of a sweep's jobs (`gan train -m ...`), rebuilt from its job folders: "
        "overrides, status, steps, time, speed, losses, metrics and the checkpoint to pick. "
        "Works on a sweep that is still running or was interrupted.",
    )
    parser.add_argument("folder", type=Path, help="the sweep folder, e.g. outputs/multirun/<date>/<time>")
    parser.add_argument(
        "--no-write", action="store_true", help=f"only print; do not refresh {SUMMARY_CSV} and {SUMMARY_MD}"
    )
    args = parser.parse_args(argv)
    folder: Path = args.folder
    if not is_sweep(folder):
        sys.stderr.write(f"gan: error: {_not_a_sweep(folder)}\n")
        raise SystemExit(2)
    sweep = summarize(folder)
    files: tuple[Path, ...] = ()
    if sweep.jobs and not args.no_write:
        try:
            files = write_files(sweep)
        except OSError as error:  # a read-only copy of a sweep can still be shown
            sys.stderr.write(f"gan: note: {SUMMARY_CSV} / {SUMMARY_MD} not written: {error}\n")
    print_summary(sweep, files=files)
