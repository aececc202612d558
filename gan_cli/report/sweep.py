"""The report of a sweep folder: the ranked table (as `gan sweeps` shows it), the primary metric
against each swept key's values, and the best job's last sample grid. The Sweep is read by the
caller (gan_cli/commands/sweeps.summarize knows the keys the command line swept), so nothing here
needs Hydra."""

from __future__ import annotations

from pathlib import Path

from gan_cli.outputs import sweep_table
from gan_cli.outputs.sweep_table import OK, Sweep
from gan_cli.report import page, plots
from gan_cli.report.run import sample_grids


def metric_series(sweep: Sweep, key: str) -> dict[str, list[tuple[str, float]]]:
    """For one swept key: label (the other swept keys' values) -> [(this key's value, rank value)],
    over the finished jobs that have one (each job's best value of the primary metric where recorded)."""
    others = [other for other in sweep.swept if other != key]
    names = sweep_table.short_keys(sweep.swept)
    lines: dict[str, list[tuple[str, float]]] = {}
    for job in sweep.jobs:
        if job.status != OK or job.rank is None or key not in job.overrides:
            continue
        label = ", ".join(f"{names[o]}={sweep_table.readable(job.overrides.get(o, ''))}" for o in others)
        lines.setdefault(label, []).append((job.overrides[key], job.rank))
    return lines


def _table(sweep: Sweep) -> str:
    header, rows = sweep_table._display(sweep, full_paths=True)  # the rows `gan sweeps` prints
    numeric_labels = {sweep_table.LABELS.get(key, key) for key in sweep.columns} | {"job"}
    numeric = [i for i, name in enumerate(header) if name in numeric_labels]
    classes = ["best" if job.best else "" for job in sweep.jobs]
    return page.table(header, rows, numeric=numeric, classes=classes)


def report(sweep: Sweep) -> str:
    folder = Path(sweep.folder)
    out = [f"<h1>Sweep {page.esc(folder.name)}</h1>"]
    facts = [f"folder <code>{page.esc(folder)}</code>", page.esc(sweep_table._counts(sweep))]
    if sweep.common:
        facts.append(f"every job: <code>{page.esc(sweep_table._common_line(sweep))}</code>")
    out.append(f'<p class="facts">{"<br>".join(facts)}</p>')

    out.append("<h2>Jobs</h2>")
    if sweep.jobs:
        out.append(page.note(sweep.order_note()))
        out.append(_table(sweep))
        for job in sweep.failed:
            out.append(f"<p>job {job.num} {page.esc(job.status)}: {page.esc(job.error)}</p>")
    else:
        out.append(page.note("no job folders yet"))

    out.append("<h2>Metric against each swept value</h2>")
    if sweep.primary is None:
        out.append(
            page.note("no job records a primary metric (summary.json's primary_metric): nothing ranks them")
        )
    elif not sweep.swept:
        out.append(page.note("no key varies across the jobs"))
    else:
        drawn = []
        names = sweep_table.short_keys(sweep.swept)  # as the table's columns: optim.lr -> lr
        for key in sweep.swept:
            lines = metric_series(sweep, key)
            if lines:
                drawn.append(
                    (f"{sweep.primary} vs {names[key]}", plots.against(sweep.primary, names[key], lines))
                )
        left_out = sum(1 for job in sweep.jobs if job.status != OK or job.rank is None)
        what = f"{sweep.primary} (each job's best value where recorded) against the values of each swept key"
        if left_out:
            what += f"; {left_out} job(s) without a value (failed, diverged, incomplete) are left out"
        out.append(page.note(what))
        out.append(page.plots(drawn) if drawn else page.note("no finished job has a value to plot"))

    out.append("<h2>Best job</h2>")
    best = sweep.best
    if best is None:
        out.append(page.note("no best job (no finished job with a primary metric)"))
    else:
        grids = sample_grids(best.folder)
        settings = " ".join(
            f"{k}={sweep_table.readable(v)}" for k, v in best.overrides.items() if k in sweep.swept
        )
        out.append(f"<p>job {best.num} <code>{page.esc(settings)}</code>, folder "
                   f"<code>{page.esc(best.folder.name)}</code>")  # fmt: skip
        if best.checkpoint is not None:
            ckpt = sweep_table._relative(best.checkpoint, folder)
            out.append(f"<br>checkpoint <code>{page.esc(ckpt)}</code>")
        out.append("</p>")
        if grids:
            step, path = grids[-1]
            out.append(f'<figure class="grid">{page.image(path, f"job {best.num}, step {step}")}'
                       f"<figcaption>job {best.num}, step {step}</figcaption></figure>")  # fmt: skip
        else:
            out.append(page.note("the best job has no samples/step_*.png"))
    return page.document(f"gan report: sweep {folder.name}", out)
