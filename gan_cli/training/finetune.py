"""`init_from=`: a new run whose networks start from a checkpoint's weights, and `finetune.freeze_d`
/ `finetune.freeze_g`: the first N blocks of D or G kept as the checkpoint has them.

Blocks, for every model family, come from the networks' module structure: a network's trunk is
its first child that is an nn.Sequential (mlp, dcgan, resnet: `net`); the trunk's children that
hold weights (or, once frozen, the buffers that replaced them) are walked in order, and each one
that is not a normalization layer starts a block (a normalization layer, BatchNorm or the
conditional one, joins the block before it). So:

- mlp: G one block per Linear (with its BatchNorm), from the latent; D one per Linear, from the
  input (D of 28x28 data: 3 blocks);
- dcgan: G one per ConvTranspose2d (with its BatchNorm); D one per Conv2d (with its BatchNorm)
  up to the last conv of the trunk;
- resnet: G the first Linear, then each UpBlock, then the last conv (the final BatchNorm joins
  the last UpBlock); D each OptimizedBlock / DownBlock, then the final Linear.

Heads and class embeddings outside the trunk (D's `head`, `project`, `class_head`, G's `embed`)
are never frozen. A frozen parameter becomes a buffer of the same name: it has no gradient, no
optimizer holds it, `requires_grad_(True)` cannot wake it, and the state_dict (so the checkpoint
format) is unchanged. Buffers inside frozen blocks (BatchNorm running statistics, spectral norm's
power-iteration vectors) still update in training mode as they always do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan_cli.errors import UserError

LAST = Path("checkpoints") / "last.pt"
NOT_COPIED = ("name",)  # model keys a checkpoint's config does not impose


# ---- which checkpoint ------------------------------------------------------------------------------
def source_path(target: str) -> Path:
    """The checkpoint file of an init_from= value: a .pt file, or a run folder's last.pt."""
    path = Path(target).expanduser()
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError as error:  # a name too long for the file system, a loop of links
        raise UserError(f"init_from={target[:200]}: cannot be read ({error.strerror or error})") from None
    if not exists:
        raise UserError(f"init_from={target}: no such file or folder (give a checkpoint or a run folder)")
    if is_dir:
        if not (path / LAST).is_file():
            raise UserError(f"init_from={target}: the folder holds no {LAST}")
        return path / LAST
    return path


def load_source(target: str) -> dict[str, Any]:
    """The checkpoint's payload, with what fine-tuning reads checked (one line naming the file)."""
    from gan_cli.outputs import checkpoint

    path = source_path(target)
    payload = checkpoint.load(path, expect=checkpoint.FOR_SAMPLING)
    if "generator" not in payload:
        raise UserError(f"init_from={target}: {path} holds no generator weights")
    payload["_path"] = str(path)
    return payload


# ---- the model config ------------------------------------------------------------------------------
def user_model_keys(overrides: Iterable[str] | None) -> set[str]:
    """The model keys the command line sets (model.z_dim=64 -> z_dim)."""
    keys = set()
    for line in overrides or ():
        key = line.split("=", 1)[0].lstrip("+~")
        if key.startswith("model.") and len(key) > len("model."):
            keys.add(key[len("model.") :].split(".", 1)[0])
    return keys


def merged_model_config(source_model: dict, current_model: dict, given: set[str]) -> dict:
    """The checkpoint's model config, with the keys the command line gave (`given`) taken from the
    current one; keys the current schema does not have (another gan_cli version's) are left out."""
    if source_model.get("name") != current_model.get("name"):
        raise UserError(
            f"init_from: model={current_model.get('name')} differs from the checkpoint's "
            f"{source_model.get('name')}; fine-tuning keeps the model family (drop model=)"
        )
    merged = {k: v for k, v in source_model.items() if k in current_model}
    for key in given:
        if key in current_model:
            merged[key] = current_model[key]
    return merged


# ---- blocks and freezing ---------------------------------------------------------------------------
def _is_norm(module: nn.Module) -> bool:
    return "Norm" in type(module).__name__


def trunk(network: nn.Module) -> nn.Sequential | None:
    """The network's first child that is an nn.Sequential (the network itself if it is one)."""
    if isinstance(network, nn.Sequential):
        return network
    for child in network.children():
        if isinstance(child, nn.Sequential):
            return child
    return None


def blocks(network: nn.Module) -> list[list[tuple[str, nn.Module]]]:
    """The trunk's blocks in order (each: [(name under the network, module), ...])."""
    body = trunk(network)
    if body is None:
        return []
    prefix = next((n for n, m in network.named_modules() if m is body), "")
    found: list[list[tuple[str, nn.Module]]] = []
    for name, child in body.named_children():
        if not child.state_dict():  # no weights (an activation); a frozen layer's are buffers
            continue
        full = f"{prefix}.{name}" if prefix else name
        if _is_norm(child) and found:
            found[-1].append((full, child))
        else:
            found.append([(full, child)])
    return found


def freeze(network: nn.Module, count: int, key: str, what: str) -> list[str]:
    """Turn the parameters of the network's first `count` blocks into buffers of the same names;
    returns their state_dict names. key: the config key (finetune.freeze_d), what: "D (model=dcgan)"."""
    if count <= 0:
        return []
    found = blocks(network)
    if count >= len(found):
        raise UserError(
            f"{key}={count} is out of range: {what} has {len(found)} blocks; "
            f"freeze at most {max(len(found) - 1, 0)} so that one still trains"
        )
    frozen = []
    for block in found[:count]:
        for block_name, block_module in block:
            for sub_name, module in block_module.named_modules():
                for name, parameter in list(module._parameters.items()):
                    if parameter is None:
                        continue
                    del module._parameters[name]
                    module.register_buffer(name, parameter.detach())
                    frozen.append(".".join(x for x in (block_name, sub_name, name) if x))
    return frozen


def frozen_positions(names_before: list[str], frozen: Iterable[str]) -> list[int]:
    """Positions, in the network's parameter order before freezing, of the parameters still trained."""
    gone = set(frozen)
    return [i for i, name in enumerate(names_before) if name not in gone]


# ---- loading the weights ---------------------------------------------------------------------------
def mismatches(network: nn.Module, state: dict[str, torch.Tensor]) -> list[tuple[str, Any, Any]]:
    """(key, shape here or None, shape in the checkpoint or None) for every tensor that differs."""
    here = network.state_dict()
    out = []
    for key in sorted(set(here) | set(state)):
        a = tuple(here[key].shape) if key in here else None
        b = tuple(state[key].shape) if key in state else None
        if a != b:
            out.append((key, a, b))
    return out


@dataclass
class Started:
    """What init_from did, for the banner."""

    source: str
    step: int
    generator_from: str  # "EMA generator" or "generator"
    reinitialized: dict[str, list[str]] = field(default_factory=dict)  # label -> keys
    frozen: dict[str, list[str]] = field(default_factory=dict)  # label -> parameter names

    def describe(self) -> str:
        text = f"{self.source} (step {self.step:,}; G from its {self.generator_from})"
        for label, keys in self.reinitialized.items():
            text += f"; {label} re-initialized for the new class count: {', '.join(keys)}"
        for label, names in self.frozen.items():
            if names:
                text += f"; {label} frozen: {len(names)} tensors"
        return text


def generator_state(source: dict[str, Any], use_ema: bool) -> tuple[dict, str]:
    if use_ema and source.get("ema_generator") is not None:
        return source["ema_generator"], "EMA generator"
    return source["generator"], "generator"


def _source_config(source: dict[str, Any], group: str) -> dict:
    return dict((source.get("config") or {}).get(group) or {})


def diagnose(
    source: dict[str, Any],
    cfg: Any,
    data_shape: tuple[int, ...],
    given: set[str],
    first: tuple[str, Any, Any],
) -> UserError:
    """The one line for weights that do not fit: the data's shape, trainer.pack, a model key the
    command line changed, or (nothing else found) the first tensor that differs."""
    saved_shape = tuple(source.get("shape") or ())
    data_name = cfg.data.name
    if saved_shape and tuple(data_shape) != saved_shape:
        before = _source_config(source, "data").get("name", "?")
        return UserError(
            f"init_from: data={data_name} has examples of shape {tuple(data_shape)} and the checkpoint's "
            f"model was built for {saved_shape} (data={before}); fine-tune on data of its shape"
            " (a folder: data.image_size and data.channels)"
        )
    pack_before = _source_config(source, "trainer").get("pack", 1)
    pack_now = cfg.trainer.get("pack", 1)
    if pack_before != pack_now:
        return UserError(
            f"init_from: trainer.pack={pack_now} changes D's input; the checkpoint has "
            f"trainer.pack={pack_before}"
        )
    saved_model = _source_config(source, "model")
    for key in sorted(given):
        if key in saved_model and saved_model[key] != cfg.model.get(key):
            return UserError(
                f"init_from: model.{key}={cfg.model.get(key)!r} changes the shape of the weights; the "
                f"checkpoint has model.{key}={saved_model[key]!r} (drop the override to fine-tune)"
            )
    key, here, there = first
    return UserError(
        f"init_from: the checkpoint's {key} has shape {there} and this model's {here}; "
        "they do not fit (start from a checkpoint of the same model)"
    )


def load_into(
    networks: dict[str, nn.Module],
    states: dict[str, dict],
    fail: Callable[[tuple[str, Any, Any]], UserError],
    probe: Callable[[], dict[str, nn.Module]] | None,
) -> dict[str, list[str]]:
    """Copy each state into its network. Where tensors differ and `probe` (the same networks built
    for the checkpoint's class count) fits the checkpoint, the differing tensors are class-dependent:
    they keep their fresh initialization. Returns label -> the re-initialized keys."""
    found = {label: mismatches(net, states[label]) for label, net in networks.items() if label in states}
    bad = [m for ms in found.values() for m in ms]
    if bad:
        if probe is None:
            raise fail(bad[0])
        probed = probe()
        still = [m for label, ms in found.items() for m in mismatches(probed[label], states[label])]
        if still:
            raise fail(still[0])
    reinitialized = {}
    for label, net in networks.items():
        if label not in states:
            continue
        skip = {key for key, _, _ in found[label]}
        state = {k: v for k, v in states[label].items() if k not in skip}
        missing, unexpected = net.load_state_dict(state, strict=False)
        assert not unexpected and set(missing) <= skip, (missing, unexpected)
        if skip:
            reinitialized[label] = sorted(skip)
    return reinitialized


def carried_optimizer_state(
    saved: dict[str, Any], positions: list[int], parameters: list[torch.Tensor]
) -> dict[str, Any]:
    """A saved optimizer state_dict for the parameters at `positions` of the source's order
    (freezing removed the others); moments of a re-initialized (reshaped) parameter are dropped."""
    groups = saved.get("param_groups") or []
    if len(groups) != 1:
        raise UserError(
            "finetune.keep_optimizer=true: the checkpoint's optimizer has "
            f"{len(groups)} parameter groups; only one can be carried over (use keep_optimizer=false)"
        )
    state = {}
    for new, old in enumerate(positions):
        entry = saved["state"].get(old)
        if entry is None:
            continue
        shapes_fit = all(
            not isinstance(v, torch.Tensor) or v.dim() == 0 or v.shape == parameters[new].shape
            for v in entry.values()
        )
        if shapes_fit:
            state[new] = entry
    group = {**groups[0], "params": list(range(len(positions)))}
    return {"state": state, "param_groups": [group]}
