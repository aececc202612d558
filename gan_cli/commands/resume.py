"""`gan train resume=<checkpoint | run folder | latest | auto>`: find the run, and rebuild its command line.

A resumed run continues in its own folder with the config it was started with. Hydra composes
that config again from the overrides recorded in the checkpoint followed by the new ones, so the
same schemas and checks apply; the trainer then refuses new overrides that would change the model
or the data (see check_compatible). The checkpoint, not .hydra/overrides.yaml, is the record:
Hydra rewrites that file at every start, including a refused one.
"""

import os
import re
from pathlib import Path

from gan_cli.commands import paths
from gan_cli.commands.paths import key_of as _key
from gan_cli.errors import UserError

OUTPUTS = Path("outputs")
LAST = Path("checkpoints") / "last.pt"


def _run_folders(outputs: Path) -> list[Path]:
    runs = (p.parent.parent for p in outputs.glob(f"*/*/{LAST}"))
    return sorted(run for run in runs if run.parent.name != "multirun")


def find_latest(outputs: Path, model: str | None, data: str | None) -> Path:
    """The newest run folder (by its date/time name) holding a last.pt, of this model and data when given."""
    runs = _run_folders(outputs)
    # <time>[-<experiment>]-<model>-<data>, or ...-<data>-2 for the second run started in that
    # second: read from the end, so that an experiment named like a model (dcgan) is not taken for one
    data_part = re.escape(data) if data else "[^-]+"
    if model:
        runs = [r for r in runs if re.search(rf"-{re.escape(model)}-{data_part}(-\d+)?$", r.name)]
    if data:
        runs = [r for r in runs if re.search(rf"-{data_part}(-\d+)?$", r.name)]
    if not runs:
        what = " ".join(x for x in (f"model={model}" if model else "", f"data={data}" if data else "") if x)
        scope = f" for {what}" if what else ""
        raise UserError(f"resume=latest: no run folder with {LAST} under {outputs}/{scope}")
    return runs[-1]


def resolve(target: str, overrides: list[str], outputs: Path = OUTPUTS) -> tuple[Path, Path]:
    """(run folder, checkpoint file) for a resume= value."""
    if target == "latest":
        choices = {_key(o): o.split("=", 1)[1] for o in overrides if "=" in o}
        run_dir = find_latest(outputs, choices.get("model"), choices.get("data"))
        return run_dir, run_dir / LAST
    path = Path(target)
    if not path.exists():
        raise UserError(
            f"resume={target}: no such file or folder (give a checkpoint, a run folder or `latest`)"
        )
    if path.is_dir():
        if not (path / LAST).is_file():
            raise UserError(f"resume={target}: the folder holds no {LAST}")
        return path, path / LAST
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return run_dir, path


NOT_INHERITED = ("resume", "hydra.run.dir")


def recorded_overrides(ckpt: Path, given: frozenset[str] = frozenset()) -> list[str]:
    """The overrides the run was started with, then the recipe it trains (pinned_recipe) unless
    the command line (the keys `given`) names one."""
    from gan_cli.outputs import checkpoint  # imports torch: only when resuming, which trains next anyway

    payload = checkpoint.load(ckpt, expect=checkpoint.FOR_OVERRIDES)
    if "overrides" not in payload:
        raise UserError(f"resume: {ckpt} does not record the overrides of its run")
    recorded = [o for o in payload["overrides"] if _key(o) not in NOT_INHERITED]
    if payload.get("format_version", 1) < 2:
        # Format 1 was written before data sets carried their own defaults (configs/data_defaults):
        # its run composed without them, and so must its continuation.
        recorded += [o for o in DATA_DEFAULTS_OFF if o not in recorded]
    config = payload.get("config")
    chosen = [*recorded, *(f"{key}=" for key in given)]
    return recorded + pinned_recipe(config if isinstance(config, dict) else {}, chosen)


def pinned_recipe(config: dict, chosen: list[str]) -> list[str]:
    """`recipe=<name>` and its keys as the checkpoint's config holds them, unless the run's own
    overrides (or the command line: `chosen`) choose the recipe: what a data set picks by default
    may change between versions (data=ring8 trained recipe=gan before it picked InfoGAN's codes),
    and a resumed run goes on with the recipe it was trained with. A config from before recipes
    trained the GAN."""
    if any(_key(o) == "recipe" or _key(o).startswith("recipe.") for o in chosen):
        return []
    recipe = dict(config.get("recipe") or {"name": "gan"})
    name = recipe.pop("name", "gan")
    return [f"recipe={name}", *(f"recipe.{key}={_literal(value)}" for key, value in recipe.items())]


def _literal(value: object) -> str:
    """A config value as a Hydra override writes it (numbers, booleans, null, lists, strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_literal(item) for item in value) + "]"
    return paths.hydra_value(value) if isinstance(value, str) else repr(value)


DATA_DEFAULTS_OFF = ("~data_defaults@_global_", "~data_defaults@optim")


def rewrite_arguments(args: list[str], outputs: Path = OUTPUTS) -> list[str]:
    """Replace `resume=X` in argv by the run's recorded overrides (those not given again),
    `resume=<checkpoint>` and `hydra.run.dir=<run folder>` (quoted for Hydra where a path needs
    it). Other arguments stay as they are."""
    position = next((i for i, a in enumerate(args) if a.startswith("resume=")), None)
    start = next((i for i, a in enumerate(args) if a.startswith("init_from=")), None)
    if position is not None and start is not None and _given(args[start]) and _given(args[position]):
        raise UserError(
            "resume= and init_from= cannot be combined: resume= continues a run in its own folder, "
            "init_from= starts a new run from a checkpoint's weights; give one"
        )
    if position is None:
        return rewrite_init_from(args) if start is not None else args
    target = os.path.expanduser(paths.literal_value(args[position]))  # as printed: quoted for Hydra
    others = [a for i, a in enumerate(args) if i != position and not a.startswith("-")]
    if target == AUTO:
        found = auto_folder(others, outputs)
        target = str(found) if found is not None else ""
    if target in ("", "null"):
        return args[:position] + args[position + 1 :]
    run_dir, ckpt = resolve(target, others, outputs)
    given = {_key(a) for a in others if "=" in a}
    inherited = [o for o in recorded_overrides(ckpt, frozenset(given)) if _key(o) not in given]
    continued = [paths.override("resume", ckpt.resolve()), paths.override("hydra.run.dir", run_dir.resolve())]
    inserted = [*inherited, *continued]
    return args[:position] + inserted + args[position + 1 :]


AUTO = "auto"

# What a resumed run takes from its checkpoint's config unless the command line gives it anew: what
# it trains (model) and how (trainer, optim). A default changed since the run started (ring8's z_dim
# and pack, fashion_mnist's EMA, schedule and length) must not change the run half-way.
KEPT_GROUPS = ("model", "trainer", "optim")


def kept_values(saved: dict, current: dict, new_overrides: list[str]) -> dict[str, object]:
    """Dotted key -> the checkpoint's value, for the KEPT_GROUPS leaves that both configs have,
    that differ, and that no override of `new_overrides` names (itself or a node above it). A group
    whose family changed (model=dcgan on an mlp run) is left whole for check_compatible to refuse."""
    named = {_key(line) for line in new_overrides if not line.startswith("-")}
    kept: dict[str, object] = {}

    def walk(before: object, after: object, path: str) -> None:
        if any(path == key or path.startswith(key + ".") for key in named):
            return
        if isinstance(before, dict) and isinstance(after, dict):
            for key in before.keys() & after.keys():
                walk(before[key], after[key], f"{path}.{key}")
        elif before != after and not isinstance(before, dict) and not isinstance(after, dict):
            kept[path] = before

    for group in KEPT_GROUPS:
        before, after = saved.get(group), current.get(group)
        if isinstance(before, dict) and isinstance(after, dict) and before.get("name") == after.get("name"):
            walk(before, after, group)
    return kept


def auto_folder(args: list[str], outputs: Path = OUTPUTS) -> Path | None:
    """`resume=auto`: the run folder to continue, or None to start afresh. With hydra.run.dir=X
    that folder, when it holds a last.pt. Without it, the folder an earlier attempt of this launch
    trained in (torchrun --max-restarts, a requeued SLURM job), when it got as far as a last.pt."""
    named = next((paths.literal_value(a) for a in args if _key(a) == "hydra.run.dir"), None)
    if named is not None:
        folder = Path(os.path.expanduser(named))
        return folder if (folder / LAST).is_file() else None
    import json

    from gan_cli import distributed
    from gan_cli.outputs import run_folder

    for key in distributed.earlier_attempt_keys():
        try:
            published = json.loads(run_folder.rank_file(outputs, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        folder = published.get("run_dir") if isinstance(published, dict) else None
        if folder and (Path(folder) / LAST).is_file():
            return Path(folder)
    return None


def _given(argument: str) -> bool:
    return paths.literal_value(argument) not in ("", "null")


def rewrite_init_from(args: list[str]) -> list[str]:
    """`init_from=<checkpoint | run folder>` -> `init_from=<its checkpoint, absolute>`, and, unless
    the command line picks one, `model=<the checkpoint's family>`: the run folder is named after the
    model it trains, and its config composes with that family's schema (the checkpoint's model keys
    are taken in `gan train`'s build, gan_cli.training.finetune)."""
    position = next(i for i, a in enumerate(args) if a.startswith("init_from="))
    if not _given(args[position]):
        return args
    from gan_cli.training import finetune  # imports torch: only when fine-tuning, which trains next

    target = os.path.expanduser(paths.literal_value(args[position]))
    source = finetune.source_path(target).resolve()
    rewritten = [*args[:position], paths.override("init_from", source), *args[position + 1 :]]
    if any(_key(a) == "model" for a in args if "=" in a and not a.startswith("-")):
        return rewritten
    payload = finetune.load_source(str(source))
    name = (payload.get("config") or {}).get("model", {}).get("name")
    return [*rewritten, f"model={name}"] if name else rewritten


# Keys a resumed run may change: how long and how it trains, not what it trains.
SHAPE_GROUPS = ("model", "data")


def check_compatible(saved: dict, current: dict) -> None:
    """Refuse a resume whose config changes the model or the data of the checkpoint."""
    for group in SHAPE_GROUPS:
        before, after = saved.get(group, {}), current.get(group, {})
        # keys only one side has come from another gan_cli version and keep their defaults
        for key in sorted(set(before) & set(after)):
            if key == "root":  # the same data may live elsewhere now
                continue
            if before.get(key) != after.get(key):
                raise UserError(
                    f"resume: {group}.{key}={after.get(key)!r} differs from the checkpoint's "
                    f"{before.get(key)!r}; a resumed run keeps its model and data (start a new run instead)"
                )
    # a config from before recipes trained the GAN
    before, after = (config.get("recipe", {}).get("name", "gan") for config in (saved, current))
    if before != after:
        raise UserError(
            f"resume: recipe={after} differs from the checkpoint's {before}; "
            "its networks and optimizers cannot carry over (start a new run instead)"
        )
    if saved.get("optim", {}).get("name") != current.get("optim", {}).get("name"):
        raise UserError(
            f"resume: optim={current['optim']['name']} differs from the checkpoint's "
            f"{saved['optim']['name']}; the optimizer state cannot carry over"
        )
