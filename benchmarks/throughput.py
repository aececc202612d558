"""Training throughput of `gan train` against a bare PyTorch loop of the same networks.

    python benchmarks/throughput.py model=mlp data=fashion_mnist            # any `gan train` overrides
    python benchmarks/throughput.py model=dcgan data=cifar10 --steps 100
    python benchmarks/throughput.py data=fashion_mnist --sweep trainer.batch_size=64,128,256,512
    python benchmarks/throughput.py --process data=fashion_mnist   # + start-up, peak RSS of the real command
    python benchmarks/throughput.py --quick data=ring8 --json
    python benchmarks/throughput.py --contention 4 data=fashion_mnist  # K copies at once vs alone

Both loops run in this process on the same device: the trainer's step (with its once-per-interval
log sync, without file writing) after a warm-up, then a plain loop of the same G, D, loss, batch
size and optimizer settings over data held as one float tensor (no logging, no sync), timed the
same way. The ratio trainer / bare is the figure of merit: 1.0 means the trainer adds nothing.

--contention K starts 1, 2, ... K copies of the trainer measurement as separate processes that time
the same wall-clock window, once per OpenMP wait setting (CONTENTION_SETTINGS), and shows each
copy's images/s against the alone figure: what a run keeps when the machine is shared.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_cli import models
from gan_cli.commands.train import build, compose
from gan_cli.training import losses, penalties


class SilentReporter:
    """The trainer's reporter, minus the console and files: the benchmark times the step."""

    def log(self, step, record):
        pass

    def image(self, step, tag, image):
        pass

    def note(self, message):
        pass


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_trainer(cfg, warmup: int, steps: int) -> tuple[float, object]:
    with tempfile.TemporaryDirectory() as run_dir:
        training = build(cfg, Path(run_dir), reporter=SilentReporter())
        trainer = training.trainer
        log_every = cfg.trainer.log_every
        for _ in range(warmup):
            trainer.train_step()
        trainer.log_interval()
        _sync(trainer.device)
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
            if trainer.step % log_every == 0:
                trainer.log_interval()  # the trainer's one host sync per interval is part of its cost
        _sync(trainer.device)
        elapsed = time.perf_counter() - start
    images = steps * trainer.recipe.examples_per_step
    return images / elapsed, trainer


def time_trainer_window(cfg, warmup: int, start_at: float, duration: float) -> float:
    """Images/s of the trainer's step over [start_at, start_at + duration] of wall-clock time, so
    copies started together time the same window whatever their start-up took."""
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = build(cfg, Path(run_dir), reporter=SilentReporter()).trainer
        for _ in range(warmup):
            trainer.train_step()
        trainer.log_interval()
        _sync(trainer.device)
        time.sleep(max(0.0, start_at - time.time()))  # sleeping, not spinning: the others start up
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < duration:
            trainer.train_step()
            steps += 1
            if trainer.step % cfg.trainer.log_every == 0:
                trainer.log_interval()
        _sync(trainer.device)
        elapsed = time.perf_counter() - start
    return steps * trainer.recipe.examples_per_step / elapsed


# name -> environment changes for the copies (None removes the variable): torch's OpenMP threads
# either spin while they wait for each other (libgomp's default spins a while first) or sleep.
CONTENTION_SETTINGS = {
    "spin (unset)": {"OMP_WAIT_POLICY": None, "OMP_NUM_THREADS": None},
    "sleep (PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": None},
    "1 thread each": {"OMP_WAIT_POLICY": None, "OMP_NUM_THREADS": "1"},
}
STARTUP_ALLOWANCE_S = 30.0  # copies build and warm up before the common window opens


def _copy_env(changes: dict[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def contention(overrides: list[str], copies: int, warmup: int, duration: float) -> list[dict]:
    """For each setting and each k in 1, 2, 4, ... up to `copies`: k processes time one window."""
    counts = sorted({1, *[k for k in (2, 4, 8, 16) if k < copies], copies})
    rows = []
    for name, changes in CONTENTION_SETTINGS.items():
        alone = None
        for k in counts:
            start_at = time.time() + STARTUP_ALLOWANCE_S
            command = [sys.executable, __file__, "--window", f"{start_at}:{duration}",
                       "--warmup", str(warmup), *overrides]  # fmt: skip
            children = [
                subprocess.Popen(command, env=_copy_env(changes), stdout=subprocess.PIPE, text=True)
                for _ in range(k)
            ]
            rates = [float(child.communicate()[0].strip().splitlines()[-1]) for child in children]
            if any(child.returncode for child in children):
                raise SystemExit(f"a copy failed: {' '.join(command)}")
            median = statistics.median(rates)
            alone = median if k == 1 else alone
            rows.append({"setting": name, "copies": k, "img_per_s": rates, "median": median,
                         "of_alone": median / alone})  # fmt: skip
    return rows


def time_bare_loop(cfg, trainer, warmup: int, steps: int) -> float:
    """Plain PyTorch: the same architecture, loss and optimizer; data as one float tensor."""
    device, batch_size = trainer.device, cfg.trainer.batch_size
    torch.manual_seed(cfg.seed)
    G, D = models.build(cfg.model, trainer.batches.shape, trainer.batches.n_classes)
    G, D = G.to(device), D.to(device)
    trained = trainer.recipe.optimizers  # the GAN recipe's: the bare loop copies their settings
    g_opt = type(trained["generator"])(G.parameters(), **trained["generator"].defaults)
    d_opt = type(trained["discriminator"])(D.parameters(), **trained["discriminator"].defaults)
    loss = losses.build(cfg.loss)
    data = trainer.batches.real_sample(min(trainer.batches.num_examples, 20_000)).float()
    z_dim = G.z_dim
    # model.cond: random labels stand in for the data's (the loop times the work, not the fit);
    # D reads them (concat, projection) or predicts them (acgan, plus its class cross-entropy)
    n_classes, cond = getattr(G, "n_classes", 0), getattr(D, "cond", "none")
    gp_lambda = cfg.loss.get("gp_lambda", 0.0)

    def judged(x, y):
        if cond == "acgan":
            logits, classes = D(x, y, with_classes=True)
            return logits, F.cross_entropy(classes, y)
        return (D(x, y) if cond != "none" else D(x)), None

    def plus(objective, class_term):  # nothing added where there is no class term: the bare loop stays bare
        return objective if class_term is None else objective + class_term

    def step():
        for _ in range(cfg.trainer.d_steps):
            real = data[torch.randint(0, len(data), (batch_size,), device=device)]
            y = torch.randint(0, n_classes, (batch_size,), device=device) if n_classes else None
            fake = G(torch.randn(batch_size, z_dim, device=device), *([y] if n_classes else []))
            (real_logits, real_ce), (fake_logits, _) = judged(real, y), judged(fake.detach(), y)
            d_loss = plus(loss.d_loss(real_logits, fake_logits), real_ce)
            if gp_lambda:  # WGAN-GP's penalty is part of D's step, so the bare loop pays for it too
                d_loss = d_loss + gp_lambda * penalties.gradient_penalty(
                    D, real, fake.detach(), labels=y if cond in ("concat", "projection") else None
                )
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        fake_logits, fake_ce = judged(fake, y)
        real_logits = judged(real, y)[0] if loss.g_needs_real else None
        plus(loss.g_loss(fake_logits, real_logits), fake_ce).backward()
        g_opt.step()

    for _ in range(warmup):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch_size * cfg.trainer.d_steps / (time.perf_counter() - start)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(overrides: list[str], warmup: int, steps: int, repeats: int, bare: bool) -> dict:
    cfg = compose(["trainer.progress=false", *overrides])
    trainer_rates, bare_rates = [], []
    for _ in range(repeats):  # alternate, so drifting machine load hits both alike
        rate, trainer = time_trainer(cfg, warmup, steps)
        trainer_rates.append(rate)
        if bare:
            bare_rates.append(time_bare_loop(cfg, trainer, warmup, steps))
    result = {
        "overrides": " ".join(overrides),
        "device": str(trainer.device),
        "switches": trainer.switches.describe(),
        "threads": torch.get_num_threads(),
        "batch_size": cfg.trainer.batch_size,
        "steps": steps,
        "trainer_img_per_s": statistics.median(trainer_rates),
        "peak_memory_mb": peak_memory_mb(trainer.device),
    }
    if bare:
        result["bare_img_per_s"] = statistics.median(bare_rates)
        result["ratio"] = result["trainer_img_per_s"] / result["bare_img_per_s"]
    return result


def _median_seconds(command: list[str], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def process_figures(overrides: list[str]) -> dict:
    """Start-up of the real command, and the peak RSS of a short real training run."""
    gan = [sys.executable, "-m", "gan_cli"]
    figures = {
        "gan_help_s": _median_seconds([*gan, "--help"]),
        "config_error_s": _median_seconds([*gan, "train", "trainer.batch_size=0"]),
    }
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GAN_DATA_DIR": os.environ.get("GAN_DATA_DIR", str(Path.cwd() / "data"))}
        command = [*gan, "train", *overrides, "trainer.steps=300", "trainer.progress=false"]
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the real run failed: {done.stderr.strip()}")
    figures["train_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="gan train overrides, e.g. model=dcgan data=cifar10")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="measurements per loop; the median is shown")
    parser.add_argument(
        "--sweep", help="KEY=V1,V2,...: one measurement per value, e.g. trainer.batch_size=64,128"
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare loop")
    parser.add_argument(
        "--process", action="store_true", help="also time `gan --help`, a config error, peak RSS"
    )
    parser.add_argument("--quick", action="store_true", help="a few steps, one repeat (CI)")
    parser.add_argument(
        "--contention", type=int, metavar="K", help="K copies at once vs alone, per OpenMP wait setting"
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds each copy times (--contention)")
    parser.add_argument("--window", help=argparse.SUPPRESS)  # START:SECONDS, one copy of --contention
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.repeats = 20, 5, 1

    if args.window:
        start_at, duration = (float(part) for part in args.window.split(":"))
        cfg = compose(["trainer.progress=false", *args.overrides])
        print(time_trainer_window(cfg, args.warmup, start_at, duration))
        return
    if args.contention:
        _print_contention(contention(args.overrides, args.contention, args.warmup, args.duration), args)
        return

    variants = [args.overrides]
    if args.sweep:
        key, values = args.sweep.split("=", 1)
        variants = [[*args.overrides, f"{key}={value}"] for value in values.split(",")]
    results = [measure(v, args.warmup, args.steps, args.repeats, not args.no_bare) for v in variants]
    process = process_figures(args.overrides) if args.process else None

    if args.json:
        print(json.dumps({"results": results, "process": process}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"gan train throughput ({results[0]['device']}, {results[0]['threads']} threads)")
    for column in ("overrides", "switches", "batch", "trainer img/s", "bare img/s", "ratio", "peak MB"):
        table.add_column(column, overflow="fold")
    for r in results:
        bare = f"{r['bare_img_per_s']:,.0f}" if "bare_img_per_s" in r else "-"
        ratio = f"{r['ratio']:.3f}" if "ratio" in r else "-"
        speed, memory = f"{r['trainer_img_per_s']:,.0f}", f"{r['peak_memory_mb']:,.0f}"
        table.add_row(
            r["overrides"] or "(defaults)", r["switches"], str(r["batch_size"]), speed, bare, ratio, memory
        )
    console = Console()
    console.print(table)
    if process:
        command = " ".join(["gan train", *args.overrides])
        console.print(
            f"gan --help {process['gan_help_s']:.2f} s; config error {process['config_error_s']:.2f} s; "
            f"peak RSS of a 300-step `{command}` {process['train_peak_rss_mb']:,.0f} MB"
        )


def _print_contention(rows: list[dict], args) -> None:
    if args.json:
        print(json.dumps({"contention": rows}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{' '.join(args.overrides) or '(defaults)'}: each copy's images/s, {args.duration:g} s window"
    )
    for column in ("setting", "copies at once", "img/s of each copy", "median", "of alone"):
        table.add_column(column)
    for r in rows:
        each = ", ".join(f"{rate:,.0f}" for rate in r["img_per_s"])
        table.add_row(r["setting"], str(r["copies"]), each, f"{r['median']:,.0f}", f"{r['of_alone']:.0%}")
    Console().print(table)


if __name__ == "__main__":
    main()
