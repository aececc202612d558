"""gan_cli.outputs.atomic: a file appears whole under its name, or not at all."""

import os

import pytest

from gan_cli.outputs import atomic


def test_the_file_appears_with_its_content_and_nothing_else(tmp_path):
    target = tmp_path / "eval.json"
    assert atomic.write_text(target, "{}\n") == target
    assert target.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]


def test_a_failure_keeps_the_previous_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "last.pt"
    target.write_bytes(b"good")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic.replacing(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_an_interrupt_also_removes_the_partial_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic.replacing(tmp_path / "x.npy"):
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_sits_beside_the_target_with_its_suffix(tmp_path):
    """Same folder: the rename stays on one file system. Same suffix: PIL picks the format from it
    and numpy appends .npy to a name without it."""
    with atomic.replacing(tmp_path / "samples.gif") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".gif" and tmp.name.startswith(".samples.")
        assert atomic.PARTIAL in tmp.name and tmp.exists()
        tmp.write_bytes(b"GIF89a")
    assert (tmp_path / "samples.gif").read_bytes() == b"GIF89a"


def test_two_writers_of_one_path_get_their_own_partial_files(tmp_path):
    target = tmp_path / "eval.json"
    with atomic.replacing(target) as first, atomic.replacing(target) as second:
        assert first != second


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_file_gets_the_usual_permissions_not_private_ones(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic.write_bytes(tmp_path / "grid.png", b"x")
    finally:
        os.umask(previous)
    assert (tmp_path / "grid.png").stat().st_mode & 0o777 == 0o644


def test_a_missing_folder_is_the_callers_error_to_word(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic.write_text(tmp_path / "nowhere" / "x.json", "{}")
