"""The one progress bar of gan_cli: a rich bar on a terminal, nothing anywhere else.

    with Bar(total=len(batches), description="sampling", transient=True) as bar:
        for batch in batches:
            ...
            bar.update(advance=1)

    bar = Bar(total=steps, description="step", completed=start, status=True)   # the training bar
    bar.update(completed=step, status="d_loss 0.69  g_loss 0.71")

It draws only when the console is a terminal (CI logs and redirected output get no bar control
codes), and only when `update` is called: auto_refresh is off, so no thread wakes up mid-step to
redraw (a training step must not share its cores with a bar). rich is imported only when a bar is
drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def stderr_console() -> Any:
    """Where bars go by default: stderr, so stdout keeps only what a command prints as its result."""
    from rich.console import Console

    return Console(stderr=True)


class Bar:
    """One bar. `status=True` adds a text column that `update(status=...)` fills (the training
    bar's latest losses). `transient=True` removes the bar when it closes. `enabled=False` makes
    it a no-op even on a terminal."""

    def __init__(
        self,
        total: int | None,
        description: str = "",
        console: Any = None,
        completed: int = 0,
        transient: bool = False,
        status: bool = False,
        enabled: bool = True,
    ) -> None:
        self._progress = None
        self._task = None
        if not enabled:  # the caller's switch (a library call that must stay quiet)
            return
        console = stderr_console() if console is None else console
        if not console.is_terminal:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [TextColumn("[bold]{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn()]
        if status:
            columns.append(TextColumn("{task.fields[status]}"))
        columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        self._progress = Progress(*columns, console=console, transient=transient, auto_refresh=False)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, completed=completed, status="")
        self._progress.refresh()

    @property
    def drawn(self) -> bool:
        """Whether this bar is on a terminal (False: every call is a no-op)."""
        return self._progress is not None

    def update(
        self, completed: int | None = None, status: str | None = None, advance: int | None = None
    ) -> None:
        """Set the position (completed), move it on (advance), change the status text; then redraw."""
        if self._progress is None:
            return
        fields: dict[str, Any] = {}
        if completed is not None:
            fields["completed"] = completed
        if advance is not None:
            fields["advance"] = advance
        if status is not None:
            fields["status"] = status
        self._progress.update(self._task, **fields)
        self._progress.refresh()

    def advance(self, amount: int = 1) -> None:
        self.update(advance=amount)

    def iterate(self, items: Iterable) -> Iterator:
        """The items, one step of the bar after each."""
        for item in items:
            yield item
            self.update(advance=1)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
