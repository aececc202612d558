"""`gan report`: one self-contained report.html of a run folder or a sweep folder, for a person
to read (no network needed: plots as inline SVG, grids as inline PNG, a few lines of script).

    kind(folder)            "run" or "sweep", else a UserError saying what the folder is
    run.report(folder)      the page of a run: curves, grids per sample step, summary, config
    sweep.report(sweep)     the page of a sweep: ranked table, metric vs each swept value, best grid
    write(text, path)       written atomically

No torch and no Hydra here: the command (gan_cli/commands/report.py) reads the sweep's table with
gan_cli.commands.sweeps.summarize. The plots need matplotlib, the `report` extra.
"""

from __future__ import annotations

from pathlib import Path

from gan_cli.errors import UserError
from gan_cli.outputs import atomic
from gan_cli.outputs.sweep_table import is_sweep, job_folders

FILE_NAME = "report.html"
USAGE = (
    "gan report takes a run folder (outputs/<date>/<time>-...) or a sweep folder "
    "(outputs/multirun/<date>/<time>)"
)


def kind(folder: Path) -> str:
    from gan_cli.report.run import is_run

    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"{folder} does not exist; {USAGE}")
    if not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; {USAGE}")
    if is_run(folder):
        return "run"
    if is_sweep(folder):
        return "sweep"
    if (folder / ".hydra").is_dir():
        raise UserError(
            f"{folder} holds no metrics.jsonl or summary.json: not a training run, or one stopped "
            f"before its first log interval; {USAGE}"
        )
    inner = sorted(
        {marker.parent for depth in ("*/", "*/*/") for marker in folder.glob(depth + "multirun.yaml")}
    )
    if inner:
        raise UserError(
            f"{folder} is not one sweep; it holds {len(inner)} sweep(s): "
            f"report one, e.g. gan report {inner[-1]}"
        )
    runs = job_folders(folder)
    if runs:
        raise UserError(
            f"{folder} holds {len(runs)} single run folder(s), not one run or a sweep; "
            f"report one of them, e.g. gan report {runs[-1]}"
        )
    raise UserError(f"{folder} is neither a run folder (.hydra/, metrics.jsonl) nor a sweep folder; {USAGE}")


def write(text: str, path: Path) -> Path:
    path = Path(path)
    try:
        return atomic.write_text(path, text)
    except OSError as error:
        raise UserError(f"could not write {path}: {error.strerror or error}") from None
