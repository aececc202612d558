"""`gan report FOLDER [--out PATH]`: report.html of a run or a sweep (gan_cli/report/). A plain
command: no Hydra composition, no torch; the sweep's table comes from gan_cli.commands.sweeps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_cli.errors import UserError


def build(folder: Path, out: Path | None = None) -> Path:
    from gan_cli import report
    from gan_cli.report import plots

    what = report.kind(folder)
    plots.require_matplotlib()
    if out is None:
        out = Path(folder) / report.FILE_NAME
    elif Path(out).is_dir():
        out = Path(out) / report.FILE_NAME
    if what == "sweep":
        from gan_cli.commands.sweeps import summarize
        from gan_cli.report import sweep

        text = sweep.report(summarize(Path(folder)))
    else:
        from gan_cli.report import run

        text = run.report(Path(folder))
    return report.write(text, Path(out))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="gan report",
        description="One self-contained report.html (no network needed to view it) of a run folder "
        "(curves of every logged number, the sample grid at each sample step, summary.json, the config) "
        "or of a sweep folder (the ranked table, the primary metric against each swept value, the best "
        "job's last grid).",
    )
    parser.add_argument(
        "folder", type=Path, help="a run folder or a sweep folder (outputs/multirun/<date>/<time>)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="PATH",
        help="where to write it: a file, or a folder to hold report.html (default: FOLDER/report.html); "
        "out=PATH works too",
    )
    # out=PATH, as gan sample and gan eval spell it
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [f"--out={arg[4:]}" if arg.startswith("out=") else arg for arg in argv]
    args = parser.parse_args(argv)
    try:
        path = build(args.folder, args.out)
    except UserError as error:
        sys.stderr.write(f"gan: error: {error}\n")
        raise SystemExit(2) from None
    print(f"written: {path}")
