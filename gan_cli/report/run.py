"""The report of one run folder: curves of every number metrics.jsonl holds, the sample grid of
every sample step, the final numbers (summary.json) and the config (.hydra/config.yaml)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gan_cli.outputs.sinks.base import BOOKKEEPING, KNOWN, is_number
from gan_cli.report import page, plots

MAX_GRIDS = 60  # a long run's grids, evenly spaced (first and last kept): the page stays a few MB


def is_run(folder: Path) -> bool:
    """A training run's folder: Hydra's .hydra/ and what the trainer writes (metrics or summary)."""
    return (folder / ".hydra").is_dir() and any(
        (folder / name).is_file() for name in ("metrics.jsonl", "summary.json", "metrics.csv")
    )


def read_records(folder: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The logged records and the file they came from: metrics.jsonl, else metrics.csv (a run with
    logger=[csv]); lines a kill cut short are skipped."""
    jsonl, csv_file = folder / "metrics.jsonl", folder / "metrics.csv"
    if jsonl.is_file():
        records = []
        for line in jsonl.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records, jsonl.name
    if csv_file.is_file():
        from gan_cli.outputs.sinks.csv import read_rows

        _, rows = read_rows(csv_file)
        return [
            {key: _parsed(value) for key, value in row.items() if value != ""} for row in rows
        ], csv_file.name
    return [], None


def _parsed(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def series(records: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """name -> [(step, value)] for every number the records hold but bookkeeping (step, epoch, time,
    skipped), names in the order they first appear; a name logged only at eval steps has those points."""
    curves: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        step = record.get("step")
        if not is_number(step):
            continue
        for name, value in record.items():
            if name not in BOOKKEEPING and is_number(value):
                curves.setdefault(str(name), []).append((float(step), float(value)))
    return curves


def _title(name: str) -> str:
    label = KNOWN.get(name, (name,))[0]
    return name if label == name else f"{name} ({label})"


def sample_grids(folder: Path) -> list[tuple[int, Path]]:
    found = [(page.step_of(path), path) for path in (folder / "samples").glob("step_*.png")]
    return sorted((step, path) for step, path in found if step is not None)


def thinned(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    picks = sorted({round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)})
    return [items[i] for i in picks]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _command(folder: Path) -> str | None:
    import yaml

    overrides = yaml.safe_load(_text(folder / ".hydra" / "overrides.yaml") or "null")
    if not isinstance(overrides, list):
        return None
    return " ".join(["gan train", *map(str, overrides)])


def sections(folder: Path, heading: str = "h2") -> list[str]:
    """The parts of a run's page: facts, curves, grids, final numbers, config."""
    out: list[str] = []
    records, source = read_records(folder)
    summary = _read_json(folder / "summary.json")
    summary = summary if isinstance(summary, dict) else None
    facts = [f"folder <code>{page.esc(folder)}</code>"]
    command = _command(folder)
    if command:
        facts.append(f"command <code>{page.esc(command)}</code>")
    if records and is_number(records[-1].get("step")):
        facts.append(f"last logged step {records[-1]['step']:,}")
    if summary is None:
        facts.append("no summary.json: the run has not finished (or was stopped); what it logged is shown")
    out.append(f'<p class="facts">{"<br>".join(facts)}</p>')

    curves = series(records)
    out.append(f"<{heading}>Curves</{heading}>")
    if curves:
        out.append(page.note(f"every number of {source} against the step, one plot each"))
        out.append(page.plots((_title(name), plots.curve(name, points)) for name, points in curves.items()))
    else:
        out.append(page.note("no metrics.jsonl (or metrics.csv) records: nothing was logged"))

    grids = sample_grids(folder)
    out.append(f"<{heading}>Samples</{heading}>")
    if grids:
        shown = thinned(grids, MAX_GRIDS)
        what = f"the grid of the fixed noise at each of {len(grids)} sample steps"
        if len(shown) < len(grids):
            what = f"{len(shown)} of {len(grids)} sample steps, evenly spaced (first and last included)"
        out.append(page.note(what + "; the slider moves through them"))
        out.append(page.grid_strip(shown))
    else:
        out.append(page.note("no samples/step_*.png"))

    out.append(f"<{heading}>Final metrics</{heading}>")
    if summary:
        out.append(page.table(["summary.json", "value"], list(summary.items())))
    else:
        out.append(page.note("no summary.json yet"))

    out.append(f"<{heading}>Config</{heading}>")
    config = _text(folder / ".hydra" / "config.yaml")
    out.append(page.pre(config) if config is not None else page.note("no .hydra/config.yaml"))
    return out


def report(folder: Path) -> str:
    folder = Path(folder)
    return page.document(
        f"gan report: {folder.name}", [f"<h1>Run {page.esc(folder.name)}</h1>", *sections(folder)]
    )
