"""The console: how `gan train` talks. A banner of the run's facts, a progress bar on a terminal
(elsewhere one printed line per log interval), notes, and the final table; the same lines go to
train.log through logging (Hydra's job_logging config, configs/hydra/job_logging/gan.yaml, puts the
file handler on the root logger). Always on, on rank 0 only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from gan_cli.outputs.sinks.base import KNOWN, Record, RunInfo, Sink, Value, fmt
from gan_cli.registry import LOGGERS

# train.log's lines have carried this logger's name since before the sinks: kept for grep and scripts
log = logging.getLogger("gan_cli.commands.train")


class ConsoleSink(Sink):
    def __init__(self, run: RunInfo, show_progress: bool = True, console: Any = None):
        from rich.console import Console

        self.run = run
        self.console = console or Console()
        self.show_progress = show_progress
        self._bar = None

    def start(self, title: str, facts: dict[str, Any], hparams: dict[str, Any], start_step: int) -> None:
        from rich.panel import Panel
        from rich.table import Table

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column(overflow="fold")  # paths are folded, never cut short
        for key, value in facts.items():
            grid.add_row(key, fmt(value))
        self.console.print(Panel(grid, title=title, expand=False))
        log.info("run folder %s; %s", self.run.run_dir, ", ".join(f"{k}={v}" for k, v in facts.items()))
        if self.show_progress:
            from gan_cli.outputs.progress import Bar

            # draws only on a terminal; elsewhere (CI, log files) each interval is one printed line
            bar = Bar(self.run.total_steps, "step", console=self.console, completed=start_step, status=True)
            bar.update(status="starting")
            self._bar = bar if bar.drawn else None

    def log(self, record: Record) -> None:
        shown = [f"{value.label} {fmt(value.value)}" for value in _console_order(record)]
        status = f"epoch {record.epoch:.2f}  " + "  ".join(shown)
        log.info("step %d/%d %s", record.step, self.run.total_steps, status)
        if self._bar is not None:
            self._bar.update(completed=record.step, status=status)
        elif self.show_progress:
            self.console.print(
                f"step {record.step}/{self.run.total_steps}  {status}", soft_wrap=True, highlight=False
            )

    def note(self, message: str) -> None:
        log.info(message)
        # one line whatever the terminal's width, and no markup: notes carry paths and commands to copy
        self.console.print(message, soft_wrap=True, highlight=False, markup=False)

    def finish(self, summary: dict[str, Any], files: dict[str, str]) -> None:
        from rich.markup import escape
        from rich.table import Table

        self.close_progress()
        table = Table(title="gan train: done", show_header=True, header_style="bold")
        table.add_column("what")
        table.add_column("value", overflow="fold")
        for key, value in summary.items():
            if isinstance(value, (int, float, str)):
                table.add_row(key, fmt(value))
        self.console.print(table)
        # Plain lines, never wrapped or cut, so the paths can be copied.
        for key, value in files.items():
            self.console.print(f"[bold]{key}[/bold]: {escape(value)}", soft_wrap=True, highlight=False)
        log.info("done: %s", json.dumps(summary))

    def close_progress(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self.close_progress()


def _console_order(record: Record) -> list[Value]:
    """Today's names first, in their familiar order (D loss, G loss, D(x), ...), then every other
    entry in the record's order: a new statistic shows up without being listed anywhere."""
    shown = [value for value in record.values if value.shown]
    known = sorted((v for v in shown if v.name in KNOWN), key=lambda v: list(KNOWN).index(v.name))
    return known + [v for v in shown if v.name not in KNOWN]


SUMMARY = "banner, progress bar (a line per interval off a terminal), notes, final table; train.log"


@LOGGERS.register("console", summary=SUMMARY, always=True)
def build(run: RunInfo, show_progress: bool = True, console: Any = None) -> ConsoleSink:
    return ConsoleSink(run, show_progress=show_progress, console=console)
