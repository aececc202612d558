"""The report's plots: matplotlib figures as inline SVG (text kept as text, so the page can be
searched). matplotlib is an optional extra (`pip install -e ".[report]"`) and is imported here,
inside the functions, never by `gan --help`; figures are drawn without pyplot (no display, no
global figure state): Figure.savefig picks the SVG backend itself, Agg for anything raster."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

from gan_cli.errors import UserError

INSTALL = 'pip install -e ".[report]"'
WIDTH, HEIGHT = 4.2, 2.7  # inches; the page draws each plot 380 px wide


def require_matplotlib() -> None:
    """One line naming the extra when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError(
            f"gan report draws its plots with matplotlib, which is not installed: {INSTALL}"
        ) from None


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=False)  # should anything reach for pyplot: no display needed
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    return figure, figure.add_subplot()


def _svg(figure, salt: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    # a salt per plot: ids of clip paths and markers stay unique among the page's inline SVGs
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline: no XML prolog or DOCTYPE


def _finite(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def curve(name: str, points: Sequence[tuple[float, float]]) -> str:
    """One statistic against the step; markers where it was recorded only now and then (at eval steps)."""
    figure, axes = _figure()
    points = _finite(points)
    if points:
        xs, ys = zip(*points, strict=True)
        axes.plot(xs, ys, marker="o" if len(points) <= 30 else None, markersize=3, linewidth=1.2)
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole: no tick at step 2.5
    axes.set_xlabel("step")
    axes.set_title(name, fontsize=10)
    axes.grid(alpha=0.3)
    return _svg(figure, f"curve-{name}")


def _as_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def against(metric: str, key: str, series: dict[str, list[tuple[str, float]]]) -> str:
    """The metric against one swept key's values: one line per combination of the other swept keys
    (label -> [(value, metric)]). Numbers on a number axis (log when they span 10x or more and are
    positive: learning rates), anything else (model=mlp,dcgan) as categories in the order met."""
    figure, axes = _figure()
    values = [value for points in series.values() for value, _ in points]
    numbers = [_as_number(value) for value in values]
    numeric = bool(values) and all(n is not None for n in numbers)
    categories: list[str] = []
    for value in values:
        if value not in categories:
            categories.append(value)
    for label, points in series.items():
        if numeric:
            xy = sorted((_as_number(value), y) for value, y in points)
        else:
            xy = sorted((categories.index(value), y) for value, y in points)
        xy = _finite(xy)
        if xy:
            xs, ys = zip(*xy, strict=True)
            axes.plot(xs, ys, marker="o", markersize=4, linewidth=1, label=label or None)
    if numeric:
        positive = [n for n in numbers if n is not None and n > 0]
        if len(positive) == len(numbers) and max(positive) >= 10 * min(positive):
            axes.set_xscale("log")
    else:
        axes.set_xticks(range(len(categories)), [_short(c) for c in categories])
    axes.set_xlabel(key)
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} vs {key}", fontsize=10)
    axes.grid(alpha=0.3)
    if any(series) and len(series) <= 10:
        axes.legend(fontsize=7)
    return _svg(figure, f"against-{re.sub(r'[^A-Za-z0-9]', '_', key)}")


def _short(value: str, limit: int = 14) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
