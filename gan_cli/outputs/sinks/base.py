"""What every sink receives: the Sink interface, and one log interval's record with each number
named for showing (console label) and plotting (TensorBoard-style tag).

Statistics are an open set: a recipe may return any names (d_loss, mmd, recon, kl, ...) and each
one is shown, written and plotted without a list to edit. Only today's names have hand-made
labels and tags (KNOWN), because existing TensorBoard runs and scripts read those tags; any other
training statistic is `train/<name>`, any evaluation result `eval/<name>`.

How a record tells evaluation results from training statistics: the trainer passes the
evaluator's results as a mapping under the key "eval" (EVALUATION_KEY). A flat name that a
registered metric lists among its result keys (registry.METRICS, fact `keys`) counts as an
evaluation result too, so a record that merges them flat is plotted as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_cli import distributed

EVALUATION_KEY = "eval"

# Bookkeeping of every record: written to metrics.jsonl, never plotted (epoch leads the console line).
BOOKKEEPING = ("step", "epoch", "time", "skipped")

# Today's names: console label, TensorBoard tag, whether the console line shows it.
KNOWN: dict[str, tuple[str, str, bool]] = {
    "d_loss": ("D loss", "loss/d", True),
    "g_loss": ("G loss", "loss/g", True),
    "d_real": ("D(x)", "d_out/real", True),
    "d_fake": ("D(G(z))", "d_out/fake", True),
    "lr_g": ("lr G", "lr/g", False),  # constant or slowly decayed: TensorBoard shows it better
    "lr_d": ("lr D", "lr/d", False),
    "img_per_s": ("img/s", "speed/img_per_s", True),
    "modes_captured": ("modes", "toy2d/modes_captured", True),
    "high_quality_pct": ("% HQ", "toy2d/high_quality_pct", True),
    "kl_uniform": ("KL(modes||uniform)", "toy2d/kl_uniform", True),
}


def is_number(value: Any) -> bool:
    """A value to plot: int or float, not bool (True is an int to Python, not a statistic)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def evaluation_result_names() -> set[str]:
    """The result keys of every registered metric (fid, kid, precision, ...)."""
    from gan_cli.registry import METRICS

    names: set[str] = set()
    for entry in METRICS:  # filled by gan_cli.evaluation.metrics, which a run that evaluates imported
        names.update(entry.facts.get("keys", ()) or ())
    return names


@dataclass(frozen=True)
class Value:
    """One named entry of a record, as the sinks show it."""

    name: str
    value: Any
    label: str  # on the console
    tag: str | None  # in TensorBoard; None: not plotted (bookkeeping, text)
    shown: bool  # on the console line


@dataclass(frozen=True)
class Record:
    """One log interval. `flat`: every entry by name, evaluation results merged in (the line
    metrics.jsonl gets, as before). `values`: the entries in the record's order, statistics first,
    then evaluation results, bookkeeping excluded."""

    step: int
    flat: dict[str, Any]
    values: tuple[Value, ...]

    @property
    def epoch(self) -> float:
        return float(self.flat.get("epoch", 0) or 0)

    def scalars(self) -> list[Value]:
        return [v for v in self.values if v.tag is not None]


def _value(name: str, value: Any, evaluated: bool) -> Value:
    known = KNOWN.get(name)
    if known is not None:  # today's tags whatever produced them (the evaluator's 2D modes too)
        label, tag, shown = known
        return Value(name, value, label, tag if is_number(value) else None, shown)
    tag = f"{'eval' if evaluated else 'train'}/{name}" if is_number(value) else None
    return Value(name, value, name, tag, True)


def make_record(step: int, record: Mapping[str, Any], evaluated_names: set[str] | None = None) -> Record:
    """The record as the trainer passed it (flat statistics, evaluation results under "eval" or
    flat under their metric names) named for the sinks."""
    nested = record.get(EVALUATION_KEY)
    evaluation = dict(nested) if isinstance(nested, Mapping) else {}
    flat = {str(k): v for k, v in record.items() if k != EVALUATION_KEY or not isinstance(v, Mapping)}
    if evaluated_names is None:
        evaluated_names = evaluation_result_names()
    values = [
        _value(name, value, name in evaluated_names)
        for name, value in flat.items()
        if name not in BOOKKEEPING
    ]
    values += [_value(str(name), value, True) for name, value in evaluation.items()]
    merged = {**flat, **{str(k): v for k, v in evaluation.items()}}
    return Record(step, merged, tuple(values))


@dataclass(frozen=True)
class RunInfo:
    """What every sink is built with (registry LOGGERS: builder(run, **settings))."""

    run_dir: Path
    total_steps: int
    resume_step: int | None = None  # a resumed run: what was logged after this step is redone
    context: distributed.Context = distributed.Context()


class Sink:
    """One destination of what a run reports. Every method is optional: the default does nothing,
    so a tracker implements only what it records."""

    def start(self, title: str, facts: dict[str, Any], hparams: dict[str, Any], start_step: int) -> None:
        pass

    def log(self, record: Record) -> None:
        pass

    def image(self, step: int, tag: str, image: Any) -> None:
        """image: a (3, H, W) or (1, H, W) tensor in [0, 1]."""

    def audio(self, step: int, tag: str, clips: Any, sample_rate: int) -> None:
        """clips: a float (N, 1, L) or (N, L) CPU tensor in [-1, 1] of sounds at sample_rate Hz."""

    def note(self, message: str) -> None:
        pass

    def finish(self, summary: dict[str, Any], files: dict[str, str]) -> None:
        pass

    def close_progress(self) -> None:
        """Stop anything live on the terminal (a progress bar) before a message is printed."""

    def close(self) -> None:
        pass
