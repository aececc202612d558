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
        if "Available options in" in text:
            # "Could not find 'model/foo'" + the list of options of that group
            head = re.sub(r"^In '[^']*': ", "", lines[0])
            start = next(i for i, line in enumerate(lines) if line.startswith("Available options"))
            options = []
            for line in lines[start + 1 :]:
                if line.startswith("Config search path") or line.startswith("Available"):
                    break
                options.append(line)
            return f"{head}; valid options: {', '.join(options)}"
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
    except Exception as error:
        if _debug():
            raise
        if is_user_error(error):
            report_and_exit(error)
        traceback.print_exc()
        sys.stderr.write("gan: this is a bug in gan_cli; please report it with the traceback above\n")
        raise SystemExit(1) from None


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
