"""The training loop every recipe shares: steps, log intervals, sample views, checkpoints (last,
periodic, best.pt), the EMA of the generator, evaluation, stop signals and resume. What one step
does is the recipe's (gan_cli.training.recipes); the trainer never names a network but
"generator".

Hot-path rule (DESIGN.md): the recipe's statistics stay on the device, summed there, and are read
once per log interval (RunningStats).
"""

import contextlib
import functools
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gan_cli import distributed
from gan_cli.data.kinds import kind_named
from gan_cli.errors import UserError
from gan_cli.models import contract
from gan_cli.outputs import checkpoint, plots
from gan_cli.training.ema import EMAGenerator
from gan_cli.training.optim import scheduled_lr
from gan_cli.training.recipes.base import GENERATOR, Recipe

# trainer.on_nan=skip tolerates a few bad batches, not a model that has stopped learning: more than
# this share of G's or of D's updates dropped in one log interval ends the run.
MAX_SKIPPED_SHARE = 0.5
# After Ctrl-C/SIGTERM the current generator step still finishes (so last.pt is a whole step that
# resumes exactly) unless its remaining D updates, at the pace so far, would take longer than this.
STOP_WAIT_S = 10.0


class TrainingDiverged(UserError):
    """A loss became NaN or inf; the last good checkpoint is kept."""


class TrainingStopped(Exception):
    """Ctrl-C or SIGTERM at `step` (steps done). `saved_step`: the step of last.pt (None: none yet).
    `mid_step`: a step under way was dropped, not saved half done."""

    def __init__(self, signum: int, step: int, saved_step: int | None, mid_step: bool = False):
        name = signal.Signals(signum).name
        if saved_step == step and not mid_step:
            message = f"stopped by {name} at step {step}; checkpoint written"
        else:
            kept = "no checkpoint was written" if saved_step is None else f"last.pt is from step {saved_step}"
            where = ", in the middle of the next step" if mid_step else ""
            message = f"stopped by {name} at step {step}{where}; {kept}"
        super().__init__(message)
        self.signum, self.step, self.saved_step, self.mid_step = signum, step, saved_step, mid_step


class _StopNow(BaseException):
    """A second signal, or a step too long to wait for: raised out of the step, so nothing half
    done is saved (BaseException: no `except Exception` on the way may swallow it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class StopRequests:
    """The signals received, the first one's time, and whether a step may still finish."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.first_at = 0.0

    def __bool__(self) -> bool:
        return bool(self.signals)

    def cut_short(self, done: int, total: int, step_started: float) -> bool:
        """True when `total - done` more D updates, at the pace of the `done` so far, would end
        later than STOP_WAIT_S after the first signal."""
        now = time.perf_counter()
        pace = (now - step_started) / done
        return now + (total - done) * pace > self.first_at + STOP_WAIT_S


@contextlib.contextmanager
def stop_requests():
    """Turn SIGINT/SIGTERM into a flag the loop reads between steps and D updates; a second
    signal stops at once."""
    received = StopRequests()
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum, frame):
        if received:
            raise _StopNow(signum)
        received.first_at = time.perf_counter()
        received.signals.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class Evaluation:
    """Metrics during training: every `every` steps, `evaluator.evaluate(G, metrics, seed)`;
    checkpoints/best.pt follows `primary` ("min" or "max" is better, per `direction`), and on a
    tie the `tie_breaks` in order ((key, direction) pairs: evaluation.metrics.ranking)."""

    evaluator: Any
    every: int
    metrics: list[str] | None
    primary: str
    direction: str
    seed: int = 0
    tie_breaks: list[tuple[str, str]] = field(default_factory=list)

    def better(self, results: Mapping[str, float], best: Mapping[str, float] | None) -> bool:
        """Whether `results` beat `best` (the results best.pt was saved at; None: no best yet)."""
        for position, (key, direction) in enumerate([(self.primary, self.direction), *self.tie_breaks]):
            value = results.get(key, math.nan)
            held = math.nan if best is None else best.get(key, math.nan)
            if math.isnan(held) or math.isnan(value):
                # no best yet (or one without this key) loses to any number; NaN never wins
                return not math.isnan(value) and (position == 0 or math.isnan(held))
            if value != held:
                return value < held if direction == "min" else value > held
        return False


def total_steps(cfg, num_examples: int, examples_per_step: int | None = None) -> int:
    """trainer.epochs (passes over the data) wins over trainer.steps when set. examples_per_step:
    what one step of the recipe consumes (the GAN: d_steps x batch_size real images per G step)."""
    if cfg.epochs is None:
        return int(cfg.steps)
    per_step = examples_per_step or cfg.batch_size * cfg.d_steps
    return max(1, math.ceil(cfg.epochs * num_examples / per_step))


# distributed.Context.mean: named device tensors -> their averages over the ranks
MeanOverRanks = Callable[[dict[str, Tensor]], Mapping[str, Any]]


class RunningStats:
    """The sums of a recipe's named statistics over the steps of one log interval, on the device:
    one stacked add per step, one host read per interval. The names are whatever the recipe
    returns (an open set); a name that appears later gets a zero sum from then on."""

    def __init__(self, device: torch.device):
        self.device = device
        self.names: tuple[str, ...] = ()
        self.sums = torch.zeros(0, device=device)
        self.steps = 0

    def add(self, stats: dict[str, Tensor]) -> None:
        if tuple(stats) != self.names:
            self._follow(stats)
        self.sums += torch.stack([stats[name].detach() for name in self.names])
        self.steps += 1

    def _follow(self, stats: dict[str, Tensor]) -> None:
        new = [name for name in stats if name not in self.names]
        if new:
            grown = torch.zeros(len(new), device=self.device, dtype=self.sums.dtype)
            self.names, self.sums = (*self.names, *new), torch.cat((self.sums, grown))
        missing = [name for name in self.names if name not in stats]
        if missing:
            raise ValueError(f"the recipe's step returned no {', '.join(missing)} this time")

    def means(self, over_ranks: MeanOverRanks | None = None) -> dict[str, float]:
        """The interval's means by name (the one host sync); empty when no step counted.
        over_ranks: the distributed context's `mean`, which averages the sums over the ranks on the
        device just before the read (every rank then logs the same numbers; one process: unchanged)."""
        if self.steps == 0:
            return {}
        sums = self.sums
        if over_ranks is not None and self.names:
            averaged = over_ranks(dict(zip(self.names, sums.unbind(), strict=True)))
            sums = torch.stack([torch.as_tensor(averaged[name], device=sums.device) for name in self.names])
        return dict(zip(self.names, (sums / self.steps).tolist(), strict=True))

    def reset(self) -> None:
        self.sums.zero_()
        self.steps = 0

    def state_dict(self) -> dict[str, Any]:
        return {"sums": {name: self.sums[i].cpu() for i, name in enumerate(self.names)}, "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sums = state["sums"]
        self.names = tuple(sums)
        values = [torch.as_tensor(v, dtype=torch.float32).reshape(()) for v in sums.values()]
        self.sums = torch.stack(values).to(self.device) if values else torch.zeros(0, device=self.device)
        self.steps = int(state["steps"])


class Trainer:
    def __init__(
        self,
        recipe: Recipe,
        batches,
        cfg,
        run_dir: Path,
        reporter: Any,
        device: torch.device,
        seed: int,
        config: dict[str, Any],
        overrides: list[str] | None = None,
        evaluation: Evaluation | None = None,
        context: Any = None,
    ):
        """cfg: the trainer config (cfg.trainer); config: the whole resolved config, for
        checkpoints. context: the distributed context (rank, world size), when there is one."""
        self.recipe, self.batches, self.cfg = recipe, batches, cfg
        self.run_dir, self.reporter, self.device, self.config = Path(run_dir), reporter, device, config
        self.context = context
        # Only the main rank writes files (checkpoints, sample PNGs, summary.json); the others train
        # alike and keep the same in-memory state (best, last saved step), so their messages agree.
        self.writes_files = context is None or context.is_main
        self.kind = kind_named(batches.kind)
        self.overrides = list(overrides or [])  # the command line, so `resume=` can compose it again
        self.total_steps = total_steps(cfg, batches.num_examples, recipe.examples_per_step)
        self.step = 0
        self.evaluation = self._with_network_metrics(evaluation)
        # {"metric", "value", "step", "ranked": primary and tie-break values} of best.pt
        self.best: dict[str, Any] | None = None
        self.last_eval: dict[str, float] = {}
        self._skip_nonfinite = cfg.get("on_nan", "stop") == "skip"
        self.skipped = 0  # updates dropped by trainer.on_nan=skip
        self._skipped_interval = {
            name: 0 for name in recipe.updates_per_step
        }  # the same, in this log interval
        self._stop = StopRequests()  # replaced by fit's live one
        self._in_step = False  # a stop now would drop a step under way
        self._step_started = 0.0
        self._saved_step: int | None = None  # the step of last.pt
        recipe.attach_stop(self._stop_point)
        self._scheduled = any(schedule != "constant" for schedule, _ in recipe.lr_plan.values())
        generator = recipe.generator
        decay = cfg.ema.decay if "ema" in cfg else 0.0
        self.ema = EMAGenerator(generator, decay, cfg.ema.warmup) if decay > 0 else None
        self.switches = recipe.context.switches
        noise = torch.Generator().manual_seed(seed)
        # One fixed noise for every view, so the views of a run are comparable frame to frame. A kind
        # that shows another count (2D scatters: many points) draws its own from the same stream.
        # A conditional generator's grid has one row per class (contract.class_rows): fixed labels
        # beside the fixed noise, derived from the config, so a resumed run shows the same rows.
        self.fixed_labels, self.grid_columns = self._grid_labels(generator, cfg.n_samples, device)
        count = cfg.n_samples if self.fixed_labels is None else len(self.fixed_labels)
        self.fixed_noise = contract.sample_latent(generator, count, noise, device)
        shown = self.kind.shown(cfg.n_samples)
        self._own_view_noise = (
            contract.sample_latent(generator, shown, noise, device) if shown != cfg.n_samples else None
        )
        self._own_view_labels = (
            self._grid_labels(generator, shown, device)[0] if self._own_view_noise is not None else None
        )
        self._interval_keys: tuple[str, ...] = ()  # what the kind's interval metrics returned
        self.history: list[dict[str, Any]] = []
        self.stats = RunningStats(device)
        self._interval_start = time.perf_counter()
        self._interval_io = 0.0
        if self.writes_files:
            for folder in ("samples", "checkpoints"):
                (self.run_dir / folder).mkdir(parents=True, exist_ok=True)
            # partial files left by a run killed mid-write
            for stale in checkpoint.stale_partials(self.run_dir / "checkpoints"):
                stale.unlink(missing_ok=True)
        # periodic checkpoints already there (a resumed run) count towards keep_checkpoints
        self._periodic: list[Path] = sorted((self.run_dir / "checkpoints").glob("step_*.pt"))

    @property
    def networks(self) -> dict[str, torch.nn.Module]:
        return self.recipe.networks

    @property
    def other_networks(self) -> dict[str, torch.nn.Module]:
        """The recipe's networks but the generator, by name: metrics that need more than the
        generator read them (a VAE's likelihood needs its "encoder")."""
        return {name: net for name, net in self.recipe.networks.items() if name != GENERATOR}

    def _with_network_metrics(self, evaluation: Evaluation | None) -> Evaluation | None:
        """Default metrics (trainer.eval_metrics=null) also hold those the recipe's other networks
        make possible (a VAE's nll and elbo, first, so best.pt follows nll unless
        trainer.eval_primary says otherwise); the evaluator says which (network_metrics)."""
        if evaluation is None or self.cfg.get("eval_metrics") is not None:
            return evaluation
        extra = [
            name
            for name in evaluation.evaluator.network_metrics(self.other_networks)
            if name not in (evaluation.metrics or [])
        ]
        if not extra:
            return evaluation
        from gan_cli.evaluation import metrics as registered

        evaluation.metrics = [*extra, *(evaluation.metrics or [])]
        if self.cfg.get("eval_primary") is None:
            evaluation.primary = registered.first_key(evaluation.metrics[0])
            evaluation.direction = registered.primary_metric_direction(evaluation.primary)
        return evaluation

    @property
    def view_noise(self) -> Tensor:
        return self.fixed_noise if self._own_view_noise is None else self._own_view_noise

    @property
    def view_labels(self) -> Tensor | None:
        return self.fixed_labels if self._own_view_noise is None else self._own_view_labels

    @staticmethod
    def _grid_labels(generator, n: int, device) -> tuple[Tensor | None, int | None]:
        """(labels, images per row) of a class-row grid of about n images; (None, None) for an
        unconditional generator."""
        classes = contract.n_classes(generator)
        if classes == 0:
            return None, None
        labels, per_row = contract.class_rows(n, classes)
        return torch.tensor(labels, dtype=torch.int64, device=device), per_row

    # ---- one step ------------------------------------------------------------------------------------
    def train_step(self) -> None:
        self._step_started = time.perf_counter()
        self._in_step = True
        stats = self.recipe.step(self.batches)
        if self.ema is not None:
            self.ema.update()
        if self.recipe.skipped:
            self._count_skipped()
        if stats is not None:
            self.stats.add(stats)
        self.step += 1
        self._in_step = False
        if self._scheduled:
            self.apply_learning_rates()

    def _agreed(self, stop: StopRequests) -> int:
        """Several processes stop after the same step: a signal one rank got (torchrun forwards
        SIGTERM to each; Ctrl-C reaches them at slightly different moments) stops them all, agreed
        on the host once per step through the gloo group."""
        mine = stop.signals[0] if stop else 0
        if self.world_size == 1:
            return mine
        # Only the agreed number decides: a signal landing during the all_reduce below sets this
        # rank's flag after its value was sent, and the ranks stop together one step later.
        signum = distributed.highest(mine)
        if signum and not stop:
            stop.first_at = time.perf_counter()
            stop.signals.append(signum)
        return signum

    @property
    def world_size(self) -> int:
        return self.context.world_size if self.context is not None else 1

    def _stop_point(self, done: int, total: int) -> None:
        """The recipe's may_stop: after a signal, leave the step when the rest of it would end
        later than STOP_WAIT_S after the signal. Not with several processes: the others would wait
        in the step's next all_reduce, so every rank finishes the step and they stop together."""
        if self.world_size > 1:
            return
        if self._stop and self._stop.cut_short(done, total, self._step_started):
            raise _StopNow(self._stop.signals[0])

    def _count_skipped(self) -> None:
        for name, dropped in self.recipe.skipped.items():
            self.skipped += dropped
            self._skipped_interval[name] = self._skipped_interval.get(name, 0) + dropped
        self.recipe.skipped.clear()

    def apply_learning_rates(self) -> None:
        """Set each optimizer's rate for the current step from its schedule (optim.schedule)."""
        for name, (schedule, base_lr) in self.recipe.lr_plan.items():
            lr = scheduled_lr(schedule, base_lr, self.step, self.total_steps)
            for group in self.recipe.optimizers[name].param_groups:
                group["lr"] = lr

    # ---- the loop ---------------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        started = time.perf_counter()
        if self.step == 0:
            self.write_samples()
        self._interval_start = time.perf_counter()
        with stop_requests() as stop:
            self._stop = stop
            try:
                self._loop(stop)
            except _StopNow as now:
                raise TrainingStopped(now.signum, self.step, self._saved_step, self._in_step) from None
            finally:
                self._stop = StopRequests()
        return self._summary(time.perf_counter() - started)

    def _loop(self, stop: StopRequests) -> None:
        cfg = self.cfg
        while self.step < self.total_steps:
            self.train_step()
            stopping = self._agreed(stop)
            last = self.step == self.total_steps
            evaluate = self.evaluation is not None and (self.step % self.evaluation.every == 0 or last)
            if self.step % cfg.log_every == 0 or last or evaluate:
                results = self._timed(self.run_evaluation) if evaluate else None
                self.log_interval(results)
                if results:
                    self._timed(functools.partial(self.track_best, results))
            if self.step % cfg.sample_every == 0 or last:
                self._timed(self.write_samples)
            if self.step % cfg.ckpt_every == 0 or last:
                self._timed(lambda: self.save_checkpoint(periodic=self.step % cfg.ckpt_every == 0))
            elif stopping:
                self.save_checkpoint(periodic=False)
            if stopping:
                # every rank leaves only once rank 0's last.pt is written: a rank exiting first
                # would make the launcher stop rank 0 in the middle of it
                if self.world_size > 1:
                    distributed.barrier()
                raise TrainingStopped(stopping, self.step, self._saved_step)

    def _timed(self, work):
        """File writing and evaluation are kept out of the images/s figure."""
        start = time.perf_counter()
        try:
            return work()
        finally:
            self._interval_io += time.perf_counter() - start

    # ---- metrics and best.pt ------------------------------------------------------------------------
    def run_evaluation(self) -> dict[str, float]:
        """Scores the EMA generator when there is one, else the generator (in eval mode)."""
        generator = self.ema.module if self.ema is not None else self.recipe.generator
        evaluation = self.evaluation
        results = None
        if self.writes_files:  # rank 0 scores; the others wait for its numbers (best.pt agrees)
            results = evaluation.evaluator.evaluate(
                generator, evaluation.metrics, seed=evaluation.seed, networks=self.other_networks
            )
            results = {key: float(value) for key, value in results.items()}
        self.last_eval = distributed.from_main(results) if self.world_size > 1 else results
        return self.last_eval

    def _best_results(self) -> dict[str, float] | None:
        """What best.pt was ranked by: its primary value and the tie-breaks (a best from a checkpoint
        written before tie-breaks were kept has its primary only)."""
        if self.best is None:
            return None
        return dict(self.best.get("ranked") or {self.best["metric"]: self.best["value"]})

    def track_best(self, results: dict[str, float]) -> None:
        name = self.evaluation.primary
        if name not in results:
            raise UserError(f"trainer.eval_primary={name} is not among the results: {', '.join(results)}")
        value = results[name]
        if self.evaluation.better(results, self._best_results()):
            ranked = [name, *(key for key, _ in self.evaluation.tie_breaks if key in results)]
            self.best = {"metric": name, "value": value, "step": self.step}
            self.best["ranked"] = {key: results[key] for key in ranked}
            self.check_weights("best.pt")
            if self.writes_files:
                folder = self.run_dir / "checkpoints"
                checkpoint.save(self.checkpoint_payload(), folder / "best.pt", intact=folder / "last.pt")

    def _check_skipped(self) -> None:
        """trainer.on_nan=skip: refuse to go on (and so to save) once most updates are dropped."""
        steps = self.step - (self.history[-1]["step"] if self.history else 0)
        for name, per_step in self.recipe.updates_per_step.items():
            dropped, updates = self._skipped_interval.get(name, 0), max(steps * per_step, 1)
            if dropped / updates > MAX_SKIPPED_SHARE:
                raise TrainingDiverged(
                    f"training diverged: trainer.on_nan=skip dropped {dropped} of {updates} "
                    f"{self.recipe.label(name)} updates ({dropped / updates:.0%}, more than "
                    f"{MAX_SKIPPED_SHARE:.0%}) in the {steps} steps up to step {self.step}; the last good "
                    f"checkpoint is in {self.run_dir / 'checkpoints'} (try a lower optim.lr)"
                )

    def _check_finite(self, means: dict[str, float]) -> None:
        """A NaN or inf statistic ends the run (the recipe's watched ones first, then the rest)."""
        watched = self.recipe.watched
        for name in [*watched, *(n for n in means if n not in watched)]:
            value = means.get(name)
            if value is not None and not math.isfinite(value):
                raise TrainingDiverged(
                    f"training diverged: the {watched.get(name, name)} is {value} "
                    f"in the {self.stats.steps} steps up to step {self.step}; "
                    f"the last good checkpoint is in {self.run_dir / 'checkpoints'} (try a lower optim.lr)"
                )

    def log_interval(self, extra: dict[str, float] | None = None) -> None:
        if self._skip_nonfinite:
            self._check_skipped()
        over_ranks = self.context.mean if self.context is not None else None
        means = self.stats.means(over_ranks)  # the one sync; empty when every step had an update skipped
        self._check_finite(means)
        elapsed = time.perf_counter() - self._interval_start - self._interval_io
        examples = self.stats.steps * self.recipe.examples_per_step
        record: dict[str, Any] = {"step": self.step, "epoch": self.epoch, **means}
        for name, optimizer in self.recipe.optimizers.items():
            record[f"lr_{self.recipe.label(name).lower()}"] = optimizer.param_groups[0]["lr"]
        record.update(
            img_per_s=examples / elapsed if elapsed > 0 else 0.0, skipped=self.skipped, time=time.time()
        )
        extra = extra or {}
        # at evaluation steps the evaluator's results replace the interval metrics of the same names
        if self.kind.has_interval_metrics and not (
            self._interval_keys and set(self._interval_keys) <= set(extra)
        ):
            record.update(self.interval_metrics())
        record.update(self._beside_stats(extra))
        self.history.append(record)
        self.reporter.log(self.step, record)
        self.stats.reset()
        self._skipped_interval = dict.fromkeys(self._skipped_interval, 0)
        self._interval_io = 0.0
        self._interval_start = time.perf_counter()

    def _beside_stats(self, results: dict[str, float]) -> dict[str, float]:
        """Evaluation results as logged beside the recipe's statistics: a result named like a
        statistic (a VAE's test elbo and its training elbo) is logged as eval_<name>."""
        return {f"eval_{key}" if key in self.stats.names else key: value for key, value in results.items()}

    @property
    def epoch(self) -> float:
        return self.step * self.recipe.examples_per_step / self.batches.num_examples

    # ---- samples, interval metrics, checkpoints -------------------------------------------------------
    @torch.no_grad()
    def _generate(self, noise: Tensor, labels: Tensor | None = None) -> Tensor:
        """Samples of the EMA generator when there is one (smoother), else of G in eval mode."""
        if self.ema is not None:
            return contract.generate(self.ema.module, noise, labels)
        G = self.recipe.generator
        was_training = G.training
        G.eval()
        try:
            return contract.generate(G, noise, labels)
        finally:
            G.train(was_training)

    def interval_metrics(self) -> dict[str, float]:
        """The data kind's cheap metrics of the view's samples (2D: the mode metrics)."""
        metrics = self.kind.interval_metrics(self._generate(self.view_noise, self.view_labels), self.batches)
        self._interval_keys = tuple(metrics)
        return metrics

    def _saved(self) -> str:
        if self._saved_step is None:
            return "no checkpoint was written yet"
        return f"checkpoints/last.pt (step {self._saved_step}) is intact"

    def write_samples(self) -> Path | None:
        """The view of the fixed noise as samples/step_N.png (None on a rank that writes no file);
        kinds whose samples are files of their own (audio) also write them to samples/step_N/."""
        if not self.writes_files:
            return None
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        generated = self._generate(self.view_noise, self.view_labels)
        image = self.kind.view(generated, self.batches, nrow=self.grid_columns)
        try:
            plots.save_png(image, path)
            self.kind.write_samples(self.kind.clip(generated), path.with_suffix(""), self.batches)
        except UserError as error:
            raise UserError(f"{error}; {self._saved()}") from None
        self.reporter.image(self.step, "samples", image)
        rate = self.kind.sample_rate(self.batches)
        if rate is not None:
            self._report_sounds(generated, rate)
        # a recipe's own views (an autoencoder's reconstructions): samples/<name>_step_N.png
        for name, view in getattr(self.recipe, "views", dict)().items():
            try:
                plots.save_png(view, self.run_dir / "samples" / f"{name}_step_{self.step:07d}.png")
            except UserError as error:
                raise UserError(f"{error}; {self._saved()}") from None
            self.reporter.image(self.step, name, view)
        return path

    def _report_sounds(self, generated: Tensor, rate: int) -> None:
        """The view's clips as sound for the sinks that play it (TensorBoard's Audio tab)."""
        self.reporter.audio(self.step, "samples", generated.detach().float().cpu(), rate)

    def checkpoint_payload(self) -> dict[str, Any]:
        recipe = self.recipe
        return {
            "config": self.config,
            "overrides": self.overrides,
            "step": self.step,
            "epoch": self.epoch,
            "generator": recipe.generator.state_dict(),
            "recipe": recipe.name,
            "networks": {
                name: net.state_dict() for name, net in recipe.networks.items() if name != GENERATOR
            },
            "optimizers": {name: optimizer.state_dict() for name, optimizer in recipe.optimizers.items()},
            "recipe_state": recipe.state_dict(),
            "fixed_noise": self.fixed_noise.cpu(),
            "rng": checkpoint.rng_state(),
            "history": self.history,
            "shape": list(self.batches.shape),
            "n_classes": self.batches.n_classes,
            # the part of a log interval already trained, so a resumed run logs the same numbers
            "stats": self.stats.state_dict(),
            "skipped": self.skipped,
            "skipped_interval": dict(self._skipped_interval),
            "best": self.best,
            **(
                {"ema_generator": self.ema.module.state_dict(), "ema_updates": self.ema.updates}
                if self.ema
                else {}
            ),
        }

    def restore(self, payload: dict[str, Any], path: str | Path | None = None) -> None:
        """Continue from a checkpoint (loaded with checkpoint.FOR_RESUME, which gives every format
        the format-3 shape): weights, optimizer moments, step, RNG, logged history. What does not
        fit the recipe built from this run's config is one error naming the file."""
        path = Path(path or self.config.get("resume") or "the checkpoint")
        recipe = self.recipe
        saved_recipe = payload.get("recipe", "gan")
        if saved_recipe != recipe.name:
            raise UserError(
                f"{path} was trained with recipe={saved_recipe}, this run's is {recipe.name}; "
                "a resumed run keeps its recipe"
            )
        checkpoint.load_weights(recipe.generator, payload["generator"], path, "generator")
        for part, saved, targets in (
            ("network", payload["networks"], {n: m for n, m in recipe.networks.items() if n != GENERATOR}),
            ("optimizer", payload["optimizers"], recipe.optimizers),
        ):
            for name, target in targets.items():
                if name not in saved:
                    raise UserError(
                        f"{path}: it has no '{name}' {part} "
                        f"(the {recipe.name} recipe's: {', '.join(targets)})"
                    )
                checkpoint.load_weights(
                    target, saved[name], path, name if part == "network" else f"{name} optimizer"
                )
        noise = payload["fixed_noise"]
        z_dim = contract.latent_size(recipe.generator)
        if noise.shape[1] != z_dim:
            raise UserError(
                f"{path}: 'fixed_noise' has {noise.shape[1]} latent dimensions, the generator {z_dim}"
            )
        self.step = payload["step"]
        self.history = list(payload["history"])
        self.fixed_noise = noise.to(self.device)
        self.stats.load_state_dict(payload["stats"])
        recipe.load_state_dict(payload.get("recipe_state", {}))
        self.skipped = payload.get("skipped", 0)
        self._skipped_interval.update(payload.get("skipped_interval", {}))
        self.best = payload.get("best")
        self._saved_step = self.step
        if self.ema is not None:
            if "ema_generator" in payload:
                checkpoint.load_weights(self.ema.module, payload["ema_generator"], path, "ema_generator")
                self.ema.updates = payload["ema_updates"]
            else:  # EMA switched on when resuming: start the average from the current weights
                self.ema.module.load_state_dict(payload["generator"])
        self.apply_learning_rates()  # the rates of this run's config at this step
        checkpoint.set_rng_state(payload["rng"])

    def _named_state(self):
        """Every tensor a checkpoint holds that training computes (the recipe's, then the EMA's)."""
        yield from self.recipe.named_state()
        if self.ema is not None:
            for name, tensor in self.ema.module.state_dict().items():
                yield f"EMA G tensor {name}", tensor

    def check_weights(self, file: str = "last.pt") -> None:
        """Non-finite state must never reach a checkpoint (one host read per checkpoint)."""
        broken = checkpoint.first_nonfinite(self._named_state())
        if broken:
            raise TrainingDiverged(
                f"training diverged: the {broken} holds NaN or inf at step {self.step}; {file} was not "
                f"written, {self._saved()} (try a lower optim.lr)"
            )

    def save_checkpoint(self, periodic: bool) -> Path:
        self.check_weights()
        folder = self.run_dir / "checkpoints"
        last = folder / "last.pt"
        if not self.writes_files:
            self._saved_step = self.step  # the main rank saved this step: messages name it alike
            return last
        payload = self.checkpoint_payload()
        last = checkpoint.save(payload, last)
        self._saved_step = self.step
        if periodic and self.cfg.keep_checkpoints > 0:
            periodic_path = folder / f"step_{self.step:07d}.pt"
            self._periodic.append(checkpoint.save(payload, periodic_path, intact=last))
            while len(self._periodic) > self.cfg.keep_checkpoints:
                self._periodic.pop(0).unlink(missing_ok=True)
        return last

    def _summary(self, wall_time: float) -> dict[str, Any]:
        final = self.history[-1] if self.history else {}
        speeds = sorted(r.get("img_per_s", 0.0) for r in self.history[1:] or self.history)
        summary = {
            "steps": self.step,
            "epochs": round(self.epoch, 3),
            "wall_time_s": round(wall_time, 1),
            "img_per_s_median": speeds[len(speeds) // 2] if speeds else 0.0,
            "examples": self.batches.num_examples,  # what the run trained on (data.classes, data.limit)
            **({"subset": subset.describe()} if (subset := getattr(self.batches, "subset", None)) else {}),
        }
        # the final interval's statistics, whatever the recipe names them, and the kind's metrics
        for key in (*self.stats.names, *self._interval_keys):
            if key in final:
                summary[key] = final[key]
        if self.evaluation is not None:
            summary.update(self._beside_stats(self.last_eval))
            summary["primary_metric"] = self.evaluation.primary
            summary["primary_direction"] = self.evaluation.direction
            summary["extractor"] = self.evaluation.evaluator.extractor_name
            if self.best:
                summary[f"best_{self.best['metric']}"] = self.best["value"]
                summary["best_step"] = self.best["step"]
                summary["best_checkpoint"] = str(self.run_dir / "checkpoints" / "best.pt")
        if self.writes_files:
            (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
