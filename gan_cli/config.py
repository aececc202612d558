"""Config schemas: types via dataclasses (checked by OmegaConf while Hydra composes), ranges and
cross-option rules in `validate`, both before torch is imported.

Each group option's YAML file (configs/<group>/<option>.yaml) extends the schema stored here as
`<group>_<option>_schema` (a name outside the groups, so help lists only real options), so a typo'd
key or a wrong type is refused for that option alone.
"""

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


@dataclass
class DCGANModel:
    name: str = "dcgan"
    z_dim: int = 100
    width: int = 64
    g_batchnorm: bool = True
    d_batchnorm: bool = True
    slope: float = 0.2


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
class NSLoss:
    name: str = "ns"


# ---- optim ---------------------------------------------------------------------------------------
@dataclass
class AdamOptim:
    name: str = "adam"
    lr: float = 2e-4
    g_lr: Optional[float] = None  # None: use lr (set both for TTUR)
    d_lr: Optional[float] = None
    betas: List[float] = field(default_factory=lambda: [0.5, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class AdamWOptim(AdamOptim):
    name: str = "adamw"
    weight_decay: float = 0.01


@dataclass
class RMSpropOptim:
    name: str = "rmsprop"
    lr: float = 5e-5
    g_lr: Optional[float] = None
    d_lr: Optional[float] = None
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    weight_decay: float = 0.0


@dataclass
class SGDOptim:
    name: str = "sgd"
    lr: float = 1e-2
    g_lr: Optional[float] = None
    d_lr: Optional[float] = None
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0


# ---- trainer and the whole train config -----------------------------------------------------------
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


@dataclass
class TrainConfig:
    model: Any = MISSING
    data: Any = MISSING
    loss: Any = MISSING
    optim: Any = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    device: str = "auto"
    seed: int = 0


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
    "loss": {"ns": NSLoss},
    "optim": {"adam": AdamOptim, "adamw": AdamWOptim, "rmsprop": RMSpropOptim, "sgd": SGDOptim},
}


def register_schemas() -> None:
    """Store the schemas in Hydra's ConfigStore (the only place this module touches Hydra)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    for group, options in SCHEMAS.items():
        for option, schema in options.items():
            store.store(name=f"{group}_{option}_schema", node=schema, package=group)


# ---- ranges and cross-option rules --------------------------------------------------------------
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UserError(f"{key}={value!r} is out of range: {allowed}")


def validate(cfg: DictConfig) -> None:
    """Raise UserError naming the key, the value and the allowed range for the first bad value."""
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
