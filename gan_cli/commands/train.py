"""`gan train`: compose data, the model family's networks and the recipe (cfg.recipe.name: how they
train, with which losses and optimizers) from the config, and run the trainer.

torch is imported inside `build`, after the config has been checked, so `gan train --help` and
config errors answer before the heavy imports.
"""

import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

# the built-in recipes register themselves (torch-free) before config.register_schemas stores every
# registry's schemas in the ConfigStore (recipe_<name>_schema)
import gan_cli.training.recipes  # noqa: E402,F401
from gan_cli import distributed
from gan_cli.commands import paths, sweeps
from gan_cli.commands.config import check_eval_primary, register_schemas, validate
from gan_cli.commands.errors_report import exit_on_user_error, is_user_error
from gan_cli.commands.launch import LAUNCHED_ENV
from gan_cli.errors import UserError
from gan_cli.outputs import run_folder
from gan_cli.outputs.run_folder import discard_if_unused

register_schemas()
sweeps.register_resolver()  # job folder names of a sweep (hydra.sweep.subdir)
run_folder.register_resolver()  # the experiment in a run folder's name (hydra.run.dir)


def compose(overrides: list[str], config_name: str = "train") -> DictConfig:
    """The config `gan train OVERRIDES` would run with, without starting a run (benchmarks, tests)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    with initialize_config_module(config_module="gan_cli.configs", version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


@dataclass
class Training:
    """Everything a run needs, built from the config: the trainer and what the console shows."""

    trainer: Any
    reporter: Any
    facts: dict[str, Any]
    hparams: dict[str, Any]


class AlreadyFinished(Exception):
    """A resume whose checkpoint has reached the run's step count: nothing to train. Not an error
    (the run is fine), but silence would look as if it had trained."""

    def __init__(self, run_dir: Path, step: int, cfg: DictConfig):
        t = cfg.trainer
        limit = f"trainer.epochs={t.epochs:g}" if t.epochs is not None else f"trainer.steps={t.steps}"
        more = "trainer.epochs=<more>" if t.epochs is not None else "trainer.steps=<more>"
        super().__init__(
            f"gan: {run_dir} already finished at step {step:,} ({limit}); "
            f"to train longer: {paths.resume_command(run_dir)} {more}"
        )


def build(
    cfg: DictConfig, run_dir: Path, overrides: list[str] | None = None, reporter=None, context=None
) -> Training:
    """Data, the model family's networks, the recipe and the trainer, as the config says (resumed
    when cfg.resume is set). overrides: the command line's, recorded in checkpoints for `resume=`.
    reporter: a ready Reporter (the benchmark passes a silent one), else one is made in run_dir.
    context: the distributed context (rank, world size), handed to the recipe, the reporter and the
    trainer; None: this process's, from the launcher's environment (rank 0 of 1 without one)."""
    validate(cfg, overrides)
    recipe_entry = _recipe_entry(cfg)
    import torch

    from gan_cli import data, device, distributed, models
    from gan_cli.commands.resume import check_compatible
    from gan_cli.models import contract
    from gan_cli.outputs import checkpoint
    from gan_cli.outputs.reporter import build_reporter
    from gan_cli.training.recipes.base import RecipeContext
    from gan_cli.training.trainer import Trainer, total_steps

    run_dir = Path(run_dir)
    saved = checkpoint.load(cfg.resume, expect=checkpoint.FOR_RESUME) if cfg.resume else None
    source = _take_model_config(cfg, saved, overrides)  # init_from: the model config is the checkpoint's
    _keep_resumed_config(cfg, saved, overrides)
    run_dir.mkdir(parents=True, exist_ok=True)
    config = OmegaConf.to_container(cfg, resolve=True)
    if saved:
        check_compatible(saved["config"], config)
    target = device.resolve(cfg.device)
    device.fit_cpu_threads(target, bool(models.MODELS.get(cfg.model.name).facts.get("one_cpu_thread")))
    # every part of the run asks one context which rank writes (distributed.current() reads
    # RANK/WORLD_SIZE, so a torchrun rank > 0 trains without touching the run folder)
    context = (context or distributed.current()).on_device(target)
    # several processes: trainer.batch_size is the global batch and each rank gets its share;
    # everything built from here on is built alike on every rank (same seed), then broadcast
    batch_size = distributed.rank_batch(cfg.trainer.batch_size, context, cfg.trainer.get("pack", 1))
    distributed.start(context)
    device.seed_everything(cfg.seed)
    switches = device.speed_switches(cfg.trainer, target)
    batches = data.build(cfg.data, target, batch_size)
    generator, discriminator = models.build(
        cfg.model, batches.shape, batches.n_classes, pack=cfg.trainer.get("pack", 1), data_name=cfg.data.name
    )
    started = None
    if source is not None:
        started = _start_from(cfg, source, generator, discriminator, batches, overrides)
    frozen = _freeze(cfg, generator, discriminator)
    generator, discriminator = generator.to(target), discriminator.to(target)
    _check_sync_bn(cfg, target)
    if cfg.model.get("sync_bn") and context.is_distributed:
        generator = torch.nn.SyncBatchNorm.convert_sync_batchnorm(generator)
        discriminator = torch.nn.SyncBatchNorm.convert_sync_batchnorm(discriminator)
    recipe = recipe_entry.builder(
        RecipeContext(
            _rank_config(cfg, batch_size), generator, discriminator, batches, target, switches, context
        )
    )
    if source is not None:
        _carry_over(cfg, source, recipe, frozen)

    steps = total_steps(cfg.trainer, batches.num_examples, recipe.examples_per_step)
    resume_step = saved["step"] if saved else None
    if resume_step is not None and resume_step >= steps:  # before the Reporter touches the run's files
        raise AlreadyFinished(run_dir, resume_step, cfg)
    if reporter is None:
        reporter = build_reporter(
            cfg.get("logger"), run_dir, steps, show_progress=cfg.trainer.progress, resume_step=resume_step,
            context=context,
        )  # fmt: skip
    recipe_facts = recipe.facts()
    counts = " / ".join(f"{recipe.label(name)} {_count(net):,}" for name, net in recipe.networks.items())
    rates = " / ".join(
        f"{recipe.label(name)} {lr:g} ({schedule})" for name, (schedule, lr) in recipe.lr_plan.items()
    )
    step_fact = f", {recipe_facts['step']}" if "step" in recipe_facts else ""
    facts = {
        "run folder": str(run_dir),
        "model": f"{cfg.model.name}  {counts} params",
        "data": f"{cfg.data.name}  {batches.num_examples:,} x {tuple(batches.shape)}"
        + _auto_channels(cfg, batches)
        + (f"  ({batches.subset.describe()})" if getattr(batches, "subset", None) else ""),
        **({"recipe": recipe.name} if recipe.name != "gan" else {}),  # the default goes without saying
        **({"loss": recipe_facts["loss"]} if "loss" in recipe_facts else {}),
        **({"optim": f"{cfg.optim.name}  lr {rates}"} if recipe.optimizers else {}),
        "trainer": f"{steps:,} steps x batch {cfg.trainer.batch_size}"
        + (f" ({context.world_size} processes x {batch_size})" if context.is_distributed else "")
        + step_fact
        + (f", EMA {cfg.trainer.ema.decay:g}" if cfg.trainer.ema.decay > 0 else ""),
        "device": (_cpu_threads(target) if target.type == "cpu" else str(target))
        + f"  {switches.describe()}",
        "seed": cfg.seed,
    }
    if saved:
        facts["resumed"] = f"from {cfg.resume} at step {resume_step:,}"
    if started is not None:
        started.frozen = {label: names for label, (names, _) in frozen.items()}
        facts["init_from"] = started.describe()
    hparams = {
        "model": cfg.model.name,
        "data": cfg.data.name,
        **({"recipe": recipe.name} if recipe.name != "gan" else {}),
        "loss": cfg.loss.name,
        "optim": cfg.optim.name,
        **{f"lr_{recipe.label(name).lower()}": lr for name, (_, lr) in recipe.lr_plan.items()},
        "batch_size": cfg.trainer.batch_size,
        "d_steps": cfg.trainer.d_steps,
        "z_dim": cfg.model.z_dim,
        "seed": cfg.seed,
    }
    others = {name: net for name, net in recipe.networks.items() if name != "generator"}
    evaluation = _evaluation(
        cfg,
        batches,
        target,
        reporter,
        conditional=contract.takes_labels(generator),
        networks=others,
        main=context.is_main,
    )
    if evaluation:  # before the first step, not at the first evaluation
        check_eval_primary(evaluation.primary, evaluation.metrics, cfg.data.name)
    metrics_fact = _describe_metrics(cfg.trainer, batches.kind, evaluation)
    if metrics_fact:
        facts["metrics"] = metrics_fact
    trainer = Trainer(
        recipe,
        batches,
        cfg.trainer,
        run_dir,
        reporter,
        target,
        cfg.seed,
        config,
        overrides,
        evaluation,
        context,
    )
    if saved:
        trainer.restore(saved)  # also sets this run's rates, which a resume may change
    if context.is_distributed:
        distributed.broadcast_state(recipe.networks)
        # each rank its own real batches and noise from here on; a resume at step s draws anew
        device.seed_everything(distributed.rank_seed(cfg.seed, context.rank, trainer.step))
    return Training(trainer, reporter, facts, hparams)


def _rank_config(cfg: DictConfig, batch_size: int) -> DictConfig:
    """The config a recipe builds from: trainer.batch_size is this rank's share of the global batch
    (the same config with one process)."""
    if batch_size == cfg.trainer.batch_size:
        return cfg
    local = cfg.copy()
    with open_dict(local):
        local.trainer.batch_size = batch_size
    return local


def _cpu_threads(target) -> str:
    import torch

    threads = torch.get_num_threads()
    return f"{target} ({threads} thread{'s' if threads != 1 else ''})"


def _keep_resumed_config(cfg: DictConfig, saved: dict | None, overrides: list[str] | None) -> None:
    """resume=: the model, trainer and optim keys that the command line does not give anew are the
    checkpoint's (resume.kept_values), so a default changed since the run started does not refuse
    or alter its continuation; keys it gives, and another model family, are left for
    check_compatible to refuse. Without the command line (overrides None: a caller's own config)
    the config is taken as it is."""
    if saved is None or overrides is None or cfg.get("init_from"):
        return
    from gan_cli.commands.resume import kept_values

    recorded = set(saved.get("overrides") or ())
    new = [line for line in overrides or () if line not in recorded]
    current = OmegaConf.to_container(cfg, resolve=True)
    for key, value in kept_values(saved["config"], current, new).items():
        OmegaConf.update(cfg, key, value, merge=False, force_add=False)


def _take_model_config(cfg: DictConfig, saved: dict | None, overrides: list[str] | None) -> dict | None:
    """With init_from=: cfg.model becomes the checkpoint's model config, with the model keys the
    command line gives on top (a resumed fine-tuning run: the model config its checkpoint recorded).
    Returns the source checkpoint's payload when its weights are to be loaded (a new run), else None."""
    t = cfg.finetune
    if not cfg.get("init_from"):
        for key in ("freeze_d", "freeze_g"):
            if t[key]:
                raise UserError(
                    f"finetune.{key}={t[key]} freezes weights a checkpoint gave: add init_from=..."
                )
        if t.keep_optimizer:
            raise UserError(
                "finetune.keep_optimizer=true carries a checkpoint's optimizers: add init_from=..."
            )
        return None
    from gan_cli.training import finetune

    source = None
    if saved is not None:
        model = dict(saved["config"]["model"])
    else:
        source = finetune.load_source(cfg.init_from)
        current = OmegaConf.to_container(cfg.model, resolve=True)
        saved_model = dict(source["config"]["model"])
        model = finetune.merged_model_config(saved_model, current, finetune.user_model_keys(overrides))
    with open_dict(cfg.model):
        for key, value in model.items():
            if key in cfg.model:
                cfg.model[key] = value
    validate(cfg, overrides)
    return source


def _start_from(cfg: DictConfig, source: dict, generator, discriminator, batches, overrides):
    """Load the checkpoint's weights into the new networks (class-dependent ones re-initialized
    when the class count differs); one line for weights that do not fit."""
    from gan_cli import models
    from gan_cli.training import finetune

    g_state, g_from = finetune.generator_state(source, cfg.finetune.use_ema)
    states = {"generator": g_state}
    d_state = (source.get("networks") or {}).get("discriminator")
    if d_state is not None and discriminator is not None:
        states["discriminator"] = d_state
    networks = {"generator": generator, "discriminator": discriminator}
    given = finetune.user_model_keys(overrides)
    source_classes = int(source.get("n_classes") or 0)

    def probe():
        pack = cfg.trainer.get("pack", 1)
        g, d = models.build(cfg.model, batches.shape, source_classes, pack=pack, data_name=cfg.data.name)
        return {"generator": g, "discriminator": d}

    reinitialized = finetune.load_into(
        networks,
        states,
        lambda first: finetune.diagnose(source, cfg, batches.shape, given, first),
        probe if source_classes != batches.n_classes and source_classes > 0 else None,
    )
    labels = {"generator": "G", "discriminator": "D"}
    started = finetune.Started(source["_path"], int(source.get("step", 0)), g_from)
    started.reinitialized = {labels[k]: v for k, v in reinitialized.items()}
    if reinitialized:
        started.generator_from += f"; {source_classes} classes in the checkpoint, {batches.n_classes} here"
    return started


def _freeze(cfg: DictConfig, generator, discriminator) -> dict[str, tuple[list[str], list[str]]]:
    """finetune.freeze_d / freeze_g: label -> (frozen parameter names, parameter names before)."""
    from gan_cli.training import finetune

    frozen = {}
    for label, key, network in (("D", "freeze_d", discriminator), ("G", "freeze_g", generator)):
        count = int(cfg.finetune[key])
        if network is None or count == 0:
            continue
        before = [name for name, _ in network.named_parameters()]
        names = finetune.freeze(network, count, f"finetune.{key}", f"{label} (model={cfg.model.name})")
        frozen[label] = (names, before)
    return frozen


def _carry_over(cfg: DictConfig, source: dict, recipe, frozen) -> None:
    """The recipe's other networks (an encoder, a Q head) from the checkpoint, and with
    finetune.keep_optimizer=true its optimizers' moments (of the parameters still trained)."""
    from gan_cli.outputs import checkpoint
    from gan_cli.training import finetune

    saved_networks = source.get("networks") or {}
    path = Path(source["_path"])
    for name, network in recipe.networks.items():
        if name in ("generator", "discriminator") or name not in saved_networks:
            continue
        checkpoint.load_weights(network, saved_networks[name], path, name)
    if not cfg.finetune.keep_optimizer:
        return
    saved_optimizers = source.get("optimizers") or {}
    for name, optimizer in recipe.optimizers.items():
        if name not in saved_optimizers:
            raise UserError(f"finetune.keep_optimizer=true: {path} has no '{name}' optimizer")
        label = recipe.label(name)
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        if label in frozen:
            names, before = frozen[label]
            positions = finetune.frozen_positions(before, names)
        else:
            positions = list(range(len(parameters)))
        if len(positions) != len(parameters):
            raise UserError(
                f"finetune.keep_optimizer=true: the '{name}' optimizer holds {len(parameters)} tensors here "
                f"and the checkpoint's {len(positions)}; use finetune.keep_optimizer=false"
            )
        state = finetune.carried_optimizer_state(saved_optimizers[name], positions, parameters)
        checkpoint.load_weights(optimizer, state, path, f"{name} optimizer")


def run(cfg: DictConfig, run_dir: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Train as the config says, writing into run_dir. Returns the run's summary."""
    devices = int(cfg.trainer.get("devices", 1))
    if devices > 1 and not distributed.current().is_distributed:
        return _run_processes(cfg, devices, Path(run_dir), overrides or [])
    try:
        return _run_here(cfg, run_dir, overrides)
    except Exception as error:
        if not distributed.lost_peer(error):
            raise
        # A rank that died: the others stop without a traceback. Under `gan train trainer.devices=N`
        # the launcher's line names the rank, so its workers add nothing; under torchrun each says why.
        if not os.environ.get(LAUNCHED_ENV):
            rank = distributed.current().rank
            sys.stderr.write(f"gan: rank {rank}: another process of this run is gone; stopping\n")
        raise SystemExit(1) from None
    finally:
        distributed.stop()


def _run_here(cfg: DictConfig, run_dir: Path, overrides: list[str] | None) -> dict[str, Any]:
    try:
        training = build(cfg, run_dir, overrides)  # checks the config before torch is imported
    except AlreadyFinished as finished:
        sys.stderr.write(f"{finished}\n")
        return _recorded_summary(Path(run_dir))
    from gan_cli.training.trainer import TrainingStopped

    trainer, reporter, run_dir = training.trainer, training.reporter, Path(run_dir)
    try:
        reporter.start("gan train", training.facts, training.hparams, start_step=trainer.step)
        try:
            summary = trainer.fit()
        except TrainingStopped as stop:
            reporter.close_progress()
            resume = f" Resume with: {paths.resume_command(run_dir)}" if stop.saved_step is not None else ""
            reporter.note(f"{stop}.{resume}")
            if os.environ.get(LAUNCHED_ENV) and not distributed.current().is_main:
                # under gan's own launcher rank 0's exit speaks for the run; another rank ending
                # first with 143 would have the launcher kill rank 0 before it finished
                raise SystemExit(0) from None
            raise SystemExit(128 + stop.signum) from None
        from gan_cli.registry import LOGGERS

        files = {
            "samples": str(run_dir / "samples"),
            "checkpoint": str(run_dir / "checkpoints" / "last.pt"),
        }
        # a sink's output is named only when the logger group turned that sink on (logger=[jsonl]
        # writes no tb/ folder, so no tensorboard line)
        sink_outputs = {
            "jsonl": ("metrics", str(run_dir / "metrics.jsonl")),
            "tensorboard": ("tensorboard", paths.shell_words("tensorboard", "--logdir", str(run_dir.parent))),
        }
        files.update(output for sink, output in sink_outputs.items() if sink in reporter.sink_names)
        for sink in reporter.sink_names:  # a sink that declares its files (csv: metrics.csv)
            declared = LOGGERS.get(sink).facts.get("outputs") if sink not in sink_outputs else None
            files.update(declared(run_dir) if declared else {})
        reporter.finish(summary, files)
    finally:
        reporter.close()
    return summary


def _run_processes(cfg: DictConfig, devices: int, run_dir: Path, overrides: list[str]) -> dict[str, Any]:
    """trainer.devices=N: the config checked here once (not N times), then N workers train it."""
    from gan_cli import device
    from gan_cli.commands import launch

    validate(cfg, overrides)
    pack = cfg.trainer.get("pack", 1)
    distributed.rank_batch(cfg.trainer.batch_size, distributed.Context(0, devices), pack)
    _check_sync_bn(cfg, device.resolve(cfg.device))
    launch.run_processes(devices, run_dir, overrides)
    return _recorded_summary(run_dir)


def _check_sync_bn(cfg: DictConfig, target) -> None:
    if cfg.model.get("sync_bn") and target.type != "cuda":
        raise UserError(
            f"model.sync_bn=true needs CUDA devices (torch's SyncBatchNorm runs on GPUs), not {target.type}; "
            "without it each process normalizes over its own share of the batch"
        )


def _recorded_summary(run_dir: Path) -> dict[str, Any]:
    """The finished run's own summary, so a sweep of resumes still ranks it."""
    import json

    try:
        return json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return {}


AUTO_EVAL_EVERY = 2500

# What a run refused before its first step has written (checkpoints/ and samples/ come with the trainer).
REFUSED_RUN_FILES = {".hydra", "train.log", "tb", "metrics.jsonl"}


def _evaluation(
    cfg: DictConfig, batches, device, reporter, conditional: bool = False, networks=None, main: bool = True
):
    """The metrics to compute during training, or None. Auto: on for data the tool can score
    offline (the data kind says: labeled image sets train the classifier extractor; 2D sets need none).
    conditional: G takes labels, so the defaults add the conditional metrics (cond_acc, intra_fid).
    networks: the recipe's networks besides G, by name (a VAE's encoder adds nll and elbo)."""
    from gan_cli import evaluation as ev
    from gan_cli.data.kinds import kind_named
    from gan_cli.registry import METRICS
    from gan_cli.training.trainer import Evaluation

    t = cfg.trainer
    every = t.eval_every
    if every is None:
        every = AUTO_EVAL_EVERY if kind_named(batches.kind).scored_offline(batches.n_classes) else 0
    if every == 0:
        return None
    if main:  # only rank 0 evaluates (Trainer.run_evaluation); the classifier trains once
        _full_set_classifier(cfg, device, reporter.note)
    evaluator = ev.Evaluator(
        cfg.data, features=t.eval_features, split=t.eval_split, n=t.eval_n, device=device, note=reporter.note
    )
    metrics = evaluator.resolve_metrics(
        list(t.eval_metrics) if t.eval_metrics else None, conditional, networks or {}
    )
    primary = t.eval_primary or next(iter(METRICS.get(metrics[0]).keys))
    ranking = ev.ranking(primary)
    return Evaluation(evaluator, every, metrics, ranking[0][0], ranking[0][1], cfg.seed, ranking[1:])


def _full_set_classifier(cfg: DictConfig, device, note) -> None:
    """With data.classes / data.limit, the evaluation classifier is trained (once, then cached)
    on the whole data set before the evaluator asks for it: its cache key names the data set, so a
    classifier of a subset must never be the one cached."""
    from gan_cli.data import subsets

    if cfg.trainer.eval_features != "classifier" or not subsets.is_subset(cfg.data):
        return
    from gan_cli.data.config_fields import FULL_SET
    from gan_cli.evaluation.evaluator import plain_data_config
    from gan_cli.metrics import extractors

    extractors.build("classifier", {**plain_data_config(cfg.data), **FULL_SET}, device, note)


def _recipe_entry(cfg: DictConfig):
    """The registered recipe cfg.recipe names, its config checked against the recipe's schema
    (types, unknown keys) in one line; before torch is imported."""
    from gan_cli.registry import RECIPES

    recipe_cfg = cfg.get("recipe") or {"name": "gan"}  # a config composed before recipes: the GAN
    entry = RECIPES.get(recipe_cfg.get("name"))
    if entry.schema is not None:
        from omegaconf.errors import OmegaConfBaseException

        try:
            OmegaConf.merge(OmegaConf.structured(entry.schema), recipe_cfg)
        except OmegaConfBaseException as error:
            key = f"recipe.{error.key}" if getattr(error, "key", None) else "recipe"
            reason = str(error).splitlines()[0]
            raise UserError(f"{key}: {reason} (recipe={entry.name})") from None
    return entry


def _describe_metrics(t, kind: str, evaluation) -> str | None:
    """The banner's metrics line, as often as the log will really show them: on 2D data the
    trainer adds the kind's interval metrics to every log line (Trainer.interval_metrics), whatever
    eval_every is."""
    from gan_cli.data.kinds import kind_named

    data_kind = kind_named(kind)
    full = None
    if evaluation:
        full = (
            f"{', '.join(evaluation.metrics)} every {evaluation.every:,} steps, {t.eval_n:,} samples, "
            f"{evaluation.evaluator.extractor_name} features; best.pt by {evaluation.primary}"
        )
    if not data_kind.has_interval_metrics:
        return full
    toy = f"modes every {t.log_every:,} steps (each log line, {data_kind.shown(t.n_samples):,} samples)"
    if not evaluation:
        return f"{toy}; no best.pt (trainer.eval_every=0)"
    return (
        f"{toy}; every {evaluation.every:,} steps: {', '.join(evaluation.metrics)} on {t.eval_n:,} samples, "
        f"best.pt by {evaluation.primary}"
    )


def _auto_channels(cfg: DictConfig, batches) -> str:
    """Where the channel count came from, when the user did not give it (data.channels=auto)."""
    if str(cfg.data.get("channels", "")) != "auto" or len(batches.shape) != 3:
        return ""
    return f" (channels: auto -> {batches.shape[0]})"


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.configs", config_name="train")
@exit_on_user_error
def main(cfg: DictConfig) -> Any:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = list(hydra_cfg.overrides.task)
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return _sweep_job(cfg, run_dir, overrides, hydra_cfg)
    from gan_cli.commands.launch import ProcessesFailed

    try:
        summary = run(cfg, run_dir, overrides)
    except UserError:
        discard_if_unused(run_dir, REFUSED_RUN_FILES)
        raise
    except ProcessesFailed as failed:
        sys.stderr.write(f"gan: {failed}\n")
        raise SystemExit(1) from None
    return sweeps.objective(summary)


def _sweep_job(cfg: DictConfig, run_dir: Path, overrides: list[str], hydra_cfg) -> float | None:
    """One job of a sweep. Hydra's sweepers re-raise a job's exception once its batch is done, which
    skips the summary at the end (and stops an Optuna search), so a failure is written into the job's
    folder (error.txt) and the sweep goes on; the summary reads it back. Returns the sweep's
    objective, or None for a failed job (Optuna records that trial as failed)."""
    n_jobs = sweeps.local_parallel_jobs(hydra_cfg.launcher)
    if n_jobs is not None:
        import torch

        torch.set_num_threads(sweeps.threads_per_job(n_jobs, sweeps.available_cores()))
        with open_dict(cfg):
            cfg.trainer.progress = False  # several live progress bars on one terminal garble each other
    try:
        return sweeps.objective(run(cfg, run_dir, overrides))
    except Exception as error:
        bug = not is_user_error(error)
        status, message = sweeps.record_failure(run_dir, error, with_traceback=bug)
        if bug:
            traceback.print_exc()
        sys.stderr.write(f"gan: job {hydra_cfg.job.num} {status}: {message}\n")
        sys.stderr.flush()
        return None
