"""The training loop: alternating D and G updates, with logging, sample grids and checkpoints at
intervals.

Hot-path rules (DESIGN.md): batches come from the device, losses and D outputs stay on the device
and are read once per log interval, gradients are freed with set_to_none, and D's parameters are
frozen during the G update so no gradient is computed for weights nobody steps.
"""

import contextlib
import functools
import json
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gan_cli.outputs import checkpoint, plots

from gan_cli.training import penalties
from gan_cli.device import SpeedSwitches
from gan_cli.training.ema import EMAGenerator
from gan_cli.errors import UserError
from gan_cli.training.losses import GANLoss
from gan_cli.metrics.toy2d import mode_metrics
from gan_cli.models.common import pack_samples
from gan_cli.training.optim import scheduled_lr
from gan_cli.outputs.report import Reporter

TOY_EVAL_POINTS = 2500
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
    checkpoints/best.pt follows `primary` ("min" or "max" is better, per `direction`)."""

    evaluator: Any
    every: int
    metrics: list[str] | None
    primary: str
    direction: str
    seed: int = 0

    def better(self, value: float, best: float | None) -> bool:
        if best is None or math.isnan(best):
            return not math.isnan(value)
        return value < best if self.direction == "min" else value > best


@dataclass
class Networks:
    generator: nn.Module
    discriminator: nn.Module
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer


def total_steps(cfg, num_examples: int) -> int:
    """trainer.epochs (passes over the data, d_steps x batch_size real images per G step) wins
    over trainer.steps when set."""
    if cfg.epochs is None:
        return int(cfg.steps)
    return max(1, math.ceil(cfg.epochs * num_examples / (cfg.batch_size * cfg.d_steps)))


class Trainer:
    def __init__(
        self,
        nets: Networks,
        loss: GANLoss,
        batches,
        cfg,
        run_dir: Path,
        reporter: Reporter,
        device: torch.device,
        seed: int,
        config: dict[str, Any],
        overrides: list[str] | None = None,
        lr_plan: tuple[tuple[str, float], tuple[str, float]] | None = None,
        switches: SpeedSwitches | None = None,
        evaluation: Evaluation | None = None,
    ):
        self.nets, self.loss, self.batches, self.cfg = nets, loss, batches, cfg
        self.run_dir, self.reporter, self.device, self.config = Path(run_dir), reporter, device, config
        self.overrides = list(overrides or [])  # the command line, so `resume=` can compose it again
        self.total_steps = total_steps(cfg, batches.num_examples)
        self.step = 0
        self._d_updates = 0  # counts D steps for lazy R1
        self.evaluation = evaluation
        self.best: dict[str, Any] | None = None  # {"metric", "value", "step"} of best.pt
        self.last_eval: dict[str, float] = {}
        self._skip_nonfinite = cfg.get("on_nan", "stop") == "skip"
        self.skipped = 0  # updates dropped by trainer.on_nan=skip
        self._skipped_interval = {"g": 0, "d": 0}  # the same, per network, in this log interval
        self._stop = StopRequests()  # replaced by fit's live one
        self._in_step = False  # a stop now would drop a step under way
        self._saved_step: int | None = None  # the step of last.pt
        # ((G schedule, G base lr), (D schedule, D base lr)); rates are set per step only if scheduled
        self.lr_plan = lr_plan or (("constant", 0.0), ("constant", 0.0))
        self._scheduled = any(schedule != "constant" for schedule, _ in self.lr_plan)
        decay = cfg.ema.decay if "ema" in cfg else 0.0
        self.ema = EMAGenerator(nets.generator, decay, cfg.ema.warmup) if decay > 0 else None
        self._setup_speed(switches or SpeedSwitches())
        self.z_dim = nets.generator.z_dim
        noise = torch.Generator().manual_seed(seed)
        # One fixed noise for every grid, so grids of a run are comparable frame to frame.
        self.fixed_noise = torch.randn(cfg.n_samples, self.z_dim, generator=noise).to(device)
        self.toy_noise = (
            torch.randn(TOY_EVAL_POINTS, self.z_dim, generator=noise).to(device)
            if batches.kind == "points"
            else None
        )
        self.history: list[dict[str, Any]] = []
        self._running = torch.zeros(4, device=device)
        self._running_steps = 0
        self._interval_start = time.perf_counter()
        self._interval_io = 0.0
        for folder in ("samples", "checkpoints"):
            (self.run_dir / folder).mkdir(parents=True, exist_ok=True)
        for stale in (self.run_dir / "checkpoints").glob(".*.tmp"):  # left by a run killed mid-write
            stale.unlink(missing_ok=True)
        # periodic checkpoints already there (a resumed run) count towards keep_checkpoints
        self._periodic: list[Path] = sorted((self.run_dir / "checkpoints").glob("step_*.pt"))

    def _setup_speed(self, switches: SpeedSwitches) -> None:
        """Autocast, loss scaling, channels_last, torch.compile and the fused D forward."""
        self.switches = switches
        G, D = self.nets.generator, self.nets.discriminator
        dtype = switches.autocast_dtype
        self._autocast = (
            functools.partial(torch.autocast, self.device.type, dtype=dtype)
            if dtype
            else contextlib.nullcontext
        )
        fp16 = switches.precision == "16-mixed"
        self._scalers = {
            net: torch.amp.GradScaler(self.device.type) if fp16 else None for net in ("g", "d")
        }  # one per network: each has its own optimizer step
        images = self.batches.kind == "image"
        self._channels_last = switches.channels_last and images
        if self._channels_last:
            G.to(memory_format=torch.channels_last)
            D.to(memory_format=torch.channels_last)
        # compiled callables for the step; the plain modules stay for EMA, samples and checkpoints
        mode = None if switches.compile == "true" else switches.compile
        compiled = switches.compile != "false"
        self._G = torch.compile(G, mode=mode) if compiled else G
        self._D = torch.compile(D, mode=mode) if compiled else D
        self._cuda_graphs = switches.compile == "reduce-overhead" and self.device.type == "cuda"
        # One D forward over real and fake together halves the kernel launches; only exact when no
        # layer of D computes batch statistics (BatchNorm would then mix real and fake).
        # The minibatch standard deviation layer is a batch statistic too (``mixes_batch``).
        self._fuse_d = not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "mixes_batch", False)
            for m in D.modules()
        )
        # trainer.pack (PacGAN): D sees batch_size / pack packs; config.validate made it divide.
        self._pack = int(self.cfg.get("pack", 1))

    def _update(self, network: str, optimizer: torch.optim.Optimizer, objective: Tensor) -> bool:
        """Backward and step; False when trainer.on_nan=skip dropped a non-finite update (that
        check reads the loss on the host every step, the price of skipping)."""
        optimizer.zero_grad(set_to_none=True)
        if self._skip_nonfinite and not bool(torch.isfinite(objective.detach())):
            self.skipped += 1
            self._skipped_interval[network] += 1
            return False
        scaler = self._scalers[network]
        if scaler is None:
            objective.backward()
            optimizer.step()
        else:
            scaler.scale(objective).backward()
            scaler.step(optimizer)
            scaler.update()
        return True

    # ---- one generator update (and its d_steps discriminator updates) -----------------------------
    def train_step(self) -> None:
        G, D, loss, raw_D = self._G, self._D, self.loss, self.nets.discriminator
        batch_size, d_steps, pack = self.cfg.batch_size, self.cfg.d_steps, self._pack

        if self._cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()  # outputs of the last step may be reused
        started = time.perf_counter()
        self._in_step = True
        for i in range(d_steps):
            if self._stop and i > 0 and self._stop.cut_short(i, d_steps, started):
                raise _StopNow(self._stop.signals[0])
            real, _ = self.batches.next()
            if self._channels_last:
                real = real.contiguous(memory_format=torch.channels_last)
            z = torch.randn(batch_size, self.z_dim, device=self.device)
            self._d_updates += 1
            r1_now = loss.r1_gamma > 0 and self._d_updates % loss.r1_every == 0
            if r1_now:
                real.requires_grad_(True)
            with self._autocast():
                if i == d_steps - 1:
                    fake = G(z)  # kept with its graph: the G update reuses it through the updated D
                else:
                    with torch.no_grad():
                        fake = G(z)
                # packs are views of the batch; the penalties below act on them, as D sees them
                real_packed, fake_packed = pack_samples(real, pack), pack_samples(fake.detach(), pack)
                if self._fuse_d:
                    both = D(torch.cat((real_packed, fake_packed))).float()
                    real_logits, fake_logits = both.split(batch_size // pack)
                else:
                    real_logits, fake_logits = D(real_packed).float(), D(fake_packed).float()
                d_loss = loss.d_loss(real_logits, fake_logits)
                d_objective = d_loss
                if loss.gp_lambda > 0:
                    gp = penalties.gradient_penalty(raw_D, real_packed, fake_packed)
                    d_objective = d_objective + loss.gp_lambda * gp
                if r1_now:
                    r1 = penalties.r1_penalty(real_logits, real_packed)
                    d_objective = d_objective + penalties.lazy_weight(loss.r1_gamma, loss.r1_every) * r1
            # read before D runs again: CUDA graphs (compile=reduce-overhead) reuse output buffers
            d_outputs = (loss.d_output(real_logits), loss.d_output(fake_logits))
            applied = self._update("d", self.nets.d_optimizer, d_objective)
            if loss.clip > 0:
                penalties.clip_weights_(raw_D, loss.clip)

        raw_D.requires_grad_(False)
        with self._autocast():
            g_fake_logits = D(pack_samples(fake, pack)).float()
            if loss.g_needs_real:
                g_loss = loss.g_loss(g_fake_logits, D(pack_samples(real.detach(), pack)).float())
            else:
                g_loss = loss.g_loss(g_fake_logits)
        applied = self._update("g", self.nets.g_optimizer, g_loss) and applied
        raw_D.requires_grad_(True)
        if self.ema is not None:
            self.ema.update()

        if applied:
            self._running += torch.stack((d_loss.detach(), g_loss.detach(), *d_outputs))
            self._running_steps += 1
        self.step += 1
        self._in_step = False
        if self._scheduled:
            self.apply_learning_rates()

    def apply_learning_rates(self) -> None:
        """Set each optimizer's rate for the current step from its schedule (optim.schedule)."""
        for optimizer, (schedule, base_lr) in zip(
            (self.nets.g_optimizer, self.nets.d_optimizer), self.lr_plan, strict=True
        ):
            lr = scheduled_lr(schedule, base_lr, self.step, self.total_steps)
            for group in optimizer.param_groups:
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
            elif stop:
                self.save_checkpoint(periodic=False)
            if stop:
                raise TrainingStopped(stop.signals[0], self.step, self._saved_step)

    def _timed(self, work):
        """File writing and evaluation are kept out of the images/s figure."""
        start = time.perf_counter()
        try:
            return work()
        finally:
            self._interval_io += time.perf_counter() - start

    # ---- metrics and best.pt ------------------------------------------------------------------------
    def run_evaluation(self) -> dict[str, float]:
        """Scores the EMA generator when there is one, else G (in eval mode)."""
        generator = self.ema.module if self.ema is not None else self.nets.generator
        evaluation = self.evaluation
        results = evaluation.evaluator.evaluate(generator, evaluation.metrics, seed=evaluation.seed)
        self.last_eval = {key: float(value) for key, value in results.items()}
        return self.last_eval

    def track_best(self, results: dict[str, float]) -> None:
        name = self.evaluation.primary
        if name not in results:
            raise UserError(f"trainer.eval_primary={name} is not among the results: {', '.join(results)}")
        value = results[name]
        if self.evaluation.better(value, self.best["value"] if self.best else None):
            self.best = {"metric": name, "value": value, "step": self.step}
            self.check_weights("best.pt")
            folder = self.run_dir / "checkpoints"
            checkpoint.save(self.checkpoint_payload(), folder / "best.pt", intact=folder / "last.pt")

    def _check_skipped(self) -> None:
        """trainer.on_nan=skip: refuse to go on (and so to save) once most updates are dropped."""
        steps = self.step - (self.history[-1]["step"] if self.history else 0)
        for network, per_step in (("G", 1), ("D", self.cfg.d_steps)):
            dropped, updates = self._skipped_interval[network.lower()], max(steps * per_step, 1)
            if dropped / updates > MAX_SKIPPED_SHARE:
                raise TrainingDiverged(
                    f"training diverged: trainer.on_nan=skip dropped {dropped} of {updates} {network} "
                    f"updates ({dropped / updates:.0%}, more than {MAX_SKIPPED_SHARE:.0%}) in the {steps} "
                    f"steps up to step {self.step}; the last good checkpoint is in "
                    f"{self.run_dir / 'checkpoints'} (try a lower optim.lr)"
                )

    def log_interval(self, extra: dict[str, float] | None = None) -> None:
        if self._skip_nonfinite:
            self._check_skipped()
        counted = max(self._running_steps, 1)
        d_loss, g_loss, d_real, d_fake = (self._running / counted).tolist()  # the one sync
        if self._running_steps > 0 and not all(math.isfinite(v) for v in (d_loss, g_loss)):
            which = "D" if not math.isfinite(d_loss) else "G"
            raise TrainingDiverged(
                f"training diverged: the {which} loss is {d_loss if which == 'D' else g_loss} "
                f"in the {self._running_steps} steps up to step {self.step}; "
                f"the last good checkpoint is in {self.run_dir / 'checkpoints'} (try a lower optim.lr)"
            )
        elapsed = time.perf_counter() - self._interval_start - self._interval_io
        images = self._running_steps * self.cfg.batch_size * self.cfg.d_steps
        # an interval whose steps all had an update skipped has no losses to show (not zeros)
        losses = {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}
        record: dict[str, Any] = {
            "step": self.step,
            "epoch": self.epoch,
            **(losses if self._running_steps > 0 else {}),
            "lr_g": self.nets.g_optimizer.param_groups[0]["lr"],
            "lr_d": self.nets.d_optimizer.param_groups[0]["lr"],
            "img_per_s": images / elapsed if elapsed > 0 else 0.0,
            "skipped": self.skipped,
            "time": time.time(),
        }
        extra = extra or {}
        # at evaluation steps the evaluator's mode metrics replace the per-interval ones
        if self.toy_noise is not None and "modes_captured" not in extra:
            record.update(self.toy_metrics())
        record.update(extra)
        self.history.append(record)
        self.reporter.log(self.step, record)
        self._running.zero_()
        self._running_steps = 0
        self._skipped_interval = {"g": 0, "d": 0}
        self._interval_io = 0.0
        self._interval_start = time.perf_counter()

    @property
    def epoch(self) -> float:
        return self.step * self.cfg.batch_size * self.cfg.d_steps / self.batches.num_examples

    # ---- samples, 2D metrics, checkpoints --------------------------------------------------------
    @torch.no_grad()
    def _generate(self, noise: Tensor) -> Tensor:
        """Samples of the EMA generator when there is one (smoother), else of G in eval mode."""
        if self.ema is not None:
            return self.ema.module(noise)
        G = self.nets.generator
        was_training = G.training
        G.eval()
        try:
            return G(noise)
        finally:
            G.train(was_training)

    def toy_metrics(self) -> dict[str, float]:
        return mode_metrics(self._generate(self.toy_noise), self.batches.modes, self.batches.mode_std)

    def _saved(self) -> str:
        if self._saved_step is None:
            return "no checkpoint was written yet"
        return f"checkpoints/last.pt (step {self._saved_step}) is intact"

    def write_samples(self) -> Path:
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        if self.batches.kind == "points":
            real = self.batches.real_sample(TOY_EVAL_POINTS)
            extent = float(self.batches.modes.abs().max()) * 1.5
            image = plots.scatter(real, self._generate(self.toy_noise), extent=extent)
        else:
            image = plots.image_grid(self._generate(self.fixed_noise))
        try:
            plots.save_png(image, path)
        except UserError as error:
            raise UserError(f"{error}; {self._saved()}") from None
        self.reporter.image(self.step, "samples", image)
        return path

    def checkpoint_payload(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "overrides": self.overrides,
            "step": self.step,
            "epoch": self.epoch,
            "generator": self.nets.generator.state_dict(),
            "discriminator": self.nets.discriminator.state_dict(),
            "g_optimizer": self.nets.g_optimizer.state_dict(),
            "d_optimizer": self.nets.d_optimizer.state_dict(),
            "fixed_noise": self.fixed_noise.cpu(),
            "rng": checkpoint.rng_state(),
            "history": self.history,
            "shape": list(self.batches.shape),
            "n_classes": self.batches.n_classes,
            # the part of a log interval already trained, so a resumed run logs the same numbers
            "running": self._running.cpu(),
            "running_steps": self._running_steps,
            "d_updates": self._d_updates,
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
        """Continue from a checkpoint (loaded with checkpoint.FOR_RESUME, so its entries are well
        formed): weights, optimizer moments, step, RNG, logged history. What does not fit the model
        built from this run's config is one error naming the file."""
        path = Path(path or self.config.get("resume") or "the checkpoint")
        nets = self.nets
        for target, entry in (
            (nets.generator, "generator"),
            (nets.discriminator, "discriminator"),
            (nets.g_optimizer, "g_optimizer"),
            (nets.d_optimizer, "d_optimizer"),
        ):
            checkpoint.load_weights(target, payload[entry], path, entry)
        noise = payload["fixed_noise"]
        if noise.shape[1] != self.z_dim:
            raise UserError(
                f"{path}: 'fixed_noise' has {noise.shape[1]} latent dimensions, the generator {self.z_dim}"
            )
        self.step = payload["step"]
        self.history = list(payload["history"])
        self.fixed_noise = noise.to(self.device)
        self._running = payload["running"].to(self.device)
        self._running_steps = payload["running_steps"]
        self._d_updates = payload.get("d_updates", 0)
        self.skipped = payload.get("skipped", 0)
        self._skipped_interval = dict(payload.get("skipped_interval", {"g": 0, "d": 0}))
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
        """Every tensor a checkpoint holds that training computes: weights, buffers (BatchNorm
        statistics are not parameters) and optimizer moments, by a name a user can look up."""
        nets = [("G", self.nets.generator), ("D", self.nets.discriminator)]
        if self.ema is not None:
            nets.append(("EMA G", self.ema.module))
        for owner, net in nets:
            for name, tensor in net.state_dict().items():
                yield f"{owner} tensor {name}", tensor
        for owner, optimizer in (("G", self.nets.g_optimizer), ("D", self.nets.d_optimizer)):
            for index, state in enumerate(optimizer.state.values()):
                for name, tensor in state.items():
                    yield f"{owner} optimizer's {name} of parameter {index}", tensor

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
        payload = self.checkpoint_payload()
        last = checkpoint.save(payload, folder / "last.pt")
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
        }
        for key in (
            "d_loss",
            "g_loss",
            "d_real",
            "d_fake",
            "modes_captured",
            "high_quality_pct",
            "kl_uniform",
        ):
            if key in final:
                summary[key] = final[key]
        if self.evaluation is not None:
            summary.update(self.last_eval)
            summary["primary_metric"] = self.evaluation.primary
            summary["primary_direction"] = self.evaluation.direction
            summary["extractor"] = self.evaluation.evaluator.extractor_name
            if self.best:
                summary[f"best_{self.best['metric']}"] = self.best["value"]
                summary["best_step"] = self.best["step"]
                summary["best_checkpoint"] = str(self.run_dir / "checkpoints" / "best.pt")
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
