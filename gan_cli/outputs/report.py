"""Everything a run shows or records: the rich console, TensorBoard, metrics.jsonl and train.log.

The trainer hands numbers and images to a Reporter; nothing else in the package prints or
writes TensorBoard.
"""

import json
import logging
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

log = logging.getLogger("gan_cli.commands.train")

# metric name -> (console label, TensorBoard tag)
SCALARS = {
    "d_loss": ("D loss", "loss/d"),
    "g_loss": ("G loss", "loss/g"),
    "d_real": ("D(x)", "d_out/real"),
    "d_fake": ("D(G(z))", "d_out/fake"),
    "lr_g": ("lr G", "lr/g"),
    "lr_d": ("lr D", "lr/d"),
    "img_per_s": ("img/s", "speed/img_per_s"),
    "modes_captured": ("modes", "toy2d/modes_captured"),
    "high_quality_pct": ("% HQ", "toy2d/high_quality_pct"),
    "kl_uniform": ("KL(modes||uniform)", "toy2d/kl_uniform"),
}


NOT_PLOTTED = {"step", "epoch", "time", "skipped"}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def _drop_records_after(path: Path, step: int) -> None:
    """A resumed run continues from its checkpoint's step: records logged after it are redone."""
    if not path.is_file():
        return
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    kept = [line for line in lines if json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in kept))


class Reporter:
    def __init__(
        self,
        run_dir: Path,
        total_steps: int,
        show_progress: bool = True,
        console: Console | None = None,
        resume_step: int | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.total_steps = total_steps
        self.console = console or Console()
        self.show_progress = show_progress
        metrics_path = self.run_dir / "metrics.jsonl"
        if resume_step is not None:
            _drop_records_after(metrics_path, resume_step)
        self._metrics_file = open(metrics_path, "a", encoding="utf-8")  # noqa: SIM115
        from torch.utils.tensorboard import SummaryWriter

        # purge_step hides TensorBoard events logged after the checkpoint by the interrupted run
        purge = resume_step + 1 if resume_step is not None else None
        self.tb = SummaryWriter(log_dir=str(self.run_dir / "tb"), purge_step=purge)
        self._progress: Progress | None = None
        self._task = None

    # ---- start ------------------------------------------------------------------------------------
    def start(self, title: str, facts: dict[str, Any], hparams: dict[str, Any], start_step: int = 0) -> None:
        self._start_step = start_step
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column(overflow="fold")  # paths are folded, never cut short
        for key, value in facts.items():
            grid.add_row(key, _fmt(value))
        self.console.print(Panel(grid, title=title, expand=False))
        log.info("run folder %s; %s", self.run_dir, ", ".join(f"{k}={v}" for k, v in facts.items()))
        self._write_hparams(hparams)
        # A bar only on a terminal; elsewhere (CI, log files) each interval is one printed line.
        if self.show_progress and self.console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]step {task.completed}/{task.total}"),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                auto_refresh=False,  # refreshed at log intervals: no thread waking up mid-step
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "train", total=self.total_steps, completed=self._start_step, status="starting"
            )
            self._progress.refresh()

    def _write_hparams(self, hparams: dict[str, Any]) -> None:
        # Written into the run's own event file (add_hparams would open a second run folder);
        # TensorBoard's HParams tab reads the metric values from the run's scalars of these tags.
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        clean = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in hparams.items()}
        metrics = {SCALARS[name][1]: 0.0 for name in ("d_loss", "g_loss", "d_real", "d_fake")}
        for summary in hparams_summary(clean, metrics):
            self.tb.file_writer.add_summary(summary)

    # ---- during the run ---------------------------------------------------------------------------
    def log(self, step: int, record: dict[str, Any]) -> None:
        """One log interval: console, train.log, metrics.jsonl and TensorBoard scalars."""
        self._metrics_file.write(json.dumps(record) + "\n")
        self._metrics_file.flush()
        for name, value in record.items():
            if name in SCALARS and isinstance(value, (int, float)):
                self.tb.add_scalar(SCALARS[name][1], value, step)
            elif name not in NOT_PLOTTED and isinstance(value, (int, float)):
                self.tb.add_scalar(f"eval/{name}", value, step)  # metrics of gan_cli.evaluation
        shown = [
            f"{SCALARS[k][0]} {_fmt(record[k])}" for k in SCALARS if k in record and not k.startswith("lr")
        ]
        shown += [f"{k} {_fmt(v)}" for k, v in record.items() if k not in SCALARS and k not in NOT_PLOTTED]
        status = f"epoch {record.get('epoch', 0):.2f}  " + "  ".join(shown)
        log.info("step %d/%d %s", step, self.total_steps, status)
        if self._progress is not None:
            self._progress.update(self._task, completed=step, status=status)
            self._progress.refresh()
        elif self.show_progress:
            self.console.print(f"step {step}/{self.total_steps}  {status}", soft_wrap=True, highlight=False)

    def image(self, step: int, tag: str, image) -> None:
        """image: a (3, H, W) or (1, H, W) tensor in [0, 1]."""
        self.tb.add_image(tag, image, step)

    def note(self, message: str) -> None:
        log.info(message)
        # one line whatever the terminal's width, and no markup: notes carry paths and commands to copy
        self.console.print(message, soft_wrap=True, highlight=False, markup=False)

    # ---- end --------------------------------------------------------------------------------------
    def finish(self, summary: dict[str, Any], files: dict[str, str]) -> None:
        self.close_progress()
        table = Table(title="gan train: done", show_header=True, header_style="bold")
        table.add_column("what")
        table.add_column("value", overflow="fold")
        for key, value in summary.items():
            if isinstance(value, (int, float, str)):
                table.add_row(key, _fmt(value))
        self.console.print(table)
        # Plain lines, never wrapped or cut, so the paths can be copied.
        for key, value in files.items():
            self.console.print(f"[bold]{key}[/bold]: {escape(value)}", soft_wrap=True, highlight=False)
        log.info("done: %s", json.dumps(summary))

    def close_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def close(self) -> None:
        self.close_progress()
        self.tb.flush()
        self.tb.close()
        self._metrics_file.close()
