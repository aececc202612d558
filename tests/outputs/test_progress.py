"""gan_cli.outputs.progress.Bar: drawn on a terminal, a no-op everywhere else."""

import io
import threading

from rich.console import Console

from gan_cli.outputs.progress import Bar


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=120)


def test_not_a_terminal_draws_nothing():
    file = io.StringIO()
    with Bar(10, "sampling", console=Console(file=file, force_terminal=False)) as bar:
        assert not bar.drawn
        bar.update(advance=3, status="d_loss 0.7")
        assert list(bar.iterate([1, 2])) == [1, 2]
    assert file.getvalue() == ""


def test_switched_off_draws_nothing_even_on_a_terminal():
    console = terminal()
    with Bar(10, "x", console=console, enabled=False) as bar:
        bar.update(advance=1)
        assert not bar.drawn
    assert console.file.getvalue() == ""


def test_a_terminal_shows_the_description_position_and_status():
    console = terminal()
    with Bar(8, "step", console=console, completed=2, status=True) as bar:
        assert bar.drawn
        bar.update(completed=6, status="g_loss 0.71")
    shown = console.file.getvalue()
    assert "step" in shown and "6/8" in shown and "g_loss 0.71" in shown


def test_iterate_advances_once_per_item():
    console = terminal()
    with Bar(3, "features", console=console) as bar:
        assert list(bar.iterate("abc")) == ["a", "b", "c"]
    assert "3/3" in console.file.getvalue()


def test_no_refresh_thread_wakes_up_between_updates():
    """auto_refresh is off: a training step must not share its cores with a redrawing thread."""
    before = threading.active_count()
    with Bar(5, "step", console=terminal()) as bar:
        assert threading.active_count() == before
        bar.update(advance=1)
    assert threading.active_count() == before


def test_close_twice_is_harmless():
    bar = Bar(2, console=terminal())
    bar.close()
    bar.close()
    bar.update(advance=1)  # after close: nothing
