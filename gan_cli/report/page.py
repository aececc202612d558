"""The HTML of a report: one self-contained page (styles, script, images and plots inline), so it
opens from a disk, an e-mail or a CI artifact with no network and no other file."""

from __future__ import annotations

import base64
import html
import re
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.facts { color: #555; } code, pre { font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; }
pre { background: #f6f6f6; padding: 0.8em; overflow: auto; max-height: 36em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 2px 10px; text-align: left; }
th { border-bottom: 1px solid #999; } tr:nth-child(even) td { background: #f7f7f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.best td { font-weight: bold; }
.plots { display: flex; flex-wrap: wrap; gap: 8px; } .plot { width: 380px; }
.plot h3 { font-size: 1em; margin: 0.3em 0 0 0; } .plot svg { width: 100%; height: auto; }
.grids { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.grids figure, figure.grid { margin: 0; } figcaption { color: #555; text-align: center; }
img.grid { image-rendering: pixelated; max-width: 100%; }
.slider { margin: 0.5em 0; } .slider input { width: min(600px, 80%); vertical-align: middle; }
.note { color: #666; font-style: italic; }
"""

# Without the script every grid shows, one after another (a strip); with it, one at a time and a
# slider to move through the steps.
SLIDER_SCRIPT = """
(function () {
  var box = document.getElementById("grids"); if (!box) return;
  var figures = box.getElementsByTagName("figure"); if (figures.length < 2) return;
  var bar = document.getElementById("grid-slider"), input = bar.getElementsByTagName("input")[0];
  var label = document.getElementById("grid-step");
  function show(i) {
    for (var j = 0; j < figures.length; j++) figures[j].style.display = j == i ? "" : "none";
    label.textContent = figures[i].getAttribute("data-step");
  }
  input.max = figures.length - 1; input.value = figures.length - 1;
  input.oninput = function () { show(+input.value); };
  bar.style.display = ""; show(figures.length - 1);
})();
"""

ROUNDING = 4


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: object) -> str:
    """A number as the console shows it: 4 significant digits, large ones whole with commas."""
    if not is_number(value):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return f"{value:.{ROUNDING}g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return f"{value:,}"


def png_width(data: bytes) -> int | None:
    """The width in the PNG header (IHDR), or None for what is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    return struct.unpack(">I", data[16:20])[0]


def image(path: Path, alt: str, target_width: int = 512) -> str:
    """An <img> holding the PNG itself; small grids (28-pixel images) are drawn 2-4x larger, pixels kept."""
    data = path.read_bytes()
    width = png_width(data)
    size = ""
    if width:
        scale = max(1, min(4, target_width // width))
        size = f' width="{width * scale}"'
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img class="grid" src="data:image/png;base64,{encoded}" alt="{esc(alt)}"{size}>'


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = (),
          classes: Sequence[str] | None = None) -> str:  # fmt: skip
    """Cells that are numbers are formatted (number()) and right-aligned; so is every cell of the
    columns named in `numeric` (already formatted text)."""
    numeric = set(numeric)
    head = "".join(f"<th>{esc(name)}</th>" for name in header)
    body = []
    for i, cells in enumerate(rows):
        css = f' class="{classes[i]}"' if classes and classes[i] else ""
        tds = "".join(
            f'<td class="num">{esc(number(cell))}</td>'
            if j in numeric or is_number(cell)
            else f"<td>{esc(cell)}</td>"
            for j, cell in enumerate(cells)
        )
        body.append(f"<tr{css}>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def plots(named_svgs: Iterable[tuple[str, str]]) -> str:
    items = [f'<div class="plot"><h3>{esc(name)}</h3>{svg}</div>' for name, svg in named_svgs]
    return f'<div class="plots">{"".join(items)}</div>'


def grid_strip(steps_and_files: Sequence[tuple[int, Path]]) -> str:
    """Every grid as a figure; the script turns the strip into one grid and a slider."""
    figures = [
        f'<figure data-step="{step}">{image(path, f"samples at step {step}")}'
        f"<figcaption>step {step}</figcaption></figure>"
        for step, path in steps_and_files
    ]
    slider = (
        '<div class="slider" id="grid-slider" style="display:none">'
        '<input type="range" min="0" step="1" aria-label="sample step"> step <b id="grid-step"></b></div>'
    )
    return f'{slider}<div class="grids" id="grids">{"".join(figures)}</div>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def pre(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


def document(title: str, sections: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) + f"\n<script>{SLIDER_SCRIPT}</script>"
        "\n</body></html>\n"
    )


def step_of(path: Path) -> int | None:
    """samples/step_0000500.png -> 500."""
    match = re.fullmatch(r"step_(\d+)\.png", path.name)
    return int(match.group(1)) if match else None
