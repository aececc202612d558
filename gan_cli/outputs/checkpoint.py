"""One self-describing checkpoint format.

A checkpoint is a dict of plain data and tensors: it loads with torch.load(weights_only=True), so
opening a file never runs code from it. It carries the resolved config, so G can be rebuilt from
the file alone. It is written to a temporary file in the same folder, flushed to disk and renamed
into place: a kill or a full disk at any moment leaves the previous file intact.

Format 2 adds a sha256 of the whole content (tensors by their bytes, the rest by value): torch
does not check the zip CRCs on load, so a flipped bit would otherwise load and resume silently.
Format 1 files (no checksum) still load.

Format 3 is recipe-neutral (gan_cli.training.recipes): besides the top-level "generator" and
"ema_generator" that sampling reads, it holds "recipe" (its name), "networks" (every other network:
name -> state dict), "optimizers" (name -> state), "recipe_state" and "stats" (the running sums of
the log interval by name, and their step count). `load` gives format 1 and 2 payloads that shape in
memory (see `_upgrade`), so one restore path reads every format.

What a payload must hold depends on its use; the checks live here, once, for every loader:
FOR_SAMPLING (gan sample, gan eval), FOR_RESUME (resume=), FOR_OVERRIDES (resume='s command line).
"""

import hashlib
import math
import os
import random
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_cli.errors import UserError
from gan_cli.outputs import atomic

FORMAT_VERSION = 3
CHECKSUM = "checksum"  # the entry holding "sha256:<hex>" (format 2)
MAX_SIDE = 1 << 16  # a sample shape beyond this is crafted, not trained: refuse it before allocating


# ---- writing --------------------------------------------------------------------------------------
def save(payload: dict[str, Any], path: str | os.PathLike, intact: str | os.PathLike | None = None) -> Path:
    """Write atomically. A failure is one UserError saying what survived: `intact` (a file the
    caller knows is still good, e.g. last.pt beside a periodic checkpoint), else the previous file."""
    path = Path(path)
    content = {k: v for k, v in _on_cpu(payload).items() if k != CHECKSUM}
    content["format_version"] = FORMAT_VERSION  # also when re-saving a loaded older payload
    content[CHECKSUM] = checksum(content)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.replacing(path) as tmp, open(tmp, "wb") as handle:
            torch.save(content, handle)
    # A full disk, a read-only or vanished folder: the user's to fix. torch's zip writer reports a
    # failed write as RuntimeError ("inline_container.cc ... unexpected pos"), not OSError.
    except (OSError, RuntimeError) as error:
        raise UserError(
            f"could not write checkpoint {path}: {_write_failure(error, path.parent)}{_kept(path, intact)}"
        ) from None
    return path


def stale_partials(folder: Path) -> list[Path]:
    """Temporary files a run killed mid-write left in a checkpoints folder (before format 3 they
    were named .<name>.<random>.tmp)."""
    return [*folder.glob(f".*{atomic.PARTIAL}*"), *folder.glob(".*.tmp")]


def _write_failure(error: BaseException, folder: Path) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    try:
        if shutil.disk_usage(folder).free < 1 << 20:  # torch's message hides the errno
            return "No space left on device"
    except OSError:
        pass
    return _first_line(error)


def _kept(path: Path, intact: str | os.PathLike | None) -> str:
    if intact is not None and Path(intact).is_file():
        return f"; {Path(intact).name} is intact"
    return f"; the previous {path.name} is intact" if path.exists() else "; nothing was written"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return " ".join(text.splitlines()[0].split())[:200] if text else type(error).__name__


def _on_cpu(value: Any) -> Any:
    """Tensors moved to the CPU once, so hashing and torch.save share one copy (CPU ones are not copied)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def _leaves(value: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """(path, leaf) in an order fixed by the content alone: dict keys sorted by repr."""
    if isinstance(value, dict):
        for key in sorted(value, key=repr):
            yield from _leaves(value[key], f"{where}/{key!r}")
    elif isinstance(value, (list, tuple)):  # pickle keeps the kind; the hash need not
        for index, item in enumerate(value):
            yield from _leaves(item, f"{where}/{index}")
    else:
        yield where, value


def checksum(content: dict[str, Any]) -> str:
    """sha256 over every entry but the checksum itself: tensors by dtype, shape and bytes, other
    values by repr (exact for the ints, floats and strings a checkpoint holds)."""
    digest = hashlib.sha256()
    for where, leaf in _leaves({k: v for k, v in content.items() if k != CHECKSUM}):
        if isinstance(leaf, torch.Tensor):
            tensor = leaf.detach().cpu().contiguous()
            digest.update(f"{where} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
        else:
            digest.update(f"{where} {type(leaf).__name__} {leaf!r}\n".encode("utf-8", "surrogatepass"))
    return f"sha256:{digest.hexdigest()}"


# ---- reading --------------------------------------------------------------------------------------
def load(
    path: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    expect: "Expectation | None" = None,
) -> dict[str, Any]:
    """The payload, its checksum verified (format 2) and, with `expect`, its structure checked:
    every problem is one UserError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated, not a torch file, or holding pickled code
        raise UserError(f"{path} is not a loadable gan_cli checkpoint ({_first_line(error)})") from error
    if not isinstance(payload, dict):
        kind = type(payload).__name__
        raise UserError(f"{path} is not a gan_cli checkpoint (it holds a {kind}, not a dict)")
    if "format_version" not in payload:
        raise UserError(f"{path} is not a gan_cli checkpoint (no format_version)")
    version = payload["format_version"]
    if not _is_int(version) or version < 1:
        raise UserError(
            f"{path} is not a gan_cli checkpoint (format_version {version!r} is not an integer >= 1)"
        )
    if version > FORMAT_VERSION:
        raise UserError(
            f"{path} has checkpoint format {version}, newer than this gan_cli reads ({FORMAT_VERSION}); "
            "upgrade gan_cli"
        )
    if version >= 2 and payload.get(CHECKSUM) != checksum(payload):
        raise UserError(
            f"checkpoint {path} is corrupt (checksum mismatch): its content changed after it was written; "
            "use another checkpoint of the run (checkpoints/step_*.pt)"
        )
    payload = _upgrade(payload)
    if expect is not None:
        problem = expect.problem(payload)
        if problem:
            raise UserError(f"checkpoint {path} cannot be used {expect.use}: {problem}")
    return payload


# The entries formats 1 and 2 wrote for the one recipe there was, and where format 3 keeps them.
_OLD_NETWORKS = {"discriminator": "discriminator"}
_OLD_OPTIMIZERS = {"g_optimizer": "generator", "d_optimizer": "discriminator"}
_OLD_STATS = ("d_loss", "g_loss", "d_real", "d_fake")  # the order of the old "running" 4-vector
_OLD_SKIPPED = {"g": "generator", "d": "discriminator"}


def _upgrade(payload: dict[str, Any]) -> dict[str, Any]:
    """A format 1 or 2 payload in the format-3 shape (format_version keeps the file's: resume reads
    it). Entries that are absent stay absent, and malformed ones stay for the checks to name."""
    if payload["format_version"] >= 3:
        return payload
    payload = dict(payload)
    if any(key in payload for key in (*_OLD_NETWORKS, *_OLD_OPTIMIZERS)):
        payload.setdefault("recipe", "gan")
    networks = {new: payload.pop(old) for old, new in _OLD_NETWORKS.items() if old in payload}
    optimizers = {new: payload.pop(old) for old, new in _OLD_OPTIMIZERS.items() if old in payload}
    if networks:
        payload["networks"] = networks
    if optimizers:
        payload["optimizers"] = optimizers
    if "d_updates" in payload:
        payload["recipe_state"] = {"d_updates": payload.pop("d_updates")}
    if "running" in payload:
        running, steps = payload.pop("running"), payload.pop("running_steps", None)
        if isinstance(running, torch.Tensor) and running.shape == (len(_OLD_STATS),):
            payload["stats"] = {"sums": dict(zip(_OLD_STATS, running.unbind(), strict=True)), "steps": steps}
        else:
            payload["stats"] = running  # not 4 sums: the checks say so
    interval = payload.get("skipped_interval")
    if isinstance(interval, dict):
        payload["skipped_interval"] = {_OLD_SKIPPED.get(k, k): v for k, v in interval.items()}
    return payload


# ---- structure ------------------------------------------------------------------------------------
def _is_int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
    )


def _is_config(value: Any, groups: tuple[str, ...], named: bool) -> bool:
    return isinstance(value, dict) and all(
        isinstance(value.get(g), dict) and (not named or isinstance(value[g].get("name"), str))
        for g in groups
    )


def _is_optimizer_state(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("state"), dict)
        and isinstance(value.get("param_groups"), list)
        and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in value["param_groups"])
    )


def _is_dict_of(value: Any, well_formed: Callable[[Any], bool]) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and well_formed(v) for k, v in value.items())


def _is_scalar_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point()


def _is_stats(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _is_dict_of(value.get("sums"), _is_scalar_tensor)
        and _is_int(value.get("steps"))
    )


def _is_plain(value: Any) -> bool:
    """Data a recipe's state may hold: numbers, strings, tensors, and lists and dicts of them."""
    if isinstance(value, (int, float, str, bool, type(None), torch.Tensor)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return _is_dict_of(value, _is_plain)


def _is_history(value: Any) -> bool:
    plain = (int, float, str, bool, type(None))
    return isinstance(value, list) and all(
        isinstance(r, dict) and _is_int(r.get("step")) and all(isinstance(v, plain) for v in r.values())
        for r in value
    )


def _is_best(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict)
        and isinstance(value.get("metric"), str)
        and _is_number(value.get("value"))
        and _is_int(value.get("step"))
        and _is_ranked(value.get("ranked"))
    )


def _is_ranked(value: Any) -> bool:
    """best["ranked"]: the values best.pt was ranked by (absent in checkpoints before tie-breaks)."""
    return value is None or (
        isinstance(value, dict) and all(isinstance(k, str) and _is_number(v) for k, v in value.items())
    )


def rng_problem(state: Any) -> str | None:
    """Why `state` cannot be restored, found by restoring it (CPU generators only, so no CUDA start)
    and putting the current state back."""
    if not isinstance(state, dict) or not all(k in state for k in ("torch", "numpy", "python")):
        return "needs torch, numpy and python states"
    cuda = state.get("cuda", [])
    if not isinstance(cuda, list) or not all(
        isinstance(s, torch.Tensor) and s.dtype == torch.uint8 for s in cuda
    ):
        return "its cuda states are not byte tensors"
    current = _cpu_rng_state()
    try:
        _set_cpu_rng_state(state)
    except Exception as error:  # each library refuses in its own way
        return _first_line(error)
    finally:
        _set_cpu_rng_state(current)
    return None


# entry -> (whether a value is well formed, what it must be)
ENTRIES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "overrides": (lambda v: isinstance(v, list) and all(isinstance(o, str) for o in v), "a list of strings"),
    "generator": (_is_state_dict, "a dict of named tensors"),
    "ema_generator": (_is_state_dict, "a dict of named tensors"),
    "recipe": (lambda v: isinstance(v, str) and bool(v), "a recipe name"),
    "networks": (lambda v: _is_dict_of(v, _is_state_dict), "a dict of network name -> dict of named tensors"),
    "optimizers": (
        lambda v: _is_dict_of(v, _is_optimizer_state),
        "a dict of optimizer name -> optimizer state (state and param_groups)",
    ),
    "recipe_state": (lambda v: _is_dict_of(v, _is_plain), "a dict of plain values"),
    "step": (_is_int, "an integer >= 0"),
    "epoch": (lambda v: _is_number(v) and math.isfinite(v) and v >= 0, "a number >= 0"),
    "shape": (
        lambda v: (
            isinstance(v, list) and len(v) in (1, 2, 3) and all(_is_int(d, 1) and d <= MAX_SIDE for d in v)
        ),
        f"a list of 1 to 3 integers in 1..{MAX_SIDE}",  # points (D,), audio (C, L), images (C, H, W)
    ),
    "n_classes": (lambda v: v is None or _is_int(v), "an integer >= 0 or null"),
    "fixed_noise": (
        lambda v: isinstance(v, torch.Tensor) and v.dim() == 2 and v.is_floating_point(),
        "a 2-D float tensor",
    ),
    "history": (_is_history, "a list of records with a step each"),
    "stats": (_is_stats, "running sums by name (0-dim float tensors) and a step count"),
    "skipped": (_is_int, "an integer >= 0"),
    "skipped_interval": (lambda v: _is_dict_of(v, _is_int), "counts of skipped updates by network"),
    "best": (_is_best, "null or a metric, value, step and the values it was ranked by"),
    "ema_updates": (_is_int, "an integer >= 0"),
    "rng": (lambda v: rng_problem(v) is None, "a restorable random state"),
}


class Expectation:
    """What a use needs: a config with these groups, the `required` entries, and the `optional`
    ones well formed when present."""

    def __init__(
        self,
        use: str,
        config_groups: tuple[str, ...],
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        named: bool = False,  # each config group names its choice (resume compares them)
    ):
        self.use, self.config_groups, self.named = use, config_groups, named
        self.required, self.optional = required, optional

    def problem(self, payload: dict[str, Any]) -> str | None:
        if self.config_groups and not _is_config(payload.get("config"), self.config_groups, self.named):
            *rest, final = self.config_groups
            groups = f"{', '.join(rest)} and {final}" if rest else final
            return f"it has no {groups} config: it was not written by gan train"
        for key in (*self.required, *self.optional):
            if key not in payload:
                if key in self.required:
                    return f"it has no '{key}' entry"
                continue
            well_formed, what = ENTRIES[key]
            if not well_formed(payload[key]):
                detail = f" ({rng_problem(payload[key])})" if key == "rng" else ""
                return f"'{key}' is not {what}{detail}"
        if "ema_generator" in payload and "ema_updates" in self.optional and "ema_updates" not in payload:
            return "it has 'ema_generator' but no 'ema_updates'"
        return None


FOR_SAMPLING = Expectation(
    "for samples", ("model", "data"), optional=("generator", "ema_generator", "shape", "n_classes", "step")
)
FOR_OVERRIDES = Expectation("to resume", (), optional=("overrides",))  # resume.py names a missing one
FOR_RESUME = Expectation(
    "to resume",
    ("model", "data", "optim"),
    required=("overrides", "step", "generator", "networks", "optimizers", "fixed_noise", "rng", "history",
              "stats"),
    optional=("recipe", "recipe_state", "epoch", "shape", "n_classes", "skipped", "skipped_interval", "best",
              "ema_generator", "ema_updates"),
    named=True,
)  # fmt: skip


def load_weights(target: torch.nn.Module | torch.optim.Optimizer, state: Any, path: Path, entry: str) -> None:
    """target.load_state_dict(state), a misfit with the model being one UserError naming the file
    and the entry. Optimizers do not compare shapes on load; this does, before a step would fail."""
    try:
        target.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        reason = " ".join(str(error).split())[:200]
        raise UserError(
            f"{path}: the '{entry}' weights do not fit the model its config describes ({reason})"
        ) from None
    if isinstance(target, torch.optim.Optimizer):
        for group in target.param_groups:
            for param in group["params"]:
                for name, value in target.state.get(param, {}).items():
                    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != param.shape:
                        raise UserError(
                            f"{path}: the '{entry}' state {name} has shape {tuple(value.shape)} for a "
                            f"parameter of shape {tuple(param.shape)}; it does not fit the model"
                        )


def first_nonfinite(named: Iterable[tuple[str, Any]]) -> str | None:
    """The name of the first floating tensor holding NaN or inf, else None. All finite (the usual
    case) costs one host read per device the tensors live on (optimizer steps stay on the CPU)."""
    tensors = [(name, t) for name, t in named if isinstance(t, torch.Tensor) and t.is_floating_point()]
    verdicts: dict[torch.device, list[torch.Tensor]] = {}
    for _, tensor in tensors:
        verdicts.setdefault(tensor.device, []).append(tensor.detach().isfinite().all())
    if all(bool(torch.stack(v).all()) for v in verdicts.values()):
        return None
    return next(name for name, t in tensors if not bool(t.detach().isfinite().all()))


# ---- random states ----------------------------------------------------------------------------------
def _cpu_rng_state() -> dict[str, Any]:
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": np_kind,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "python": {"version": py_version, "state": list(py_state), "gauss": py_gauss},
    }


def _set_cpu_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["gauss"],
        )
    )
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))


def rng_state() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA), numpy and python as tensors and plain lists."""
    state = _cpu_rng_state()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    _set_cpu_rng_state(state)
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
