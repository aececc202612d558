"""Config schemas: types via dataclasses (checked by OmegaConf while Hydra composes), ranges and
cross-option rules in `validate`, both before torch is imported.

Each group option's YAML file (configs/<group>/<option>.yaml) extends the schema stored here as
`<group>_<option>_schema` (a name outside the groups, so help lists only real options), so a typo'd
key or a wrong type is refused for that option alone.
"""

import math
import re
from dataclasses import dataclass, field
from typing import Any, List, Optional

from omegaconf import MISSING, DictConfig, OmegaConf

from gan_cli.errors import UserError

DATA_ROOT_DEFAULT = "${oc.env:GAN_DATA_DIR,data}"


# ---- model ---------------------------------------------------------------------------------------
@dataclass
class MLPModel:
    name: str = "mlp"
    z_dim: int = 100
    g_hidden: List[int] = field(default_factory=lambda: [128, 256, 512, 1024])
    d_hidden: List[int] = field(default_factory=lambda: [512, 256])
    g_batchnorm: bool = True
    slope: float = 0.2
    d_spectral_norm: bool = False


@dataclass
class DCGANModel:
    name: str = "dcgan"
    z_dim: int = 100
    width: int = 64
    g_batchnorm: bool = True
    d_batchnorm: bool = True
    slope: float = 0.2
    d_spectral_norm: bool = False  # true also drops D's BatchNorm (Miyato et al. 2018)


# ---- data ----------------------------------------------------------------------------------------
@dataclass
class TorchvisionData:
    name: str = MISSING
    root: str = DATA_ROOT_DEFAULT
    download: bool = True
    split: str = "train"


@dataclass
class FolderData:
    name: str = "folder"
    root: str = DATA_ROOT_DEFAULT
    download: bool = False
    path: str = MISSING
    image_size: int = 64
    channels: int = 3
    workers: int = 2
    max_memory_mb: int = 1024
    strict: bool = False  # unreadable image files: skipped with a warning, or (true) an error


@dataclass
class Ring8Data:
    name: str = "ring8"
    root: str = DATA_ROOT_DEFAULT
    download: bool = False
    n_points: int = 100_000
    std: float = 0.01
    radius: float = 1.0


@dataclass
class Grid25Data:
    name: str = "grid25"
    root: str = DATA_ROOT_DEFAULT
    download: bool = False
    n_points: int = 100_000
    std: float = 0.05


# ---- loss ----------------------------------------------------------------------------------------
@dataclass
class LossBase:
    """Keys every loss has: the regularizers (gan_cli.penalties) combine with any objective."""

    name: str = MISSING
    gp_lambda: float = 0.0  # gradient penalty weight (WGAN-GP uses 10); 0 = off
    r1_gamma: float = 0.0  # R1 weight gamma, applied as gamma / 2; 0 = off
    r1_every: int = 1  # R1 every this many D steps, weight scaled to match (lazy regularization)
    clip: float = 0.0  # WGAN weight clipping bound c; 0 = off


@dataclass
class NSLoss(LossBase):
    name: str = "ns"


@dataclass
class MinimaxLoss(LossBase):
    name: str = "minimax"


@dataclass
class LSGANLoss(LossBase):
    name: str = "lsgan"
    a: float = -1.0  # D's target for fakes
    b: float = 1.0  # D's target for real data
    c: float = 0.0  # the value G wants D to give its fakes


@dataclass
class HingeLoss(LossBase):
    name: str = "hinge"


@dataclass
class WGANLoss(LossBase):
    name: str = "wgan"


@dataclass
class RelativisticLoss(LossBase):
    name: str = "relativistic"


# ---- optim ---------------------------------------------------------------------------------------
SCHEDULES = ("constant", "linear")


@dataclass
class OptimBase:
    name: str = MISSING
    lr: float = 2e-4
    g_lr: Optional[float] = None  # None: use lr (set both for TTUR)
    d_lr: Optional[float] = None
    schedule: str = "constant"  # constant | linear (decay to 0 at the last step)
    g_schedule: Optional[str] = None  # None: use schedule
    d_schedule: Optional[str] = None


@dataclass
class AdamOptim(OptimBase):
    name: str = "adam"
    lr: float = 2e-4
    betas: List[float] = field(default_factory=lambda: [0.5, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class AdamWOptim(AdamOptim):
    name: str = "adamw"
    weight_decay: float = 0.01


@dataclass
class RMSpropOptim(OptimBase):
    name: str = "rmsprop"
    lr: float = 5e-5
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    weight_decay: float = 0.0


@dataclass
class SGDOptim(OptimBase):
    name: str = "sgd"
    lr: float = 1e-2
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0


# ---- trainer and the whole train config -----------------------------------------------------------
@dataclass
class EMAConfig:
    decay: float = 0.0  # 0 = off; e.g. 0.999
    warmup: bool = True  # decay min(decay, (1 + t) / (10 + t)) at update t


@dataclass
class TrainerConfig:
    steps: int = 5000  # generator updates
    epochs: Optional[float] = None  # when set, replaces steps: passes over the real data
    batch_size: int = 64
    d_steps: int = 1  # discriminator updates per generator update
    log_every: int = 100
    sample_every: int = 500
    ckpt_every: int = 1000
    keep_checkpoints: int = 3  # periodic checkpoints kept besides last.pt
    n_samples: int = 64  # images in each sample grid (fixed noise)
    progress: bool = True  # rich progress bar on the console
    ema: EMAConfig = field(default_factory=lambda: EMAConfig())
    precision: str = "auto"  # auto | 32 | bf16 | 16-mixed (autocast; a GradScaler for 16-mixed)
    compile: str = "false"  # false | true | reduce-overhead (torch.compile of G and D)
    channels_last: str = "auto"  # auto | true | false (conv nets; auto = off)
    on_nan: str = "stop"  # stop | skip: a non-finite loss stops the run, or its update is dropped
    # metrics during training (gan_cli.evaluation); best.pt follows eval_primary
    eval_every: Optional[int] = None  # None: auto (see configs/train.yaml); 0 = off
    eval_metrics: Optional[List[str]] = None  # None: the data set's defaults
    eval_primary: Optional[str] = None  # None: the first result of the first metric (fid, modes_captured)
    eval_n: int = 2000
    eval_features: str = "classifier"
    eval_split: str = "test"


@dataclass
class TrainConfig:
    model: Any = MISSING
    data: Any = MISSING
    loss: Any = MISSING
    optim: Any = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    device: str = "auto"
    seed: int = 0
    resume: Optional[str] = None  # checkpoint to continue from (set by the `resume=` handling in cli.py)


# ---- gan sample ---------------------------------------------------------------------------------
SAMPLE_FORMATS = ("grid", "png", "npy")


@dataclass
class SampleConfig:
    ckpt: str = MISSING  # a checkpoint file, or a run folder (its best.pt, else last.pt)
    n: int = 64  # samples; with interpolate=true, the number of interpolation rows
    seed: int = 0
    batch_size: int = 256  # samples moved to the device and written per step; never changes the output
    device: str = "auto"
    format: str = "grid"  # grid, png or npy
    nrow: Optional[int] = None  # grid columns; None: about sqrt(n)
    interpolate: bool = False
    steps: int = 8  # images per interpolation row, endpoints included
    gif: bool = False  # with interpolate: also an animated GIF, one frame per step
    use_ema: bool = True  # the EMA generator when the checkpoint holds one
    out: Optional[str] = None  # a file or a folder; None: the command's run folder


# ---- gan eval -----------------------------------------------------------------------------------
# Kept here rather than imported from gan_cli.evaluation, so config errors answer before torch loads
# (tests/test_eval.py checks that both lists agree).
EVAL_METRICS = ("fid", "kid", "pr", "coverage", "score", "modes")
EVAL_FEATURES = ("classifier", "inception")


@dataclass
class EvalConfig:
    ckpt: str = MISSING  # a checkpoint file, or a run folder (its best.pt, else last.pt)
    metrics: Optional[List[str]] = None  # None: the data set's defaults
    n: int = 10_000  # generated samples (and real ones, up to the split's size)
    split: str = "test"  # the real images compared with: test or train
    features: str = "classifier"  # classifier (offline) or inception (the standard, downloaded)
    batch_size: int = 500
    device: str = "auto"
    seed: int = 0
    use_ema: bool = True  # the EMA generator when the checkpoint holds one
    out: Optional[str] = None  # a .json file or a folder; None: eval.json beside the checkpoint
    data_root: Optional[str] = None  # None: the checkpoint's data.root


SCHEMAS = {
    "model": {"mlp": MLPModel, "dcgan": DCGANModel},
    "data": {
        "mnist": TorchvisionData,
        "fashion_mnist": TorchvisionData,
        "cifar10": TorchvisionData,
        "folder": FolderData,
        "ring8": Ring8Data,
        "grid25": Grid25Data,
    },
    "loss": {
        "ns": NSLoss,
        "minimax": MinimaxLoss,
        "lsgan": LSGANLoss,
        "hinge": HingeLoss,
        "wgan": WGANLoss,
        "relativistic": RelativisticLoss,
    },
    "optim": {"adam": AdamOptim, "adamw": AdamWOptim, "rmsprop": RMSpropOptim, "sgd": SGDOptim},
}


def register_schemas() -> None:
    """Store the schemas in Hydra's ConfigStore (the only place this module touches Hydra)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="sample_schema", node=SampleConfig)
    store.store(name="eval_schema", node=EvalConfig)
    for group, options in SCHEMAS.items():
        for option, schema in options.items():
            store.store(name=f"{group}_{option}_schema", node=schema, package=group)


# ---- ranges and cross-option rules --------------------------------------------------------------
# Kept here rather than imported from gan_cli.device, which imports torch.
PRECISIONS = ("auto", "32", "bf16", "16-mixed")
COMPILE_MODES = ("false", "true", "reduce-overhead")
TOGGLES = ("auto", "true", "false")

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UserError(f"{key}={value!r} is out of range: {allowed}")


def _targets(node: Any, path: str = "") -> list[str]:
    """Dotted paths of `_target_` keys anywhere in the config."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if key == "_target_" else _targets(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _targets(value, f"{path}[{index}]")
    return found


def refuse_targets(cfg: DictConfig) -> None:
    """gan_cli builds every object itself and instantiates nothing a config names, so a
    `_target_` (e.g. +model._target_=os.system) is refused rather than silently ignored."""
    targets = _targets(OmegaConf.to_container(cfg, resolve=False))
    if targets:
        raise UserError(
            f"{targets[0]}: configs may not name callables (_target_); gan_cli builds its own objects"
        )


def validate(cfg: DictConfig) -> None:
    """Raise UserError naming the key, the value and the allowed range for the first bad value."""
    refuse_targets(cfg)
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        key = missing[0]
        hint = " (the folder of images to train on)" if key == "data.path" else ""
        raise UserError(f"{key} is required{hint}: add {key}=... to the command line")

    t = cfg.trainer
    _require(t.steps >= 1, "trainer.steps", t.steps, "an integer >= 1")
    _require(t.epochs is None or t.epochs > 0, "trainer.epochs", t.epochs, "a number > 0, or null")
    _require(t.batch_size >= 1, "trainer.batch_size", t.batch_size, "an integer >= 1")
    _require(t.d_steps >= 1, "trainer.d_steps", t.d_steps, "an integer >= 1")
    for key in ("log_every", "sample_every", "ckpt_every", "n_samples"):
        _require(t[key] >= 1, f"trainer.{key}", t[key], "an integer >= 1")
    _require(t.keep_checkpoints >= 0, "trainer.keep_checkpoints", t.keep_checkpoints, "an integer >= 0")
    _require(bool(DEVICE_PATTERN.match(cfg.device)), "device", cfg.device, "auto, cpu, cuda, cuda:N or mps")

    m = cfg.model
    _require(m.z_dim >= 1, "model.z_dim", m.z_dim, "an integer >= 1")
    for key in ("g_hidden", "d_hidden"):
        if key in m:
            widths = list(m[key])
            _require(len(widths) >= 1 and min(widths) >= 1, f"model.{key}", widths, "a list of integers >= 1")
    if "width" in m:
        _require(m.width >= 1, "model.width", m.width, "an integer >= 1")
    _require(0 <= m.slope < 1, "model.slope", m.slope, "0 <= slope < 1")

    _validate_loss(cfg.loss, m)

    o = cfg.optim
    for key in ("lr", "g_lr", "d_lr"):
        value = o[key]
        _require(value is None or value > 0, f"optim.{key}", value, "a learning rate > 0")
    if "betas" in o:
        betas = list(o.betas)
        _require(
            len(betas) == 2 and all(0 <= b < 1 for b in betas), "optim.betas", betas, "two numbers in [0, 1)"
        )
    _require(o.weight_decay >= 0, "optim.weight_decay", o.weight_decay, "a number >= 0")
    for key in ("schedule", "g_schedule", "d_schedule"):
        value = o[key]
        _require(value is None or value in SCHEDULES, f"optim.{key}", value, " or ".join(SCHEDULES))
    decay = t.ema.decay
    _require(0 <= decay < 1, "trainer.ema.decay", decay, "0 <= decay < 1 (0 = off)")
    precision, compile_mode = str(t.precision).lower(), str(t.compile).lower()
    _require(precision in PRECISIONS, "trainer.precision", t.precision, ", ".join(PRECISIONS))
    _require(compile_mode in COMPILE_MODES, "trainer.compile", t.compile, ", ".join(COMPILE_MODES))
    _require(
        str(t.channels_last).lower() in TOGGLES, "trainer.channels_last", t.channels_last, "auto, true, false"
    )
    _require(t.on_nan in ("stop", "skip"), "trainer.on_nan", t.on_nan, "stop or skip")
    every = t.eval_every
    _require(every is None or every >= 0, "trainer.eval_every", every, "an integer >= 0 (0 = off), or null")
    _require(t.eval_n >= 2, "trainer.eval_n", t.eval_n, "an integer >= 2")
    features = ("classifier", "inception")
    _require(t.eval_features in features, "trainer.eval_features", t.eval_features, " or ".join(features))
    _require(t.eval_split in ("train", "test"), "trainer.eval_split", t.eval_split, "train or test")
    penalties = [k for k in ("gp_lambda", "r1_gamma") if cfg.loss.get(k, 0) > 0]
    if penalties and compile_mode != "false":
        raise UserError(
            f"trainer.compile={t.compile} with loss.{penalties[0]}: torch.compile cannot take the double "
            "backward of a gradient penalty; use trainer.compile=false"
        )
    if penalties and precision == "16-mixed":
        raise UserError(
            f"trainer.precision=16-mixed with loss.{penalties[0]}: use bf16 or 32 with gradient penalties "
            "(fp16 loss scaling would distort them)"
        )
    if "momentum" in o:
        _require(0 <= o.momentum < 1, "optim.momentum", o.momentum, "0 <= momentum < 1")

    d = cfg.data
    if "split" in d:
        _require(d.split in ("train", "test"), "data.split", d.split, "train or test")
    if "image_size" in d:
        _require(8 <= d.image_size <= 1024, "data.image_size", d.image_size, "an integer in [8, 1024]")
    if "channels" in d:
        _require(d.channels in (1, 3), "data.channels", d.channels, "1 or 3")
    if "workers" in d:
        _require(d.workers >= 0, "data.workers", d.workers, "an integer >= 0")
    if "n_points" in d:
        _require(d.n_points >= 1, "data.n_points", d.n_points, "an integer >= 1")
    if "std" in d:
        _require(d.std > 0, "data.std", d.std, "a number > 0")
    if d.name in ("ring8", "grid25") and m.name != "mlp":
        raise UserError(f"model={m.name} needs image data; the 2D set data={d.name} trains with model=mlp")


def _validate_loss(loss: DictConfig, model: DictConfig) -> None:
    for key in ("gp_lambda", "r1_gamma", "clip"):
        value = loss[key]
        _require(math.isfinite(value) and value >= 0, f"loss.{key}", value, "a finite number >= 0 (0 = off)")
    _require(
        loss.r1_every >= 1, "loss.r1_every", loss.r1_every, "an integer >= 1 (D steps between R1 updates)"
    )
    if loss.name == "lsgan":
        for key in ("a", "b", "c"):
            _require(math.isfinite(loss[key]), f"loss.{key}", loss[key], "a finite number")
        if loss.a == loss.b:
            raise UserError(
                f"loss.a={loss.a} equals loss.b: D's targets for fake and real data must differ "
                "(Mao et al. 2017 use a=-1 b=1 c=0, or a=0 b=1 c=1)"
            )

    # Weight clipping bounds a critic's Lipschitz constant; a classifier or margin loss gains
    # nothing from it but capacity loss (Arjovsky et al. 2017 clip only the WGAN critic).
    if loss.clip > 0 and loss.name != "wgan":
        raise UserError(
            f"loss.clip={loss.clip} with loss={loss.name}: "
            "weight clipping is for the wgan critic (use loss=wgan)"
        )
    # Gulrajani et al. 2017 propose the penalty as the replacement for clipping: clipped
    # weights cannot reach the unit gradient norm the penalty asks for.
    if loss.gp_lambda > 0 and loss.clip > 0:
        raise UserError(
            f"loss.gp_lambda={loss.gp_lambda} with loss.clip={loss.clip}: the gradient penalty replaces "
            "weight clipping (Gulrajani et al. 2017); add loss.clip=0"
        )
    # E[D(G(z))] - E[D(x)] is unbounded below for an unconstrained critic: D's outputs diverge.
    constrained = (
        loss.clip > 0 or loss.gp_lambda > 0 or loss.r1_gamma > 0 or model.get("d_spectral_norm", False)
    )
    if loss.name == "wgan" and not constrained:
        raise UserError(
            "loss=wgan needs a Lipschitz critic: set loss.clip=0.01 (Arjovsky et al. 2017), "
            "loss.gp_lambda=10 (Gulrajani et al. 2017) or model.d_spectral_norm=true (Miyato et al. 2018)"
        )


def validate_sample(cfg: DictConfig) -> None:
    """`gan sample`'s checks that need no checkpoint: UserError naming key, value and allowed range."""
    refuse_targets(cfg)
    if "ckpt" in OmegaConf.missing_keys(cfg) or not str(cfg.ckpt).strip():
        raise UserError("ckpt is required: add ckpt=<checkpoint .pt file or run folder> to the command line")
    _require(cfg.n >= 1, "n", cfg.n, "an integer >= 1")
    _require(cfg.batch_size >= 1, "batch_size", cfg.batch_size, "an integer >= 1")
    _require(cfg.steps >= 2, "steps", cfg.steps, "an integer >= 2 (the two endpoints count)")
    _require(
        cfg.nrow is None or cfg.nrow >= 1, "nrow", cfg.nrow, "an integer >= 1, or null for about sqrt(n)"
    )
    _require(cfg.format in SAMPLE_FORMATS, "format", cfg.format, ", ".join(SAMPLE_FORMATS))
    _require(bool(DEVICE_PATTERN.match(cfg.device)), "device", cfg.device, "auto, cpu, cuda, cuda:N or mps")
    _require(cfg.out is None or str(cfg.out).strip() != "", "out", cfg.out, "a file or folder name, or null")
    # Options that would be silently ignored are refused, so no one waits for output that never comes.
    if cfg.gif and not cfg.interpolate:
        raise UserError("gif=true animates an interpolation: add interpolate=true")
    if cfg.interpolate and cfg.format != "grid":
        raise UserError(
            f"format={cfg.format} does not apply with interpolate=true, which writes a grid "
            "(and a GIF with gif=true); drop format="
        )
    if cfg.interpolate and cfg.nrow is not None:
        raise UserError(
            f"nrow={cfg.nrow} does not apply with interpolate=true: each grid row is one walk "
            "of `steps` images"
        )


def validate_eval(cfg: DictConfig) -> None:
    """`gan eval`'s checks that need no checkpoint: UserError naming key, value and allowed range."""
    refuse_targets(cfg)
    if "ckpt" in OmegaConf.missing_keys(cfg) or not str(cfg.ckpt).strip():
        raise UserError("ckpt is required: add ckpt=<checkpoint .pt file or run folder> to the command line")
    if cfg.metrics is not None:
        metrics = list(cfg.metrics)
        _require(
            len(metrics) >= 1, "metrics", metrics, "a list such as [fid,kid,pr], or null for the defaults"
        )
        for name in metrics:
            _require(name in EVAL_METRICS, "metrics", name, ", ".join(EVAL_METRICS))
    _require(cfg.n >= 2, "n", cfg.n, "an integer >= 2")
    _require(cfg.split in ("train", "test"), "split", cfg.split, "train or test")
    _require(cfg.features in EVAL_FEATURES, "features", cfg.features, ", ".join(EVAL_FEATURES))
    _require(cfg.batch_size >= 1, "batch_size", cfg.batch_size, "an integer >= 1")
    _require(bool(DEVICE_PATTERN.match(cfg.device)), "device", cfg.device, "auto, cpu, cuda, cuda:N or mps")
    _require(
        cfg.out is None or str(cfg.out).strip() != "", "out", cfg.out, "a .json file or a folder, or null"
    )
    _require(
        cfg.data_root is None or str(cfg.data_root).strip() != "",
        "data_root",
        cfg.data_root,
        "a folder, or null for the checkpoint's data.root",
    )
