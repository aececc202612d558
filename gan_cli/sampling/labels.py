"""Class labels for a conditional generator (gan_cli.models.contract: `takes_labels`, `n_classes`):
which classes `gan sample` asks for, and the label of each sample. No random draw: the latents'
stream stays exactly what it is for an unconditional generator, and labels follow the request.

    class=K          every sample is of class K; grids as usual (nrow about sqrt(n))
    classes=[a,b,..] sample i is of classes[i mod len(classes)]; the grid has one row per class
    neither          npy / png: sample i is of class i mod n_classes (every class in turn);
                     the grid and interpolation: the first GRID_CLASSES classes, one row each

The class-row grid shows n // rows images per row (at least 1), so it holds rows x that many
images (as the trainer's grids, contract.class_rows); image (row r, column c) is sample r + c * rows
of the same request, the very image the npy of that request holds at that index, so a larger n
adds columns and leaves the others as they are.
Interpolation walk r keeps the label classes[r mod len(classes)] from one end to the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError
from gan_cli.models import contract

if TYPE_CHECKING:
    import torch

# classes shown by a grid (and an interpolation) without class= / classes=: the trainer's grids' too
GRID_CLASSES = contract.GRID_CLASSES


@dataclass(frozen=True)
class ClassRequest:
    """What the config asks for: class=K (one class), classes=[...] (a list), or neither (None)."""

    single: int | None = None
    many: tuple[int, ...] | None = None

    @property
    def given(self) -> bool:
        return self.single is not None or self.many is not None

    def describe(self) -> str:
        if self.single is not None:
            return f"class={self.single}"
        return "classes=[" + ",".join(str(c) for c in self.many or ()) + "]"


def _value(cfg: Any, key: str) -> Any:
    if hasattr(cfg, "get"):
        try:
            return cfg.get(key)
        except Exception:  # noqa: BLE001 - an attribute object whose get is something else
            pass
    return getattr(cfg, key, None)


def request_of(cfg: Any) -> ClassRequest:
    """class= and classes= of a sample config (a DictConfig, a mapping or an attribute object;
    `class` is a Python keyword, so it is read by name)."""
    single, many = _value(cfg, "class"), _value(cfg, "classes")
    return ClassRequest(
        None if single is None else int(single), None if many is None else tuple(int(c) for c in many)
    )


def _range_text(n_classes: int) -> str:
    return "class 0" if n_classes == 1 else f"classes 0-{n_classes - 1}"


def check_request(request: ClassRequest, generator: Any, ckpt: Any) -> None:
    """UserError (one line) for a request the checkpoint's generator cannot take."""
    if not request.given:
        return
    if not contract.takes_labels(generator):
        raise UserError(
            f"{request.describe()}: {ckpt} holds an unconditional generator (it takes no class "
            "labels); drop class= / classes=, or sample a run trained with model.cond"
        )
    n_classes = contract.n_classes(generator)
    wanted = (request.single,) if request.single is not None else request.many
    outside = [c for c in wanted if not 0 <= c < n_classes]
    if outside:
        extra = "" if request.single is not None else f" ({outside[0]} is not one)"
        raise UserError(
            f"{request.describe()} is out of range: this checkpoint's generator has "
            f"{_range_text(n_classes)}{extra}"
        )


def classes_for(request: ClassRequest, generator: Any, rows: bool) -> tuple[int, ...] | None:
    """The classes samples cycle through (None: an unconditional generator). rows: a view with one
    row per class (a grid, an interpolation), which shows the first GRID_CLASSES by default."""
    if not contract.takes_labels(generator):
        return None
    if request.single is not None:
        return (request.single,)
    if request.many is not None:
        return request.many
    n_classes = contract.n_classes(generator)
    return tuple(range(min(n_classes, GRID_CLASSES) if rows else n_classes))


def class_rows(request: ClassRequest, classes: Sequence[int] | None) -> bool:
    """Whether a grid of this request has one row per class: a conditional generator asked for
    no single class (class=K draws an ordinary grid of class K)."""
    return classes is not None and request.single is None


per_row = contract.per_row  # images in each row of a class-row grid: the trainer's rule


def cycle(classes: Sequence[int], first: int, count: int) -> torch.Tensor:
    """int64 labels of samples first .. first+count-1: sample i is of classes[i mod len(classes)]."""
    import torch

    table = torch.tensor(list(classes), dtype=torch.int64)
    return table[torch.arange(first, first + count) % len(classes)]


def row_order(n_rows: int, columns: int) -> torch.Tensor:
    """Indices that lay cycled samples out in class rows: grid image (r, c) is sample r + c*n_rows."""
    import torch

    return (torch.arange(n_rows)[:, None] + n_rows * torch.arange(columns)[None, :]).flatten()


def walk_labels(classes: Sequence[int], rows: int, steps: int) -> torch.Tensor:
    """(rows * steps,) labels of an interpolation, row-major: walk r is of classes[r mod len]."""
    return cycle(classes, 0, rows).repeat_interleave(steps)
