"""`run`: what `gan eval` does, without Hydra (tests call it directly)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_cli.errors import UserError
from gan_cli.evaluation.evaluator import DEFAULT_NLL_K, Evaluator
from gan_cli.evaluation.metrics import refuse_conditional
from gan_cli.evaluation.results import merge_results, output_path, previous_results, write_results
from gan_cli.registry import METRICS as REGISTRY


@dataclass
class EvalRun:
    path: Path  # the results file written
    report: dict[str, Any]  # this evaluation: its settings, metrics and result rows
    rows: list[dict[str, Any]] = field(default_factory=list)  # this evaluation's result rows
    saved: dict[str, Any] = field(default_factory=dict)  # the file's content: every score kept


def run(cfg: Any, note: Callable[[str], None] | None = None) -> EvalRun:
    """`gan eval` without Hydra: cfg has the keys of gan_cli.commands.config.EvalConfig, already
    checked by validate_eval. Writes the results into the results file (merge_results: earlier
    scores with other settings stay) and returns them."""
    from gan_cli import device as devices
    from gan_cli import sampling
    from gan_cli.models import contract
    from gan_cli.sampling.loading import load_networks

    started = time.perf_counter()
    ckpt = sampling.resolve_checkpoint(cfg.ckpt)
    path = output_path(cfg.out, ckpt)
    if path.parent.exists() and not path.parent.is_dir():
        raise UserError(f"out={cfg.out}: {path.parent} is a file; give a folder or a .json file")
    previous_results(path)  # refused before the evaluation, not after it
    target = devices.resolve(cfg.device)
    loaded = sampling.load_generator(ckpt, target, use_ema=cfg.use_ema)
    data_cfg = dict(loaded.data)
    if cfg.data_root is not None:
        data_cfg["root"] = str(cfg.data_root)
    metrics = None if cfg.metrics is None else [str(m) for m in cfg.metrics]
    conditional = contract.takes_labels(loaded.generator)
    refuse_conditional(metrics or [], conditional)  # before a classifier is trained for nothing

    networks = load_networks(ckpt, target)  # a VAE's encoder: its nll and elbo
    nll_k = _get(cfg, "nll_k", DEFAULT_NLL_K)
    evaluator = Evaluator(
        data_cfg, cfg.features, cfg.split, cfg.n, target, cfg.batch_size, progress=True, note=note,
        nll_k=nll_k,
    )  # fmt: skip
    names = evaluator.resolve_metrics(metrics, conditional, networks)
    values = evaluator.evaluate(loaded.generator, names, seed=cfg.seed, networks=networks)

    when = dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")
    facts = evaluator.describe()
    if any(REGISTRY.get(name).needs == "likelihood" for name in names):
        facts["nll_k"] = evaluator.nll_k
    rows = [
        {
            "metric": key,
            "value": value,
            "extractor": facts["extractor"],
            "n": facts["n"],
            "split": facts["split"],
            "checkpoint": str(ckpt.resolve()),
            "weights": loaded.weights,
            "step": loaded.step,
            "seed": cfg.seed,
            "time": when,
        }
        for key, value in values.items()
    ]
    report = {
        "checkpoint": str(ckpt.resolve()),
        "step": loaded.step,
        "weights": loaded.weights,
        **facts,
        "seed": cfg.seed,
        "time": when,
        "seconds": round(time.perf_counter() - started, 2),
        "metrics": values,
        "results": rows,
    }
    # read again: another evaluation may have added to the file meanwhile
    saved = {**report, "results": merge_results(previous_results(path), rows)}
    write_results(saved, path)
    return EvalRun(path, report, rows, saved)


def _get(cfg: Any, key: str, default: Any) -> Any:
    """cfg.key, or default where the config has no such key (an older eval schema)."""
    value = cfg.get(key, default) if hasattr(cfg, "get") else getattr(cfg, key, default)
    return default if value is None else value
