"""TensorBoard events in <run>/tb/: every number of each record as a scalar (today's names under
their old tags, loss/d, d_out/real, ...; a new statistic as train/<name>, an evaluation result as
eval/<name>), the sample grids, the first clips of audio samples (<tag>/00, ...), and the run's
hyperparameters for the HParams tab."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli.outputs.sinks.base import Record, RunInfo, Sink
from gan_cli.registry import LOGGERS

FOLDER = "tb"
# Clips of each sample interval written as audio (the run folder's WAV files hold all of them): a
# few to listen to, without an events file that grows by a whole grid's sound every interval.
AUDIO_CLIPS = 8


class TensorBoardSink(Sink):
    def __init__(self, run: RunInfo, flush_secs: int = 120):
        from torch.utils.tensorboard import SummaryWriter

        # purge_step hides TensorBoard events logged after the checkpoint by the interrupted run
        purge = run.resume_step + 1 if run.resume_step is not None else None
        log_dir = str(Path(run.run_dir) / FOLDER)
        self.writer = SummaryWriter(log_dir=log_dir, purge_step=purge, flush_secs=flush_secs)
        self._hparams: dict[str, Any] | None = None

    def start(self, title: str, facts: dict[str, Any], hparams: dict[str, Any], start_step: int) -> None:
        # written with the first record, whose names are the metrics the HParams tab shows
        self._hparams = hparams

    def log(self, record: Record) -> None:
        if self._hparams is not None:
            self._write_hparams(self._hparams, [value.tag for value in record.scalars()])
            self._hparams = None
        for value in record.scalars():
            self.writer.add_scalar(value.tag, value.value, record.step)

    def _write_hparams(self, hparams: dict[str, Any], tags: list[str]) -> None:
        # Into the run's own event file (add_hparams would open a second run folder); TensorBoard's
        # HParams tab reads the metric values from the run's scalars of these tags.
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        clean = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in hparams.items()}
        for summary in hparams_summary(clean, {tag: 0.0 for tag in tags}):
            self.writer.file_writer.add_summary(summary)

    def image(self, step: int, tag: str, image: Any) -> None:
        self.writer.add_image(tag, image, step)

    def audio(self, step: int, tag: str, clips: Any, sample_rate: int) -> None:
        for index, clip in enumerate(clips[:AUDIO_CLIPS]):
            sound = clip.reshape(-1).clamp(-1, 1)  # mono (L,): add_audio writes one channel
            self.writer.add_audio(f"{tag}/{index:02d}", sound, step, sample_rate=int(sample_rate))

    def close(self) -> None:
        if self._hparams is not None:  # no record was logged: the hyperparameters still belong to the run
            self._write_hparams(self._hparams, [])
        self.writer.flush()
        self.writer.close()


@dataclass
class TensorBoardSettings:
    flush_secs: int = 120  # how often events reach the disk (closing the run flushes them all)


@LOGGERS.register(
    "tensorboard", schema=TensorBoardSettings, summary=f"{FOLDER}/: scalars, images, audio, hparams"
)
def build(run: RunInfo, flush_secs: int = 120) -> TensorBoardSink:
    return TensorBoardSink(run, flush_secs=flush_secs)
