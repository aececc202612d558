"""metrics.csv: one row per log interval, one column per key, for spreadsheets and pandas.

Records gain keys as a run goes on (evaluation results appear at eval steps only, a recipe may
return a statistic late), so the header is every key seen so far, in the order each first
appeared. A row with a key the header lacks rewrites the whole file atomically (gan_cli/outputs/
atomic.py) under the wider header, earlier rows getting empty cells there; every other row is
appended and flushed. New keys come a handful of times per run, so the rewrites cost nothing that
shows, and the file is a valid CSV with one header at every moment, even after a kill.

A resumed run drops the rows logged after its checkpoint's step (and a last row a kill cut short)
and appends from there, as metrics.jsonl does; the header keeps the columns it had.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from gan_cli.outputs import atomic
from gan_cli.outputs.sinks.base import Record, RunInfo, Sink
from gan_cli.registry import LOGGERS

FILE_NAME = "metrics.csv"


def cell(value: Any) -> str:
    """A value as its cell: numbers at full precision (repr), None empty, lists and mappings as JSON."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the whole rows of a metrics.csv (a row a kill cut short is left out)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return [], []
    header, body = lines[0], lines[1:]
    if text and not text.endswith("\n") and body:
        body = body[:-1]  # the last row's write did not finish
    rows = [dict(zip(header, line, strict=True)) for line in body if len(line) == len(header)]
    return header, rows


def _step(row: Mapping[str, str]) -> int | None:
    try:
        return int(row.get("step", ""))
    except ValueError:
        return None


def render(header: list[str], rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(key, "") for key in header])
    return buffer.getvalue()


class CsvSink(Sink):
    def __init__(self, run: RunInfo):
        self.path = Path(run.run_dir) / FILE_NAME
        self.header: list[str] = []
        if self.path.is_file():
            self.header, rows = read_rows(self.path)
            if run.resume_step is not None:
                rows = [row for row in rows if (step := _step(row)) is not None and step <= run.resume_step]
            atomic.write_text(self.path, render(self.header, rows) if self.header else "")
        # opened at the first row: a run refused before its first log interval leaves no empty file
        self._file: IO[str] | None = None

    def log(self, record: Record) -> None:
        row = {str(key): cell(value) for key, value in record.flat.items()}
        new = [key for key in row if key not in self.header]
        if new or not self.header:
            self._rewrite(new, row)
            return
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 -- for the run
        csv.writer(self._file, lineterminator="\n").writerow([row.get(key, "") for key in self.header])
        self._file.flush()  # a killed run keeps every interval it logged

    def _rewrite(self, new: list[str], row: dict[str, str]) -> None:
        """A wider header: the file again with the new columns, then this row, renamed into place
        (the open file is the old one after the rename: the next row opens the new one)."""
        self.close()
        _, rows = read_rows(self.path)
        self.header = self.header + new
        atomic.write_text(self.path, render(self.header, [*rows, row]))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@LOGGERS.register(
    "csv",
    summary=f"{FILE_NAME}: one row per log interval, a column per key",
    default=False,  # on when asked for: logger=[jsonl,tensorboard,csv]
    outputs=lambda run_dir: {"csv": str(Path(run_dir) / FILE_NAME)},  # for gan train's list of files
)
def build(run: RunInfo) -> CsvSink:
    return CsvSink(run)
