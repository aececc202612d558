"""The results file (eval.json): where it goes, and how a new evaluation adds to it.

It accumulates every score computed for its checkpoints: a new result replaces only the one it
measures again (RESULT_KEY), so last.pt and best.pt can share checkpoints/eval.json and an
evaluation with other settings keeps the earlier ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError

# What makes two scores the same measurement: a newer result with this key replaces the older one,
# results with another key are kept. Weights (G or EMA) count: they are different generators. The
# seed does not: another seed measures the same thing again.
RESULT_KEY = ("checkpoint", "weights", "metric", "extractor", "n", "split")


def output_path(out: str | None, checkpoint: Path) -> Path:
    """out=<name>.json is the file; any other out= is a folder (eval.json in it); none: beside the
    checkpoint."""
    if out is None:
        return checkpoint.parent / "eval.json"
    path = Path(os.path.expanduser(str(out)))
    if path.suffix.lower() == ".json" and not path.is_dir():
        return path
    return path / "eval.json"


def merge_results(previous: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> list:
    """previous rows minus those that rows replace, then rows."""

    def key(row: Mapping[str, Any]) -> tuple:
        return tuple(json.dumps(row.get(name), sort_keys=True) for name in RESULT_KEY)

    replaced = {key(row) for row in rows}
    return [dict(row) for row in previous if key(row) not in replaced] + [dict(row) for row in rows]


def previous_results(path: Path) -> list[dict[str, Any]]:
    """The result rows already in the results file, or [] when there is none. A file that is not
    one (out= naming some other JSON) is refused rather than overwritten."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UserError(f"cannot read {path} to add to it ({reason})") from None
    try:
        saved = json.loads(text)
    except (ValueError, RecursionError):
        saved = None
    rows = saved.get("results") if isinstance(saved, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UserError(
            f"{path} exists and is not a gan eval results file; move it away or give another out="
        )
    return rows


def write_results(report: dict[str, Any], path: Path) -> None:
    """Atomically: a kill or a full disk leaves the previous file whole (it holds earlier scores)."""
    from gan_cli.outputs import atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps(report, indent=2) + "\n")
    except OSError as error:
        raise UserError(f"cannot write {path} ({error.strerror or error})") from None
