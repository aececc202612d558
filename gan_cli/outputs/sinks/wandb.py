"""Weights & Biases (logger=wandb, pip install -e ".[wandb]"): the run's whole config, every
statistic and evaluation result at its step (under the TensorBoard tags: loss/d, eval/fid, ...),
the sample grids as images, summary.json as the run summary, and optionally the checkpoints as an
artifact.

- The W&B run lives under the run folder (<run>/wandb/), so WANDB_MODE=offline keeps a run that
  `wandb sync <run>/wandb/offline-run-*` uploads later.
- Its id is derived from the run folder: a resumed run (resume=) continues the same W&B run, and
  steps it redoes after its checkpoint are ones W&B already has (it keeps the first values).
- The jobs of a sweep form one W&B group, named after the sweep folder (<date>/<time>).
- Online without credentials is one line before any work: W&B would otherwise stop to ask for
  an API key on the terminal, or fail after the first step.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError
from gan_cli.outputs.sinks import tracking
from gan_cli.outputs.sinks.base import Record, RunInfo, Sink
from gan_cli.registry import LOGGERS

FOLDER = "wandb"  # under the run folder
MODES = ("online", "offline", "disabled")


@dataclass
class WandbSettings:
    project: str = "gan_cli"
    entity: str | None = None  # null: the account's default team
    run_name: str | None = None  # null: the run folder's name
    tags: list[str] = field(default_factory=list)
    group: str | None = None  # null: the sweep folder for the jobs of a sweep, none for one run
    mode: str | None = None  # online | offline | disabled; null: WANDB_MODE, else online
    log_checkpoints: bool = False  # upload checkpoints/ as a model artifact at the end


def run_id(run_dir: Path) -> str:
    """A stable W&B run id for a run folder (W&B ids: letters and digits, at most 64)."""
    return hashlib.sha1(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]


def _mode(settings: WandbSettings) -> str:
    mode = settings.mode or os.environ.get("WANDB_MODE") or "online"
    mode = {"dryrun": "offline", "run": "online"}.get(mode, mode)  # W&B's older names
    if mode not in MODES:
        raise UserError(f"logger.wandb.mode={mode} is not a W&B mode; valid: {', '.join(MODES)}")
    return mode


def _logged_in(wandb: Any) -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return bool(wandb.Api().api_key)
    except Exception:  # noqa: BLE001 -- any failure to find a key means not logged in
        return False


class WandbSink(Sink):
    def __init__(self, run: RunInfo, settings: WandbSettings):
        self.wandb = tracking.require("wandb", "wandb", "wandb")
        self.settings = settings
        self.mode = _mode(settings)
        if self.mode == "online" and not _logged_in(self.wandb):
            raise UserError(
                "logger=wandb is online but W&B has no API key: run `wandb login`, set WANDB_API_KEY, "
                "or train offline with WANDB_MODE=offline (logger.wandb.mode=offline)"
            )
        self.run_dir = Path(run.run_dir)
        self.resumed = run.resume_step is not None
        self.run: Any = None

    def start(self, title: str, facts: dict[str, Any], hparams: dict[str, Any], start_step: int) -> None:
        s = self.settings
        config = {**tracking.run_config(self.run_dir), **{f"hparams/{k}": v for k, v in hparams.items()}}
        self.run = self.wandb.init(
            project=s.project,
            entity=s.entity,
            name=s.run_name or self.run_dir.name,
            group=s.group or tracking.sweep_name(self.run_dir),
            tags=list(s.tags) or None,
            config=config,
            dir=str(self.run_dir),
            id=run_id(self.run_dir),
            resume="allow",
            mode=self.mode,
            settings=self.wandb.Settings(console="off", silent=True),
        )

    def log(self, record: Record) -> None:
        if self.run is None:
            return
        scalars = {value.tag: value.value for value in record.scalars()}
        if scalars:
            self.run.log(scalars, step=record.step)

    def image(self, step: int, tag: str, image: Any) -> None:
        if self.run is not None:
            self.run.log({tag: self.wandb.Image(tracking.picture(image))}, step=step)

    def finish(self, summary: dict[str, Any], files: dict[str, str]) -> None:
        if self.run is None:
            return
        recorded = self.run_dir / "summary.json"
        if recorded.is_file():
            summary = {**summary, **json.loads(recorded.read_text())}
        self.run.summary.update({k: v for k, v in summary.items() if isinstance(v, (int, float, str, bool))})
        checkpoints = self.run_dir / "checkpoints"
        if self.settings.log_checkpoints and checkpoints.is_dir():
            artifact = self.wandb.Artifact(f"model-{run_id(self.run_dir)}", type="model")
            artifact.add_dir(str(checkpoints))
            self.run.log_artifact(artifact)

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None


@LOGGERS.register(
    "wandb",
    schema=WandbSettings,
    summary='Weights & Biases: config, statistics, grids, summary (pip install -e ".[wandb]")',
    default=False,
    outputs=lambda run_dir: {"wandb": str(Path(run_dir) / FOLDER)},
)
def build(run: RunInfo, **settings: Any) -> WandbSink:
    return WandbSink(run, WandbSettings(**settings))
