"""Reading back what the sinks wrote: the console's text, metrics.jsonl, TensorBoard's scalar tags."""

import io
import json
from pathlib import Path

from rich.console import Console


def text_console() -> tuple[Console, io.StringIO]:
    """A console that is not a terminal (as in CI): one printed line per log interval."""
    buffer = io.StringIO()
    return Console(file=buffer, width=300, force_terminal=False, color_system=None), buffer


def jsonl(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def scalar_tags(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tb"))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
