"""`gan train`: compose data, models, loss and optimizers from the config and run the trainer.

torch is imported inside `run`, after the config has been checked, so `gan train --help` and
config errors answer before the heavy imports.
"""

import contextlib
import shutil
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from gan_cli.config import register_schemas, validate
from gan_cli.errors import UserError
from gan_cli.errors_report import exit_on_user_error

register_schemas()


def run(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Train as the config says, writing into run_dir. Returns the run's summary."""
    validate(cfg)
    import torch

    from gan_cli import data, device, losses, models, optim
    from gan_cli.report import Reporter
    from gan_cli.trainer import Networks, Trainer, total_steps

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    target = device.resolve(cfg.device)
    device.seed_everything(cfg.seed)
    batches = data.build(cfg.data, target, cfg.trainer.batch_size)
    generator, discriminator = models.build(cfg.model, batches.shape, batches.n_classes)
    generator, discriminator = generator.to(target), discriminator.to(target)
    g_optimizer, d_optimizer = optim.build(cfg.optim, generator, discriminator, target)
    nets = Networks(generator, discriminator, g_optimizer, d_optimizer)
    config = OmegaConf.to_container(cfg, resolve=True)

    steps = total_steps(cfg.trainer, batches.num_examples)
    reporter = Reporter(run_dir, steps, show_progress=cfg.trainer.progress)
    g_lr, d_lr = optim.learning_rates(cfg.optim)
    facts = {
        "run folder": str(run_dir),
        "model": f"{cfg.model.name}  G {_count(generator):,} / D {_count(discriminator):,} params",
        "data": f"{cfg.data.name}  {batches.num_examples:,} x {tuple(batches.shape)}",
        "loss": cfg.loss.name,
        "optim": f"{cfg.optim.name}  lr G {g_lr:g} / D {d_lr:g}",
        "trainer": f"{steps:,} steps x batch {cfg.trainer.batch_size}, d_steps {cfg.trainer.d_steps}",
        "device": f"{target} ({torch.get_num_threads()} threads)" if target.type == "cpu" else str(target),
        "seed": cfg.seed,
    }
    hparams = {
        "model": cfg.model.name,
        "data": cfg.data.name,
        "loss": cfg.loss.name,
        "optim": cfg.optim.name,
        "lr_g": g_lr,
        "lr_d": d_lr,
        "batch_size": cfg.trainer.batch_size,
        "d_steps": cfg.trainer.d_steps,
        "z_dim": cfg.model.z_dim,
        "seed": cfg.seed,
    }
    trainer = Trainer(
        nets, losses.build(cfg.loss), batches, cfg.trainer, run_dir, reporter, target, cfg.seed, config
    )
    try:
        reporter.start("gan train", facts, hparams)
        summary = trainer.fit()
        files = {
            "samples": str(run_dir / "samples"),
            "checkpoint": str(run_dir / "checkpoints" / "last.pt"),
            "metrics": str(run_dir / "metrics.jsonl"),
            "tensorboard": f"tensorboard --logdir {run_dir.parent}",
        }
        reporter.finish(summary, files)
    finally:
        reporter.close()
    return summary


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _discard_if_unused(run_dir: Path) -> None:
    """A run refused before training (bad value, missing data) leaves no folder behind."""
    if run_dir.is_dir() and not (run_dir / "checkpoints").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            run_dir.parent.rmdir()  # only when empty


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.configs", config_name="train")
@exit_on_user_error
def main(cfg: DictConfig) -> Any:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        summary = run(cfg, run_dir)
    except UserError:
        _discard_if_unused(run_dir)
        raise
    return summary.get("d_loss")
