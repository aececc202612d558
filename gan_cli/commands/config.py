"""Config schemas: types via dataclasses (checked by OmegaConf while Hydra composes), ranges and
cross-option rules in `validate`, both before torch is imported.

The root configs' schemas (train, sample, eval and the trainer) are written here. Every component
(model family, data set, loss, optimizer, ...) brings its own schema, ranges and checks in its
registration (gan_cli.registry); `register_schemas` stores each in Hydra's ConfigStore as
`<group>_<option>_schema` (a name outside the groups, so help lists only real options), which the
option's YAML file (configs/<group>/<option>.yaml) extends, so a typo'd key or a wrong type is
refused for that option alone. An option without a YAML file (a plugin's) is stored in its group too.
"""

import dataclasses
import difflib
import math
import os
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, List, Optional

from omegaconf import MISSING, DictConfig, OmegaConf

# registering modules (torch-free): the metrics and feature extractors gan eval's checks list
import gan_cli.evaluation.metrics  # noqa: F401
import gan_cli.metrics.extractors  # noqa: F401
from gan_cli import registry
from gan_cli.errors import UserError
from gan_cli.registry import Range


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
    pack: int = 1  # PacGAN (Lin et al. 2018): D scores this many samples at once; must divide batch_size
    # processes `gan train` starts for this run through torch.distributed.run (one per GPU; gloo on
    # CPU); batch_size is the batch of all of them together. Under torchrun or SLURM: the launcher's.
    devices: int = 1
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
class FinetuneConfig:
    """How a run started with init_from= takes the checkpoint (gan_cli/training/finetune.py)."""

    use_ema: bool = True  # G starts from the checkpoint's EMA generator when it has one
    keep_optimizer: bool = False  # carry the optimizers' moments over (default: fresh optimizers)
    freeze_d: int = 0  # D's first N blocks (from the input) get no gradient: FreezeD (Mo et al. 2020)
    freeze_g: int = 0  # G's first N blocks (from the latent) likewise


@dataclass
class TrainConfig:
    model: Any = MISSING
    data: Any = MISSING
    loss: Any = MISSING
    optim: Any = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    device: str = "auto"
    seed: int = 0
    # checkpoint to continue from (set by the `resume=` handling in commands/resume.py, which also
    # reads resume=auto: this run folder's last.pt when it has one, else a fresh start)
    resume: Optional[str] = None
    init_from: Optional[str] = None  # a checkpoint or run folder whose weights a new run starts from
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)


# ---- gan sample ---------------------------------------------------------------------------------
# wav: audio checkpoints (one .wav per clip and a spectrogram grid, what grid means for audio too);
# the data kind refuses a format it cannot write (DataKind.output_roles)
SAMPLE_FORMATS = ("grid", "png", "npy", "wav")


@dataclass
class SampleConfig:
    ckpt: str = MISSING  # a checkpoint file, or a run folder (its best.pt, else last.pt)
    n: int = 64  # samples; with interpolate=true, the number of interpolation rows
    seed: int = 0
    batch_size: int = 256  # samples moved to the device and written per step; never changes the output
    device: str = "auto"
    format: str = "grid"  # grid, png, npy or wav (audio)
    nrow: Optional[int] = None  # grid columns; None: about sqrt(n)
    interpolate: bool = False
    steps: int = 8  # images per interpolation row, endpoints included
    vary: Optional[str] = None  # cat<i> | cont<i> | z<i>: one part of the latent varied across a grid
    reconstruct: bool = False  # an autoencoder checkpoint: test images over their reconstructions
    input: Optional[str] = None  # with reconstruct: a folder of images to reconstruct instead
    gif: bool = False  # with interpolate: also an animated GIF, one frame per step
    use_ema: bool = True  # the EMA generator when the checkpoint holds one
    out: Optional[str] = None  # a file or a folder; None: the command's run folder
    # conditional checkpoints: the classes to sample, one row per class in a grid (None: all in
    # turn; a grid shows the first 10). `class=K` (one class) is a key of the schema node too:
    # `class` is a Python keyword, so no dataclass field can have the name (see sample_schema).
    # List[Any], checked in validate_sample: a typed List[int] could not take the out-of-range
    # values the range tests set, and the elements' one-line errors are ours either way.
    classes: Optional[List[Any]] = None


# Keys a root schema's node holds beyond its dataclass fields (names Python cannot give a field).
EXTRA_KEYS: dict[type, tuple[str, ...]] = {SampleConfig: ("class",)}


def sample_schema(**values: Any) -> DictConfig:
    """SampleConfig as a typed config node, plus `class` (an optional int, typed like the fields:
    class=abc is refused while the config is composed). What the ConfigStore holds as sample_schema."""
    from omegaconf.nodes import IntegerNode

    node = OmegaConf.structured(SampleConfig)
    node._set_flag("struct", False)
    node["class"] = IntegerNode(None, is_optional=True)
    node._set_flag("struct", None)  # as structured() leaves it: the dataclass alone closes the node
    for key, value in values.items():
        node[key] = value
    return node


# ---- gan eval -----------------------------------------------------------------------------------
# From the registries: both registering modules are torch-free, so config errors still answer
# before torch loads.
EVAL_METRICS = tuple(registry.METRICS.names())
EVAL_FEATURES = tuple(registry.EXTRACTORS.names())


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
    nll_k: int = 100  # importance samples per image of the nll bound (VAE checkpoints)


# The registries whose components are picked by a config group of `gan train` (model=, data=, ...):
# each option's keys sit under the group's key (cfg.model.*), its name in cfg.<group>.name.
GROUPS: dict[str, registry.Registry] = {
    r.key: r
    for r in (registry.MODELS, registry.DATA, registry.LOSSES, registry.OPTIMIZERS, registry.AUGMENTS)
}


def group_schemas() -> dict[str, dict[str, type]]:
    """group -> option -> schema, from the registries (built-in components and plugins)."""
    registry.load_all()
    return {group: {e.name: e.schema for e in reg if e.schema is not None} for group, reg in GROUPS.items()}


def _config_folder_has(*parts: str) -> bool:
    return resources.files("gan_cli.configs").joinpath(*parts).is_file()


def _is_config_group(key: str) -> bool:
    return resources.files("gan_cli.configs").joinpath(key).is_dir()


def register_schemas() -> None:
    """Load every component (built-in, then the `gan_cli.plugins` entry points) and store the
    schemas in Hydra's ConfigStore (the only place this module touches Hydra)."""
    from hydra.core.config_store import ConfigStore

    registry.load_all()
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="sample_schema", node=sample_schema())
    store.store(name="eval_schema", node=EvalConfig)
    for reg in registry.ALL.values():
        for entry in reg:
            if entry.schema is None:
                continue
            store.store(name=f"{reg.key}_{entry.name}_schema", node=entry.schema, package=reg.key)
            # An option with no YAML file (a plugin's) is its schema alone: stored in the group, it
            # is listed by --help and picked by <group>=<name> like any other.
            if _is_config_group(reg.key) and not _config_folder_has(reg.key, f"{entry.name}.yaml"):
                node = OmegaConf.structured(entry.schema)
                node.name = entry.name  # whatever the schema's own default for it (a shared one's ???)
                store.store(group=reg.key, name=entry.name, node=node)
    if not OmegaConf.has_resolver("gan_components"):
        # configs/hydra/help/gan_train.yaml shows ${gan_components:}: one line per option
        OmegaConf.register_new_resolver("gan_components", components_help)


def components_help() -> str:
    """Each registered config group's options with their one-line summaries, for `gan train --help`."""
    lines = []
    for reg in registry.ALL.values():
        entries = list(reg)
        if not entries or not _is_config_group(reg.key):
            continue
        width = max(len(e.name) for e in entries)
        lines.append(f"{reg.key}:" if reg.kind == reg.key else f"{reg.key} ({reg.kind}):")
        lines += [f"  {e.name:<{width}}  {e.summary}".rstrip() for e in entries]
    return "\n".join(lines)


# ---- ranges: the one table of what each numeric key may hold ------------------------------------
# Kept here rather than imported from gan_cli.device, which imports torch.
PRECISIONS = ("auto", "32", "bf16", "16-mixed")
COMPILE_MODES = ("false", "true", "reduce-overhead")
TOGGLES = ("auto", "true", "false")

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
# torch.device overflows on an index past int64; no machine has more GPUs than this.
MAX_DEVICE_INDEX = 1023

SEED_MAX = 2**32 - 1  # numpy's seeds are 32-bit: a wider seed would be cut, and two seeds could collide
MAX_STEPS = 10**9  # generator updates: years of training at the fastest step rates measured
MAX_BATCH = 65_536
MAX_SAMPLES = 100_000  # images generated by one command (grids, files, metrics); FID uses 50,000
# G + D: BigGAN-deep has 0.16 billion; 16 bytes each (weights, gradients, two Adam moments) in fp32.
MAX_PARAMETERS = 10**9
# More than any single GPU holds (an H200 has 141 GiB); on the CPU, the machine's memory counts.
GPU_MEMORY_CAP = 256 * 2**30
NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs, APFS, NTFS)
PATH_MAX = 4096
MAX_CLASSES = 100_000  # class labels of a conditional generator (ImageNet-21k has 21,841)


_INTERVAL = Range(1, MAX_STEPS)

# key -> its range, per command, for the root configs' keys; the keys of a group option (model.*,
# data.*, loss.*, optim.*) have theirs in the option's registration (see `ranges`). For a list
# the range holds for each element.
RANGES: dict[str, dict[str, Range]] = {
    "train": {
        "seed": Range(0, SEED_MAX),
        "trainer.steps": Range(1, MAX_STEPS),
        "trainer.epochs": Range(0.0, 100_000.0, low_open=True, null=True),
        "trainer.batch_size": Range(1, MAX_BATCH),
        "trainer.d_steps": Range(1, 1000),
        "trainer.pack": Range(1, 64, note="samples D scores at once; divides trainer.batch_size"),
        "trainer.devices": Range(1, 1024, note="processes of this run; each gets batch_size / devices"),
        "trainer.log_every": _INTERVAL,
        "trainer.sample_every": _INTERVAL,
        "trainer.ckpt_every": _INTERVAL,
        "trainer.keep_checkpoints": Range(0, 1000),
        "trainer.n_samples": Range(1, 1024),
        "trainer.ema.decay": Range(0.0, 1.0, high_open=True, note="0 = off"),
        "trainer.eval_every": Range(0, MAX_STEPS, null=True, note="0 = off"),
        "trainer.eval_n": Range(2, MAX_SAMPLES),
        "finetune.freeze_d": Range(0, 1000, note="D's first N blocks; 0 = none"),
        "finetune.freeze_g": Range(0, 1000, note="G's first N blocks; 0 = none"),
    },
    "sample": {
        "n": Range(1, MAX_SAMPLES),
        "seed": Range(0, SEED_MAX),
        "batch_size": Range(1, MAX_BATCH),
        "nrow": Range(1, MAX_SAMPLES, null=True, note="null: about sqrt(n)"),
        "steps": Range(2, 1000, note="the two endpoints count"),
    },
    "eval": {
        "n": Range(2, MAX_SAMPLES),
        "seed": Range(0, SEED_MAX),
        "batch_size": Range(1, MAX_BATCH),
        "nll_k": Range(1, 100_000, note="importance samples per image"),
    },
}
# class= and each of classes= (keys outside RANGES: `class` is no dataclass field, and classes is
# a list of Any); the checkpoint's own classes are checked once it is loaded (sampling.labels).
CLASS_RANGE = Range(0, MAX_CLASSES - 1, null=True, note="a class of the checkpoint's generator")

# Keys that name files or folders: each name in them must fit the file system.
PATH_KEYS: dict[str, tuple[str, ...]] = {
    "train": ("data.root", "data.path", "resume", "init_from"),
    "sample": ("ckpt", "out", "input"),
    "eval": ("ckpt", "out", "data_root"),
}
ROOT_SCHEMAS = {"train": TrainConfig, "sample": SampleConfig, "eval": EvalConfig}
# Hydra's own grammar for booleans (any case); OmegaConf would also turn yes/no/on/off/1/0 into a
# bool, so model.g_batchnorm=2 would silently mean true.
BOOLEAN_WORDS = ("true", "false")

_ABSENT = object()


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


def ranges(cfg: DictConfig, command: str) -> dict[str, Range]:
    """Every key of cfg that has a range: the root keys of RANGES[command], and for `gan train`
    those of the options the config picked, as their registrations state them."""
    found = dict(RANGES[command])
    if command == "train":
        for group, entry in chosen(cfg).items():
            found.update({f"{group}.{key}": allowed for key, allowed in entry.ranges.items()})
    return found


def option_ranges() -> dict[str, tuple[str, Range]]:
    """Every group key that has a range in some option: `group.key` -> (the first option, by
    name, that has it; its range there). What a fuzz or a table of all ranges walks."""
    registry.load_all()
    found: dict[str, tuple[str, Range]] = {}
    for group, reg in GROUPS.items():
        for entry in reg:
            for key, allowed in entry.ranges.items():
                found.setdefault(f"{group}.{key}", (entry.name, allowed))
    return found


def chosen(cfg: DictConfig) -> dict[str, registry.Entry]:
    """group -> the registered option cfg picked (unknown names: one line listing the valid ones)."""
    registry.load_all()
    return {group: reg.get(cfg[group].name) for group, reg in GROUPS.items() if group in cfg}


def check_ranges(cfg: DictConfig, command: str) -> None:
    """Every key of cfg that has a range, against it."""
    for key, allowed in ranges(cfg, command).items():
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is _ABSENT:
            continue
        values = list(value) if OmegaConf.is_list(value) else [value]
        for item in values:
            integer = isinstance(item, int) and not isinstance(item, bool)
            shown = item if len(values) == 1 else list(values)
            _require(allowed.admits(item), key, shown, allowed.describe(integer))


def check_paths(cfg: DictConfig, command: str) -> None:
    """A name longer than the file system takes fails deep inside open() or mkdir with ENAMETOOLONG."""
    for key in PATH_KEYS[command]:
        value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        if not isinstance(value, str):
            continue
        encoded = os.fsencode(os.path.expanduser(value))
        if len(encoded) > PATH_MAX:
            raise UserError(f"{key}: the path is {len(encoded)} bytes long; paths are at most {PATH_MAX}")
        for name in encoded.split(b"/"):
            if len(name) > NAME_MAX:
                shown = os.fsdecode(name)[:40]
                raise UserError(
                    f"{key}: the file name '{shown}...' is {len(name)} bytes long; "
                    f"file names are at most {NAME_MAX}"
                )


def _suggestion(key: str, siblings: list[str], parent: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, siblings, n=1)
    if close:
        return f" (did you mean {parent}{close[0]}?)"
    # +steps=5 meant trainer.steps: compare with the last part of every known key
    tails = {full.rsplit(".", 1)[-1]: full for full in known}
    close = difflib.get_close_matches(key, list(tails), n=1)
    if close:
        return f" (did you mean {tails[close[0]]}?)"
    return f" (valid keys{' of ' + parent.rstrip('.') if parent else ''}: {', '.join(siblings)})"


def refuse_unknown_keys(cfg: DictConfig) -> None:
    """Hydra's `+key=value` adds a key even to a config its schema closes, where nothing reads it:
    every key must be a field of the schema of the node that holds it."""
    known: list[str] = []
    unknown: list[tuple[str, list[str], str]] = []  # (key, the schema's fields, parent path)

    def walk(node: DictConfig, path: str) -> None:
        schema = OmegaConf.get_type(node)
        if not dataclasses.is_dataclass(schema):
            return
        fields = [f.name for f in dataclasses.fields(schema)] + list(EXTRA_KEYS.get(schema, ()))
        for key in node.keys():
            in_schema = key in fields
            if not in_schema and not (path == "" and _is_config_group(str(key))):
                unknown.append((str(key), fields, path))
                continue
            # a config group composed before the root schema (recipe, logger) is no field of it:
            # its option's schema (recipe_gan_schema) types the node, so `+recipe.foo=1` is checked there
            known.append(f"{path}{key}")
            child = node._get_node(key)
            if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
                walk(child, f"{path}{key}.")

    walk(cfg, "")
    if unknown:
        key, fields, parent = unknown[0]
        raise UserError(
            f"unknown key '{parent}{key}'{_suggestion(key, fields, parent, known)}: nothing reads it"
        )


def task_overrides(job_name: str) -> list[str]:
    """The command line's overrides of the Hydra job running now (none outside one)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.job.name != job_name:
        return []
    return [str(line) for line in hydra_cfg.overrides.task]


def refuse_non_booleans(cfg: DictConfig, overrides: list[str]) -> None:
    """OmegaConf has already turned model.g_batchnorm=2 into True, so the command line's own
    words are read: a boolean key takes true or false only."""
    if not overrides:
        return
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # noqa: BLE001 - Hydra has parsed these once already; nothing to add here
        return
    for override in parsed:
        if override.is_delete() or override.package or override.is_sweep_override():
            continue
        key = override.key_or_group
        if not isinstance(OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False), bool):
            continue
        value = override.value()
        if isinstance(value, bool) or (isinstance(value, str) and value.lower() in BOOLEAN_WORDS):
            continue
        raise UserError(
            f"{key}={override.get_value_element_as_str()} is not a boolean: use {key}=true or {key}=false"
        )


def _common_checks(cfg: DictConfig, command: str, overrides: list[str] | None) -> None:
    refuse_targets(cfg)
    refuse_unknown_keys(cfg)
    refuse_non_booleans(cfg, task_overrides(command) if overrides is None else overrides)
    check_paths(cfg, command)


def _check_device(device: str) -> None:
    _require(bool(DEVICE_PATTERN.match(device)), "device", device, "auto, cpu, cuda, cuda:N or mps")
    index = device.partition(":")[2]
    _require(
        not index or int(index) <= MAX_DEVICE_INDEX, "device", device, f"cuda:N with N <= {MAX_DEVICE_INDEX}"
    )


def warn(message: str) -> None:
    """A warning on the console, once per run: the workers of a run with several processes leave
    it to the process that checked the config first (rank 0, or the `trainer.devices` launcher)."""
    from gan_cli import distributed
    from gan_cli.commands.launch import LAUNCHED_ENV

    context = distributed.current()
    if not context.is_main or (context.is_distributed and os.environ.get(LAUNCHED_ENV)):
        return
    sys.stderr.write(f"gan: warning: {message}\n")
    sys.stderr.flush()


def _warn_long_intervals(t: DictConfig) -> None:
    """An interval past the last step is not an error (the last step logs, samples and saves), but
    it is usually a forgotten default, e.g. a short test run."""
    if t.epochs is not None:
        return  # the run's length is known only once the data is
    keys = ["log_every", "sample_every", "ckpt_every"] + (["eval_every"] if t.eval_every else [])
    longer = [f"trainer.{key}={t[key]}" for key in keys if t[key] > t.steps]
    if longer:
        warn(
            f"{', '.join(longer)} {'is' if len(longer) == 1 else 'are'} longer than the run "
            f"(trainer.steps={t.steps}): only the last step does {'it' if len(longer) == 1 else 'them'}"
        )


def _memory_limit(device: str) -> int:
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = GPU_MEMORY_CAP
    return ram if device == "cpu" else max(ram, GPU_MEMORY_CAP)


def _check_size(cfg: DictConfig, model: registry.Entry) -> None:
    """Parameters and memory of the networks from the config alone, so an absurd model is refused
    before torch allocates it (rough: the family's own estimate, activations of one step)."""
    estimate = model.facts.get("size")
    if estimate is None:
        return  # a family that does not say (a plugin's): the allocator will
    from gan_cli.data.shapes import data_shape

    m, t = cfg.model, cfg.trainer
    elements = math.prod(data_shape(cfg.data, look=False))
    batch = int(t.batch_size)
    parameters, per_example = estimate(m, elements)
    if parameters > MAX_PARAMETERS:
        raise UserError(
            f"model={m.name} with these sizes has about {parameters:.2g} parameters; at most "
            f"{MAX_PARAMETERS:.0e} fit (reduce the widths, model.z_dim or data.image_size)"
        )
    needed = 16 * parameters + 3 * 4 * batch * per_example  # fp32: weights, grads, Adam; activations + grads
    limit = _memory_limit(str(cfg.device))
    if needed > limit:
        raise UserError(
            f"trainer.batch_size={batch} with model={m.name} needs about {needed / 2**30:,.0f} GiB "
            f"per step; at most {limit / 2**30:,.0f} GiB fit here: use a smaller batch or model"
        )


def _check_data_kind(model: registry.Entry, data: registry.Entry) -> None:
    """A model family states the data kinds it accepts, a data set its kind (gan_cli.data.kinds)."""
    from gan_cli.data.kinds import kind_named

    accepted, kind = model.facts.get("kinds"), data.facts.get("kind")
    if accepted is None or kind is None or kind in accepted:
        return
    takers = [f"model={e.name}" for e in registry.MODELS if kind in e.facts.get("kinds", (kind,))]
    raise UserError(
        f"model={model.name} needs {' or '.join(accepted)} data; data={data.name} holds "
        f"{kind_named(kind).describe}" + (f" (use {' or '.join(takers)})" if takers else "")
    )


def validate(cfg: DictConfig, overrides: list[str] | None = None) -> None:
    """Raise UserError naming the key, the value and the allowed range for the first bad value.
    overrides: the command line's (None: the running Hydra job's), read for boolean keys."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        key = missing[0]
        hint = " (the folder of images to train on)" if key == "data.path" else ""
        raise UserError(f"{key} is required{hint}: add {key}=... to the command line")
    _common_checks(cfg, "train", overrides)
    check_ranges(cfg, "train")

    t = cfg.trainer
    _check_device(cfg.device)
    options = chosen(cfg)
    for group, entry in options.items():
        check = entry.facts.get("check")  # the option's own rules on its keys (lsgan: a != b)
        if check is not None:
            check(cfg[group])
    # the data kind first: a set may pick a recipe for the family that takes it (ring8: InfoGAN's
    # codes for mlp), which another family refusing that recipe would otherwise be blamed on
    _check_data_kind(options["model"], options["data"])
    trained_by = options["model"].facts.get("recipes") if "model" in options else None
    recipe_name = cfg.recipe.name if "recipe" in cfg else "gan"
    if trained_by and recipe_name not in trained_by:  # vae/ae: the GAN step has no encoder to train
        raise UserError(
            f"recipe={recipe_name} cannot train model={cfg.model.name}, which trains with "
            f"recipe={' or '.join(trained_by)}: drop recipe={recipe_name}"
        )
    m = cfg.model
    batchnorm = m.get("g_batchnorm", False) or (m.get("d_batchnorm", False) and not m.d_spectral_norm)
    if batchnorm and t.batch_size < 2:
        raise UserError(
            f"trainer.batch_size={t.batch_size} with BatchNorm: it needs at least 2 examples per batch; "
            "use trainer.batch_size>=2 or model.g_batchnorm=false"
            + (" model.d_batchnorm=false" if m.get("d_batchnorm", False) else "")
        )

    pack = t.get("pack", 1)
    if t.batch_size % pack:
        raise UserError(
            f"trainer.pack={pack} does not divide trainer.batch_size={t.batch_size}: "
            f"D scores the batch in packs of {pack}; "
            "use a batch size that is a multiple of it, or trainer.pack=1"
        )
    d_batchnorm = m.get("d_batchnorm", False) and not m.get("d_spectral_norm", False)
    if pack > 1 and d_batchnorm and t.batch_size // pack < 2:
        raise UserError(
            f"trainer.pack={pack} with trainer.batch_size={t.batch_size} leaves D's BatchNorm one pack per "
            f"batch; use trainer.batch_size>={2 * pack} or model.d_batchnorm=false"
        )

    _validate_loss(cfg.loss, options["loss"], m)

    precision, compile_mode = str(t.precision).lower(), str(t.compile).lower()
    _require(precision in PRECISIONS, "trainer.precision", t.precision, ", ".join(PRECISIONS))
    _require(compile_mode in COMPILE_MODES, "trainer.compile", t.compile, ", ".join(COMPILE_MODES))
    _require(
        str(t.channels_last).lower() in TOGGLES, "trainer.channels_last", t.channels_last, "auto, true, false"
    )
    _require(t.on_nan in ("stop", "skip"), "trainer.on_nan", t.on_nan, "stop or skip")
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

    _check_size(cfg, options["model"])
    _warn_long_intervals(t)


def check_eval_primary(primary: str, metrics: list[str], data_name: str) -> None:
    """trainer.eval_primary must be a result of the run's metrics; otherwise the mismatch would
    show only at the first evaluation, after training. Called once the data (and so the metrics
    that apply to it) is known."""
    keys = [key for name in metrics for key in registry.METRICS.get(name).keys]
    if primary not in keys:
        raise UserError(
            f"trainer.eval_primary={primary} is not a result of the metrics for data={data_name} "
            f"({', '.join(metrics)}); valid: {', '.join(keys)}"
        )


def _validate_loss(loss: DictConfig, entry: registry.Entry, model: DictConfig) -> None:
    """The loss's rules that involve the regularizers or the model (its own are in its check)."""
    # Weight clipping bounds a critic's Lipschitz constant: only a loss that `clips` gains from it.
    if loss.clip > 0 and not entry.facts.get("clips", False):
        clippers = " or ".join(f"loss={e.name}" for e in registry.LOSSES if e.facts.get("clips"))
        raise UserError(
            f"loss.clip={loss.clip} with loss={loss.name}: "
            f"weight clipping is for the wgan critic (use {clippers})"
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
    if entry.facts.get("needs_lipschitz", False) and not constrained:
        raise UserError(
            f"loss={loss.name} needs a Lipschitz critic: set loss.clip=0.01 (Arjovsky et al. 2017), "
            "loss.gp_lambda=10 (Gulrajani et al. 2017) or model.d_spectral_norm=true (Miyato et al. 2018)"
        )


def _checkpoint_command_checks(cfg: DictConfig, command: str, overrides: list[str] | None) -> None:
    """What `gan sample` and `gan eval` check alike: no _target_, a checkpoint named, the shared keys."""
    refuse_targets(cfg)
    if "ckpt" in OmegaConf.missing_keys(cfg) or not str(cfg.ckpt).strip():
        raise UserError("ckpt is required: add ckpt=<checkpoint .pt file or run folder> to the command line")
    _common_checks(cfg, command, overrides)


def validate_sample(cfg: DictConfig, overrides: list[str] | None = None) -> None:
    """`gan sample`'s checks that need no checkpoint: UserError naming key, value and allowed range.
    overrides: the command line's (None: the running Hydra job's), read for boolean keys."""
    _checkpoint_command_checks(cfg, "sample", overrides)
    check_ranges(cfg, "sample")
    _require(cfg.format in SAMPLE_FORMATS, "format", cfg.format, ", ".join(SAMPLE_FORMATS))
    _check_device(cfg.device)
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
    single, many = cfg.get("class"), cfg.get("classes")
    _require(CLASS_RANGE.admits(single), "class", single, CLASS_RANGE.describe(True))
    if many is not None:
        listed = list(many)
        each = Range(CLASS_RANGE.low, CLASS_RANGE.high, note="classes of the checkpoint's generator")
        for item in listed:
            integer = isinstance(item, int) and not isinstance(item, bool)
            _require(integer and each.admits(item), "classes", listed, f"each {each.describe(True)}")
    if single is not None and many is not None:
        raise UserError(
            f"class={single} and classes={_listed(many)} both name classes: give class=K for one, "
            "or classes=[a,b,...] for several"
        )
    if many is not None and not 1 <= len(many) <= MAX_SAMPLES:
        raise UserError(
            f"classes={_listed(many)} is out of range: a list of 1 to {MAX_SAMPLES:,} classes, "
            "or null for all of them"
        )
    if cfg.interpolate and cfg.n * cfg.steps > MAX_SAMPLES:
        raise UserError(
            f"n={cfg.n} walks of steps={cfg.steps} images make {cfg.n * cfg.steps:,} images; "
            f"at most {MAX_SAMPLES:,} in one grid"
        )


def _listed(values: Any) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def validate_eval(cfg: DictConfig, overrides: list[str] | None = None) -> None:
    """`gan eval`'s checks that need no checkpoint: UserError naming key, value and allowed range.
    overrides: the command line's (None: the running Hydra job's), read for boolean keys."""
    _checkpoint_command_checks(cfg, "eval", overrides)
    if cfg.metrics is not None:
        metrics = list(cfg.metrics)
        _require(
            len(metrics) >= 1, "metrics", metrics, "a list such as [fid,kid,pr], or null for the defaults"
        )
        for name in metrics:
            _require(name in EVAL_METRICS, "metrics", name, ", ".join(EVAL_METRICS))
    check_ranges(cfg, "eval")
    _require(cfg.split in ("train", "test"), "split", cfg.split, "train or test")
    _require(cfg.features in EVAL_FEATURES, "features", cfg.features, ", ".join(EVAL_FEATURES))
    _check_device(cfg.device)
    _require(
        cfg.out is None or str(cfg.out).strip() != "", "out", cfg.out, "a .json file or a folder, or null"
    )
    _require(
        cfg.data_root is None or str(cfg.data_root).strip() != "",
        "data_root",
        cfg.data_root,
        "a folder, or null for the checkpoint's data.root",
    )
