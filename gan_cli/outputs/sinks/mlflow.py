"""MLflow (logger=mlflow, pip install -e ".[mlflow]"): the run's whole config as params, every
statistic and evaluation result as a metric at its step (under the TensorBoard tags, "/" and all),
the sample grids and summary.json as artifacts, and the checkpoints folder when asked.

- Where: logger.mlflow.tracking_uri, else MLFLOW_TRACKING_URI, else the file store ./mlruns in
  the directory gan was started from (`mlflow ui` there shows it). MLflow 3 keeps its file store
  in maintenance mode and refuses it unless MLFLOW_ALLOW_FILE_STORE is set; gan sets it for a
  file: URI only, so a user's own setting and every database or server URI are untouched.
- One MLflow run per gan run, found again by its run folder (tag gan_cli.run_dir) when the run
  resumes; the jobs of a sweep carry the sweep's name in the tag gan_cli.sweep (MLflow's search:
  tags.`gan_cli.sweep` = '<date>/<time>').
- Calls go through MlflowClient with the run's id, never through mlflow's module-level active
  run, so nothing leaks between runs in one process (tests, sweeps).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli.outputs.sinks import tracking
from gan_cli.outputs.sinks.base import Record, RunInfo, Sink
from gan_cli.registry import LOGGERS

DEFAULT_URI = "file:./mlruns"
RUN_DIR_TAG = "gan_cli.run_dir"
SWEEP_TAG = "gan_cli.sweep"
# MLflow's limits: a param value of at most 6000 characters, at most 100 params or 1000 metrics a call
MAX_PARAM_CHARS = 6000
PARAMS_PER_CALL = 100


@dataclass
class MlflowSettings:
    tracking_uri: str | None = None  # null: MLFLOW_TRACKING_URI, else file:./mlruns
    experiment: str = "gan_cli"
    run_name: str | None = None  # null: the run folder's name
    log_checkpoints: bool = False  # the checkpoints folder as artifacts at the end


def tracking_uri(settings: MlflowSettings) -> str:
    return settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


class MlflowSink(Sink):
    def __init__(self, run: RunInfo, settings: MlflowSettings):
        tracking.require("mlflow", "mlflow", "mlflow")
        from mlflow.tracking import MlflowClient

        self.settings = settings
        self.uri = tracking_uri(settings)
        if self.uri.startswith("file:") or "://" not in self.uri:
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=self.uri)
        self.run_dir = Path(run.run_dir)
        self.resumed = run.resume_step is not None
        self.run_id: str | None = None

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.settings.experiment)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(self.settings.experiment)

    def _earlier_run(self, experiment_id: str) -> str | None:
        """The MLflow run of this run folder, for a resumed run."""
        folder = str(self.run_dir.resolve()).replace("'", "\\'")
        runs = self.client.search_runs([experiment_id], f"tags.`{RUN_DIR_TAG}` = '{folder}'", max_results=1)
        return runs[0].info.run_id if runs else None

    def start(self, title: str, facts: dict[str, Any], hparams: dict[str, Any], start_step: int) -> None:
        experiment_id = self._experiment_id()
        self.run_id = self._earlier_run(experiment_id) if self.resumed else None
        if self.run_id is not None:
            self.client.update_run(self.run_id, status="RUNNING")
            return  # its params are logged, and MLflow refuses to change one
        tags = {RUN_DIR_TAG: str(self.run_dir.resolve())}
        sweep = tracking.sweep_name(self.run_dir)
        if sweep:
            tags[SWEEP_TAG] = sweep
        created = self.client.create_run(
            experiment_id, run_name=self.settings.run_name or self.run_dir.name, tags=tags
        )
        self.run_id = created.info.run_id
        self._log_params(tracking.run_config(self.run_dir) or hparams)

    def _log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        entries = [Param(key, str(value)[:MAX_PARAM_CHARS]) for key, value in params.items()]
        for start in range(0, len(entries), PARAMS_PER_CALL):
            self.client.log_batch(self.run_id, params=entries[start : start + PARAMS_PER_CALL])

    def log(self, record: Record) -> None:
        if self.run_id is None:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(v.tag, float(v.value), now, record.step) for v in record.scalars()]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def image(self, step: int, tag: str, image: Any) -> None:
        if self.run_id is None:
            return
        from gan_cli.outputs.images import pil_image, unit_to_uint8

        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"{tag.replace('/', '_')}_step_{step:07d}.png"
            pil_image(unit_to_uint8(image.detach().cpu())).save(path)
            self.client.log_artifact(self.run_id, str(path), artifact_path="samples")

    def finish(self, summary: dict[str, Any], files: dict[str, str]) -> None:
        if self.run_id is None:
            return
        recorded = self.run_dir / "summary.json"
        if recorded.is_file():
            self.client.log_artifact(self.run_id, str(recorded))
        checkpoints = self.run_dir / "checkpoints"
        if self.settings.log_checkpoints and checkpoints.is_dir():
            self.client.log_artifacts(self.run_id, str(checkpoints), artifact_path="checkpoints")
        self.client.set_terminated(self.run_id, status="FINISHED")
        self.run_id = None

    def close(self) -> None:
        if self.run_id is not None:  # stopped before finish: Ctrl-C, a NaN, an error
            self.client.set_terminated(self.run_id, status="KILLED")
            self.run_id = None


@LOGGERS.register(
    "mlflow",
    schema=MlflowSettings,
    summary='MLflow: params, metrics, grids and summary.json as artifacts (pip install -e ".[mlflow]")',
    default=False,
)
def build(run: RunInfo, **settings: Any) -> MlflowSink:
    return MlflowSink(run, MlflowSettings(**settings))
