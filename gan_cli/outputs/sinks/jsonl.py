"""metrics.jsonl: one JSON object per log interval, every entry of the record by name (evaluation
results merged in), for scripts, `gan sweeps` (a job's progress) and plots of one's own."""

from __future__ import annotations

import json
from pathlib import Path

from gan_cli.outputs.sinks.base import Record, RunInfo, Sink
from gan_cli.registry import LOGGERS

FILE_NAME = "metrics.jsonl"


def drop_records_after(path: Path, step: int) -> None:
    """A resumed run continues from its checkpoint's step: records logged after it are redone."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines()
    kept = [line for line in lines if (line_step := _step_of(line)) is not None and line_step <= step]
    path.write_text("".join(line + "\n" for line in kept))


def _step_of(line: str) -> int | None:
    """The line's step; None for a blank line or one a kill cut short (it is not kept)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    step = record.get("step") if isinstance(record, dict) else None
    return step if isinstance(step, int) else None


class JsonlSink(Sink):
    def __init__(self, run: RunInfo):
        path = Path(run.run_dir) / FILE_NAME
        if run.resume_step is not None:
            drop_records_after(path, run.resume_step)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 -- open for the whole run

    def log(self, record: Record) -> None:
        self._file.write(json.dumps(record.flat) + "\n")
        self._file.flush()  # a killed run keeps every interval it logged

    def close(self) -> None:
        self._file.close()


@LOGGERS.register("jsonl", summary=f"{FILE_NAME}: one JSON line per log interval")
def build(run: RunInfo) -> JsonlSink:
    return JsonlSink(run)
