import pickle
import random

import numpy as np
import pytest
import torch

from gan_cli import checkpoint
from gan_cli.errors import UserError


def test_round_trip_with_weights_only(tmp_path):
    payload = {"config": {"model": {"name": "mlp"}}, "step": 7, "weights": {"w": torch.arange(3.0)}}
    path = checkpoint.save(payload, tmp_path / "ck" / "last.pt")
    loaded = checkpoint.load(path)
    assert loaded["format_version"] == checkpoint.FORMAT_VERSION
    assert loaded["step"] == 7 and loaded["config"] == {"model": {"name": "mlp"}}
    assert torch.equal(loaded["weights"]["w"], torch.arange(3.0))
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temporary file left


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = checkpoint.save({"step": 1}, tmp_path / "last.pt")

    def broken_save(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(UserError, match="No space left on device; the previous last.pt is intact"):
        checkpoint.save({"step": 2}, path)
    monkeypatch.undo()
    assert checkpoint.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "x": Exploit()}, path)
    with pytest.raises(UserError, match="not a loadable gan_cli checkpoint"):
        checkpoint.load(path)
    assert "pwned" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "content,match",
    [
        (b"", "not a loadable"),
        (b"not a checkpoint at all", "not a loadable"),
    ],
)
def test_broken_files_are_one_line_errors(tmp_path, content, match):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(UserError, match=match) as caught:
        checkpoint.load(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_truncated_missing_foreign_and_newer_files(tmp_path):
    good = checkpoint.save({"w": torch.randn(1000)}, tmp_path / "good.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(UserError, match="not a loadable"):
        checkpoint.load(truncated)
    with pytest.raises(UserError, match="does not exist"):
        checkpoint.load(tmp_path / "missing.pt")
    torch.save({"state": 1}, tmp_path / "foreign.pt")
    with pytest.raises(UserError, match="no format_version"):
        checkpoint.load(tmp_path / "foreign.pt")
    torch.save({"format_version": checkpoint.FORMAT_VERSION + 1}, tmp_path / "newer.pt")
    with pytest.raises(UserError, match="newer than this gan_cli reads"):
        checkpoint.load(tmp_path / "newer.pt")


def test_rng_state_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    torch.randn(3), np.random.rand(), random.random()
    path = checkpoint.save({"rng": checkpoint.rng_state()}, tmp_path / "rng.pt")
    expected = (torch.randn(3), np.random.rand(), random.random())
    torch.manual_seed(99)
    checkpoint.set_rng_state(checkpoint.load(path)["rng"])
    got = (torch.randn(3), np.random.rand(), random.random())
    assert torch.equal(got[0], expected[0]) and got[1:] == expected[1:]
    assert pickle.dumps(got[1]) == pickle.dumps(expected[1])
