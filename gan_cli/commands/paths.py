"""Paths on the command line: what Hydra's override grammar cannot read as typed, and back.

Hydra reads `key=value` with a grammar made for numbers, lists and sweeps: an unquoted value may
not hold `=`, `~`, `#`, brackets, quotes or non-ASCII letters, and a comma makes it a sweep. Real
paths (a home folder named josé, `~/photos`, `run 1,b`) hold all of these, so path keys are read
here first, as the literal path the user meant, and handed to Hydra quoted. Nothing here imports
more than Hydra's parser.
"""

import functools
import os
import re
import shlex

from hydra.core.override_parser.overrides_parser import OverridesParser

# Every config key that names a file or a folder (gan train, gan sample, gan eval).
PATH_KEYS = (
    "ckpt", "resume", "init_from", "out", "input", "data.path", "data.root", "data_root", "hydra.run.dir",
    "hydra.sweep.dir",
)  # fmt: skip


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


def _reading(argument: str):
    """Hydra's reading of `key=value`, or None where its grammar cannot read the value."""
    try:
        return _parser().parse_overrides([argument])[0]
    except Exception:  # Hydra's lexer and parser errors have no common base class
        return None


def key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _reads_back(value: str) -> bool:
    """Whether Hydra reads `key=value`, unquoted, as exactly this string."""
    parsed = _reading(f"key={value}")
    return parsed is not None and not parsed.is_sweep_override() and parsed.value() == value


def _quoted(text: str) -> str:
    # Hydra's quoted strings: a quote, and the backslashes right before a quote or before the
    # closing quote, are escaped with a backslash. ${...} stays an interpolation, as typed.
    quote = "'" if '"' in text else '"'

    def escape(match: re.Match) -> str:
        backslashes, closing = match.groups()
        return backslashes * 2 + ("\\" + closing if closing else "")

    escaped = re.sub(rf"(\\*)({quote}|$)", escape, text)
    return quote + escaped + quote


def hydra_value(path: str) -> str:
    """`path` as the value of an override Hydra reads back as that very string."""
    return path if _reads_back(path) else _quoted(path)


def override(key: str, path: object) -> str:
    return f"{key}={hydra_value(str(path))}"


def shell_words(*words: str) -> str:
    """A command line to copy into bash (or any POSIX shell) as it is."""
    return " ".join(shlex.quote(word) for word in words)


def resume_command(run_dir: object) -> str:
    return shell_words("gan", "train", override("resume", os.path.abspath(str(run_dir))))


def literal_value(argument: str) -> str:
    """The text a `key=value` override gives its key: Hydra's reading of a quoted or plain
    string, else (a value Hydra's grammar cannot read, a number) the text as typed."""
    parsed = _reading(argument)
    if parsed is not None and not parsed.is_sweep_override() and isinstance(parsed.value(), str):
        return parsed.value()
    return argument.split("=", 1)[1]


def _path_argument(argument: str, multirun: bool) -> str:
    head, raw = argument.split("=", 1)
    parsed = _reading(argument)
    if parsed is None:
        path = raw
    elif parsed.is_sweep_override():
        if multirun and not os.path.exists(os.path.expanduser(raw)):
            return argument  # a sweep over paths: gan sample -m ckpt=a,b
        path = raw  # a comma in a path: no sweep outside -m, nor when that path exists
    elif isinstance(parsed.value(), str):
        path = parsed.value()
    else:
        return argument  # null, or a number Hydra turns into a string for a str key
    return f"{head}={hydra_value(os.path.expanduser(path))}"


def normalize_arguments(args: list[str]) -> list[str]:
    """argv with every path key's value expanded (`~`) and quoted as Hydra needs it."""
    multirun = any(a in ("-m", "--multirun") for a in args)
    return [
        _path_argument(a, multirun)
        if "=" in a and not a.startswith(("-", "~")) and key_of(a) in PATH_KEYS
        else a
        for a in args
    ]
