"""Turn the errors a user can cause into one line on stderr and exit code 2.

Hydra reports composition errors (unknown group option, typo'd key, wrong type) itself, over
several lines with a hint about HYDRA_FULL_ERROR. Its reporting function is swapped here for one
that prints one line for user errors and a full traceback for anything else (a bug).
HYDRA_FULL_ERROR=1 or GAN_DEBUG=1 re-raises everything with its traceback.
"""

import dataclasses
import difflib
import errno
import os
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

from hydra.errors import CompactHydraException
from omegaconf.errors import OmegaConfBaseException

from gan_cli.errors import UserError

USER_ERROR_EXIT = 2


def _debug() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1" or os.environ.get("GAN_DEBUG") == "1"


def _suggest(error: OmegaConfBaseException) -> str:
    """' (did you mean trainer.steps?)' for a typo'd key, from the schema's field names."""
    key = getattr(error, "key", None)
    schema = getattr(error, "object_type", None)
    full_key = getattr(error, "full_key", None) or ""
    if not isinstance(key, str) or not dataclasses.is_dataclass(schema):
        return ""
    names = [f.name for f in dataclasses.fields(schema)]
    close = difflib.get_close_matches(key, names, n=1)
    if not close:
        return f" (valid keys: {', '.join(names)})"
    parent = full_key.rsplit(".", 1)[0] + "." if "." in full_key else ""
    return f" (did you mean {parent}{close[0]}?)"


def _omegaconf_line(error: OmegaConfBaseException) -> str:
    message = str(getattr(error, "msg", "") or error).strip().splitlines()[0]
    full_key = getattr(error, "full_key", None)
    if "not in" in message and full_key:
        return f"unknown key '{full_key}'{_suggest(error)}"
    # a whole-word test: the key `n` is inside "Integer"
    if full_key and not re.search(rf"(?<![\w.]){re.escape(str(full_key))}(?![\w.])", message):
        return f"{full_key}: {message}"
    return message


# Hydra checks `model=null` with a bare ValueError, which names neither the group nor the fix.
NULL_GROUP_MESSAGE = "Config group override must be a string or a list"


def _is_null_group(error: BaseException) -> bool:
    return isinstance(error, ValueError) and str(error).startswith(NULL_GROUP_MESSAGE)


def _null_group_line() -> str:
    nulls = [arg for arg in sys.argv[1:] if re.fullmatch(r"[\w/]+=null", arg, re.IGNORECASE)]
    given = nulls[0] if nulls else "a config group set to null"
    return f"{given}: a config group needs one of its options (see --help); leave it out for the default"


def _suggest_option(head: str, options: list[str]) -> str:
    """' (did you mean fashion_mnist?)' for "Could not find 'data/fashon_mnist'", as for key typos."""
    match = re.search(r"Could not find '([^']*)'", head)
    if not match:
        return ""
    close = difflib.get_close_matches(match.group(1).rsplit("/", 1)[-1], options, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# The config each Hydra plugin ships (what configs/hydra/launcher/*.yaml and sweeper/*.yaml extend,
# or what hydra/launcher=joblib names) -> the distribution that ships it. Which extra of gan_cli
# installs that distribution is read from the package's metadata: pyproject.toml names the extras.
PLUGIN_DISTRIBUTIONS = {
    "hydra/launcher/joblib": "hydra-joblib-launcher",
    "hydra/launcher/submitit_slurm": "hydra-submitit-launcher",
    "hydra/launcher/submitit_local": "hydra-submitit-launcher",
    "hydra/sweeper/optuna": "hydra-optuna-sweeper",
}


def _extra_installing(distribution: str) -> str | None:
    """The extra of gan_cli whose requirements name `distribution` (not `test`, which holds
    everything the suite needs), or None when the metadata says nothing."""
    from importlib import metadata

    try:
        requirements = metadata.requires("gan_cli") or []
    except metadata.PackageNotFoundError:
        return None
    extras = []
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", requirement)
        if name and extra and name.group().lower().replace("_", "-") == distribution:
            extras.append(extra.group(1))
    preferred = [extra for extra in extras if extra != "test"] or extras
    return preferred[0] if preferred else None


def _missing_plugin_line(first: str) -> str | None:
    """`hydra/launcher=slurm` without hydra-submitit-launcher: Hydra says it "Could not load
    'hydra/launcher/submitit_slurm'" (or, for a plugin's own name, "Could not find ..."), which
    names neither the plugin nor the fix."""
    match = re.search(r"Could not (?:load|find) '([^']*)'", first)
    if not match or match.group(1) not in PLUGIN_DISTRIBUTIONS:
        return None
    plugin = match.group(1)
    distribution = PLUGIN_DISTRIBUTIONS[plugin]
    # "In 'hydra/launcher/slurm': Could not load ..." names the user's choice; "In 'hydra/config'" does not
    outer = re.match(r"In '([^']*)': ", first)
    in_group = outer is not None and outer.group(1).startswith(plugin.rpartition("/")[0] + "/")
    chosen = outer.group(1) if outer is not None and in_group else plugin
    group, _, choice = chosen.rpartition("/")
    extra = _extra_installing(distribution)
    fix = f'pip install -e ".[{extra}]"' if extra else f"pip install {distribution}"
    return f"{group}={choice} needs the Hydra plugin {distribution}, which is not installed: {fix}"


def _group_options(group: str) -> list[str]:
    """The options of one of gan_cli's config groups: its YAML files and the options stored in the
    group without one (a plugin's, see config.register_schemas)."""
    from importlib import resources

    from hydra.core.config_store import ConfigStore

    folder = resources.files("gan_cli.configs").joinpath(group)
    if not folder.is_dir():
        return []
    files = [entry.name for entry in folder.iterdir() if entry.name.endswith(".yaml")]
    stored = ConfigStore.instance().repo.get(group, {})
    return sorted({name.removesuffix(".yaml") for name in [*files, *stored]})


def _unknown_listed_option_line(first: str) -> str | None:
    """`logger=[wandb]`: Hydra says only "Could not load 'logger/wandb'" for an option picked
    inside a list, where `logger=wandb` gets the group's options; answer both alike."""
    match = re.search(r"Could not load '([^'/]+)/([^'/]+)'", first)
    if not match:
        return None
    group, choice = match.groups()
    options = _group_options(group)
    if not options or choice in options:  # an option that exists but fails to load is another error
        return None
    head = f"Could not find '{group}/{choice}'"
    return f"{head}{_suggest_option(head, options)}; valid options: {', '.join(options)}"


def one_line(error: BaseException) -> str:
    """The message of a user error, squeezed to one line."""
    if _is_null_group(error):
        return _null_group_line()
    if isinstance(error, OSError) and not isinstance(error, UserError) and error.filename:
        return f"cannot write {error.filename}: {error.strerror}"
    if isinstance(error, OmegaConfBaseException):
        return _omegaconf_line(error)
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(error, CompactHydraException):
        cause = error.__cause__
        if isinstance(cause, OmegaConfBaseException):
            first = lines[0] if lines else ""
            if first.startswith(("Could not override", "Error merging override")):
                return _omegaconf_line(cause)
            return f"{first.rstrip('.')}: {_omegaconf_line(cause)}"
        missing_plugin = _missing_plugin_line(lines[0] if lines else "")
        if missing_plugin:
            return missing_plugin
        unknown_listed = _unknown_listed_option_line(lines[0] if lines else "")
        if unknown_listed:
            return unknown_listed
        if "Available options in" in text:
            # "Could not find 'model/foo'" + the list of options of that group
            head = re.sub(r"^In '[^']*': ", "", lines[0])
            start = next(i for i, line in enumerate(lines) if line.startswith("Available options"))
            options = []
            for line in lines[start + 1 :]:
                if line.startswith("Config search path") or line.startswith("Available"):
                    break
                options.append(line)
            return f"{head}{_suggest_option(head, options)}; valid options: {', '.join(options)}"
        lines = [
            line for line in lines if not line.startswith(("Config search path", "provider=", "Set the"))
        ]
    return " ".join(lines) if lines else type(error).__name__


# OS errors a user fixes: a folder that cannot be written, a full disk, a missing path.
USER_OS_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOENT}


def is_user_error(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in USER_OS_ERRNOS:
        return True
    if _is_null_group(error):
        return True
    return isinstance(error, (UserError, CompactHydraException, OmegaConfBaseException))


def report_and_exit(error: BaseException) -> None:
    sys.stderr.write(f"gan: error: {one_line(error)}\n")
    sys.stderr.flush()
    raise SystemExit(USER_ERROR_EXIT)


def _run_and_report(func: Callable[[], Any]) -> Any:
    try:
        return func()
    except Exception as raised:
        if _debug():
            raise
        error = _after_sweep(raised) or raised
        if is_user_error(error):
            report_and_exit(error)
        traceback.print_exc()
        sys.stderr.write("gan: this is a bug in gan_cli; please report it with the traceback above\n")
        raise SystemExit(1) from None


def _after_sweep(error: BaseException) -> BaseException | None:
    """A sweeper's error after its trials, as the sweep callback explains it (only a sweep that
    got as far as on_multirun_start has imported the callback)."""
    callback = sys.modules.get("gan_cli.commands.sweep_callback")
    return callback.failed_search_error(error) if callback is not None else None


def install() -> None:
    """Swap Hydra's error reporting (hydra._internal.utils looks it up at call time)."""
    import hydra._internal.utils as hydra_utils

    hydra_utils.run_and_report = _run_and_report


def exit_on_user_error(task: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Hydra task: in a single run a user error exits 2 with one line right away (Hydra
    would first print the job's overrides); in a multirun it propagates so the sweep records it."""
    import functools

    @functools.wraps(task)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return task(*args, **kwargs)
        except Exception as error:
            from hydra.core.hydra_config import HydraConfig
            from hydra.types import RunMode

            if is_user_error(error) and not _debug() and HydraConfig.get().mode == RunMode.RUN:
                report_and_exit(error)
            raise

    return wrapped
