"""The one object the trainer reports to: it hands every number, image and message to the sinks
the `logger` config group picked (gan_cli/outputs/sinks/), plus the console, which is always on.

    reporter = build_reporter(cfg.get("logger"), run_dir, steps, show_progress=cfg.trainer.progress,
                              resume_step=resume_step, context=context)
    reporter.start("gan train", facts, hparams, start_step)
    reporter.log(step, {"step": step, "epoch": 1.5, "d_loss": 0.7, "mmd": 0.01, "eval": {"fid": 31.2}})
    reporter.image(step, "samples", grid)
    reporter.finish(summary, files); reporter.close()

Only rank 0 reports: on any other rank the reporter has no sinks, writes no file and prints
nothing (warnings still reach stderr through logging). Nothing else in the package prints a run's
progress or writes TensorBoard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gan_cli import distributed
from gan_cli.errors import UserError
from gan_cli.outputs import sinks
from gan_cli.outputs.sinks.base import Record, RunInfo, Sink, make_record
from gan_cli.registry import LOGGERS, load_plugins

CONSOLE = "console"


def default_loggers() -> list[str]:
    """What a Reporter made without a `logger` config gets: every sink shipped in
    gan_cli/outputs/sinks/ but the opt-in ones (`default=False`: csv); the config's default,
    configs/train.yaml, picks the same ones."""
    sinks.load()
    return [
        entry.name
        for entry in LOGGERS
        if not entry.facts.get("always")
        and entry.facts.get("default", True)  # shipped but opt-in (csv): only when the config names it
        and entry.origin.startswith(f"{sinks.__name__}.")
    ]


def _selected(loggers: Mapping[str, Any] | Iterable[str] | None) -> dict[str, dict[str, Any]]:
    """name -> settings. The config gives a mapping (cfg.logger: {jsonl: {}, tensorboard: {...}});
    a list of names means each with its defaults; None (a Reporter made without a config), the
    default sinks."""
    if loggers is None:
        return {name: {} for name in default_loggers()}
    if isinstance(loggers, str):
        loggers = [loggers]
    if isinstance(loggers, Mapping):
        return {str(name): dict(settings or {}) for name, settings in loggers.items()}
    return {str(name): {} for name in loggers}


def _checked_settings(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A sink's settings against its schema: a typo'd key is one line naming the valid ones."""
    schema = LOGGERS.get(name).schema
    if schema is None:
        valid: list[str] = []
    else:
        valid = [f.name for f in dataclasses.fields(schema)]
    unknown = [key for key in settings if key not in valid]
    if unknown:
        allowed = ", ".join(valid) if valid else "none"
        raise UserError(f"logger.{name}.{unknown[0]} is not a setting of the {name} logger; valid: {allowed}")
    return settings


class Reporter:
    def __init__(
        self,
        run_dir: Path,
        total_steps: int,
        show_progress: bool = True,
        console: Any = None,
        resume_step: int | None = None,
        loggers: Mapping[str, Any] | Iterable[str] | None = None,
        context: distributed.Context | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.total_steps = total_steps
        self.context = context or distributed.current()
        self.sinks: list[Sink] = []
        self.sink_names: list[str] = []  # what this reporter writes to, console first
        if not self.context.is_main:
            return  # rank > 0: the same calls, nothing written or printed
        sinks.load()
        load_plugins()  # a tracker registered from outside the package
        run = RunInfo(self.run_dir, total_steps, resume_step, self.context)
        selected = _selected(loggers)
        selected.pop(CONSOLE, None)  # always on: how the command talks
        # every sink's settings are checked before the first file is opened
        checked = {name: _checked_settings(name, settings) for name, settings in selected.items()}
        try:
            self.sinks.append(LOGGERS.build(CONSOLE, run, show_progress=show_progress, console=console))
            self.sink_names.append(CONSOLE)
            for name, settings in checked.items():
                self.sinks.append(LOGGERS.build(name, run, **settings))
                self.sink_names.append(name)
        except BaseException:
            self.close()
            raise

    def start(self, title: str, facts: dict[str, Any], hparams: dict[str, Any], start_step: int = 0) -> None:
        for sink in self.sinks:
            sink.start(title, facts, hparams, start_step)

    def log(self, step: int, record: Mapping[str, Any]) -> None:
        """One log interval: statistics by name (any names), bookkeeping (step, epoch, time,
        skipped) and the evaluator's results under "eval" (gan_cli/outputs/sinks/base.py)."""
        if not self.sinks:
            return
        named: Record = make_record(step, record)
        for sink in self.sinks:
            sink.log(named)

    def image(self, step: int, tag: str, image: Any) -> None:
        """image: a (3, H, W) or (1, H, W) tensor in [0, 1]."""
        for sink in self.sinks:
            sink.image(step, tag, image)

    def audio(self, step: int, tag: str, clips: Any, sample_rate: int) -> None:
        """clips: an (N, 1, L) tensor in [-1, 1], for the sinks that play sound."""
        for sink in self.sinks:
            sink.audio(step, tag, clips, sample_rate)

    def note(self, message: str) -> None:
        for sink in self.sinks:
            sink.note(message)

    def finish(self, summary: dict[str, Any], files: dict[str, str]) -> None:
        for sink in self.sinks:
            sink.finish(summary, files)

    def close_progress(self) -> None:
        for sink in self.sinks:
            sink.close_progress()

    def close(self) -> None:
        """Close every sink, even when one fails (each holds a file); the first error is raised."""
        error: BaseException | None = None
        for sink in self.sinks:
            try:
                sink.close()
            except BaseException as failure:  # noqa: BLE001 -- re-raised below, after the others closed
                error = error or failure
        self.sinks = []
        if error is not None:
            raise error


def build_reporter(
    loggers: Mapping[str, Any] | Iterable[str] | None,
    run_dir: Path,
    total_steps: int,
    show_progress: bool = True,
    resume_step: int | None = None,
    context: distributed.Context | None = None,
    console: Any = None,
) -> Reporter:
    """The reporter a run's config asks for. `loggers`: cfg.get("logger") as composed, a mapping of
    sink name to settings (DictConfig or dict) or a list of names; None (what `logger=[]` leaves:
    the group selected nothing) means the console alone. `context`: this process's rank
    (gan_cli.distributed); None reads it from the environment."""
    if loggers is None:
        loggers = {}
    return Reporter(
        run_dir, total_steps, show_progress=show_progress, console=console, resume_step=resume_step,
        loggers=loggers, context=context,
    )  # fmt: skip
