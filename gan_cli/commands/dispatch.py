"""`gan <command> [hydra flags] [overrides]`: pick the command, hand the rest of argv to its @hydra.main.

Hydra has no subcommands, so the command word is taken out of argv (argv[0] stays) before the
command's Hydra entry point runs; every Hydra flag (-m, --cfg, --help, --info, -sc) then works as
usual. A plain command (argparse, no config) gets the rest of argv as a list instead. Nothing here
imports torch: help and config errors answer fast.
"""

import importlib
import os
import sys
from typing import NamedTuple, NoReturn

from gan_cli.errors import UserError


class Command(NamedTuple):
    module: str  # has main(): a @hydra.main function, or main(args) for a plain command
    summary: str
    hydra: bool = True


COMMANDS = {
    "train": Command("gan_cli.commands.train", "train a GAN from configs into a run folder under outputs/"),
    "sample": Command(
        "gan_cli.commands.sample", "images (or 2D points) from a checkpoint: a grid, PNG files or .npy"
    ),
    "eval": Command(
        "gan_cli.commands.eval", "scores of a checkpoint: FID, KID, precision/recall, class or mode coverage"
    ),
    "sweeps": Command(
        "gan_cli.commands.sweeps",
        "the table of a sweep's jobs (gan train -m ...) from its folder",
        hydra=False,
    ),
    "report": Command(
        "gan_cli.commands.report",
        "report.html of a run or sweep folder: curves, sample grids, metrics, config (one file)",
        hydra=False,
    ),
}

USAGE = "usage: gan <command> [hydra flags] [key=value overrides]"


def _print_help() -> None:
    lines = [USAGE, "", "commands:"]
    lines += [f"  {name:<8} {command.summary}" for name, command in COMMANDS.items()]
    lines += [
        "",
        "`gan <command> --help` lists a command's config groups and options (`gan train --help`:",
        "every model family, data set, loss and optimizer with a line on each, plugins included);",
        "`gan <command> --cfg job` prints the resolved config.",
        "Examples:",
        "  gan train model=mlp data=mnist",
        "  gan train model=dcgan data=fashion_mnist trainer.steps=3000",
        "  gan sample ckpt=outputs/<date>/<time>-mlp-mnist n=64",
        "  gan eval ckpt=outputs/<date>/<time>-mlp-mnist 'metrics=[fid,kid,pr]'",
        "  gan train -m optim.lr=1e-4,2e-4 data=fashion_mnist   # a sweep, summarized at the end",
        "  gan sweeps outputs/multirun/<date>/<time>",
        "  gan report outputs/<date>/<time>-mlp-mnist          # report.html: curves, grids, metrics",
        'Shell completion: eval "$(gan train -sc install=bash)"',
    ]
    print("\n".join(lines))


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"gan: error: {message}\n")
    raise SystemExit(2)


def _completion_command(argv: list[str]) -> str | None:
    """Shell completion calls `gan -sc query=bash` with COMP_LINE holding the whole line.

    Returns the command word and removes it from COMP_LINE, or prints command names and
    returns None while the command word is still being typed.
    """
    line = os.environ.get("COMP_LINE", "")
    words = line.split(" ")
    typed = [w for w in words[1:] if w]
    if not typed or (len(typed) == 1 and not line.endswith(" ")):
        prefix = typed[0] if typed else ""
        print(" ".join(name for name in COMMANDS if name.startswith(prefix)))
        return None
    command = typed[0]
    start = line.index(command, len(words[0]))
    os.environ["COMP_LINE"] = line[:start] + line[start + len(command) :].lstrip(" ")
    return command


def main(argv: list[str] | None = None) -> None:
    try:
        _dispatch(argv)
    except BrokenPipeError:
        # `gan --help | head -1`: the reader left. Python would print a traceback when it flushes
        # stdout at exit, so stdout goes to /dev/null first (the recipe of Python's signal docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None


def _dispatch(argv: list[str] | None) -> None:
    argv = list(sys.argv if argv is None else argv)
    program, args = argv[0], argv[1:]

    if args and args[0] in ("-sc", "--shell-completion") and "query=" in " ".join(args):
        command = _completion_command(argv)
        # nothing printed: the completion script falls back to file names (`complete -o default`)
        if command is None or command not in COMMANDS or not COMMANDS[command].hydra:
            return
        rest = args
    elif not args or args[0] in ("-h", "--help", "help"):
        _print_help()
        return
    else:
        command, rest = args[0], args[1:]

    if command not in COMMANDS:
        _fail(f"unknown command '{command}'; valid commands: {', '.join(COMMANDS)} (see gan --help)")

    if COMMANDS[command].hydra:
        from gan_cli.commands.paths import normalize_arguments

        rest = normalize_arguments(rest)  # paths with spaces, commas, `=`, `~`, non-ASCII letters

    if command == "train":
        from gan_cli.commands.resume import rewrite_arguments

        try:
            rest = rewrite_arguments(rest)
        except UserError as error:
            _fail(str(error))

    if COMMANDS[command].hydra:
        # OpenMP threads that spin while they wait for each other lose whole time slices when
        # another process has the other core: on a busy 2-core machine `gan eval` measured 4-5 s
        # with sleeping waits and 10-60 s with spinning ones, and a training run fell from 5,700
        # to 20-440 images/s (benchmarks/throughput.py --contention, README "Speed"). It must be
        # set before torch loads; an explicit OMP_WAIT_POLICY wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        # a Hydra command loads the components at import (config.register_schemas), plugins too:
        # one that fails is a line naming it, before any of Hydra's reporting is in place
        module = importlib.import_module(COMMANDS[command].module)
    except UserError as error:
        _fail(str(error))
    if not COMMANDS[command].hydra:
        module.main(rest)
        return
    sys.argv = [program, *rest]
    from gan_cli.commands import errors_report

    errors_report.install()
    module.main()


if __name__ == "__main__":
    main()
