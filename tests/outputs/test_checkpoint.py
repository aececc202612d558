import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_cli.errors import UserError
from gan_cli.outputs import checkpoint


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


# ---- write failures -----------------------------------------------------------------------------
def test_torchs_runtime_error_on_a_full_disk_is_the_one_line_error(tmp_path, monkeypatch):
    path = checkpoint.save({"step": 1}, tmp_path / "last.pt")

    def full_disk(obj, handle):
        handle.write(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:783] . unexpected pos 128 vs 64")

    monkeypatch.setattr(torch, "save", full_disk)
    expected = r"could not write checkpoint .*last.pt: .*; the previous last.pt is intact"
    with pytest.raises(UserError, match=expected):
        checkpoint.save({"step": 2}, path)
    monkeypatch.undo()
    assert checkpoint.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_a_failed_periodic_write_names_the_file_that_is_still_good(tmp_path, monkeypatch):
    last = checkpoint.save({"step": 1}, tmp_path / "last.pt")

    def full_disk(obj, handle):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(UserError, match=r"step_0000001.pt: No space left on device; last.pt is intact"):
        checkpoint.save({"step": 1}, tmp_path / "step_0000001.pt", intact=last)


# ---- format 2: the checksum ---------------------------------------------------------------------
def test_a_flipped_bit_in_a_tensor_is_a_checksum_mismatch(tmp_path):
    weights = torch.arange(64, dtype=torch.float32) + 0.5
    path = checkpoint.save({"w": weights}, tmp_path / "last.pt")
    raw = bytearray(path.read_bytes())
    at = raw.find(weights.numpy().tobytes())
    assert at > 0
    raw[at + 17] ^= 0x04
    path.write_bytes(bytes(raw))
    with pytest.raises(UserError, match=r"checkpoint .*last.pt is corrupt \(checksum mismatch\)") as caught:
        checkpoint.load(path)
    assert "\n" not in str(caught.value)


def test_the_checksum_covers_plain_values_and_survives_a_resave(tmp_path):
    path = checkpoint.save({"config": {"optim": {"lr": 0.0002}}, "w": torch.ones(3)}, tmp_path / "a.pt")
    payload = checkpoint.load(path)
    assert payload["checksum"].startswith("sha256:")
    payload["config"]["optim"]["lr"] = 0.002
    assert checkpoint.checksum(payload) != payload["checksum"]
    again = checkpoint.load(checkpoint.save(payload, tmp_path / "b.pt"))  # a loaded payload, saved again
    assert again["config"]["optim"]["lr"] == 0.002 and again["format_version"] == checkpoint.FORMAT_VERSION


def test_format_1_files_without_a_checksum_still_load(tmp_path):
    torch.save({"format_version": 1, "step": 3, "w": torch.ones(2)}, tmp_path / "old.pt")
    assert checkpoint.load(tmp_path / "old.pt")["step"] == 3
    torch.save({"format_version": 2, "step": 3}, tmp_path / "stripped.pt")  # format 2 needs one
    with pytest.raises(UserError, match="checksum mismatch"):
        checkpoint.load(tmp_path / "stripped.pt")


@pytest.mark.parametrize("version", [1, 2])
def test_the_old_fixtures_load_for_every_use_in_the_format_3_shape(version):
    fixture = Path(__file__).parents[1] / "fixtures" / f"ckpt_v{version}_ring8.pt"
    for expect in (checkpoint.FOR_SAMPLING, checkpoint.FOR_RESUME, checkpoint.FOR_OVERRIDES):
        assert checkpoint.load(fixture, expect=expect)["format_version"] == version  # as written
    raw = torch.load(fixture, weights_only=True)
    payload = checkpoint.load(fixture)
    assert payload["recipe"] == "gan" and set(payload["networks"]) == {"discriminator"}
    assert payload["networks"]["discriminator"].keys() == raw["discriminator"].keys()
    for name, old in (("generator", "g_optimizer"), ("discriminator", "d_optimizer")):
        assert payload["optimizers"][name]["param_groups"] == raw[old]["param_groups"]
    assert payload["recipe_state"] == {"d_updates": raw["d_updates"]}
    sums = payload["stats"]["sums"]
    assert (
        list(sums) == ["d_loss", "g_loss", "d_real", "d_fake"]
        and payload["stats"]["steps"] == raw["running_steps"]
    )
    assert torch.equal(torch.stack(list(sums.values())), raw["running"])
    for old in ("discriminator", "g_optimizer", "d_optimizer", "d_updates", "running", "running_steps"):
        assert old not in payload


# ---- crafted payloads ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content,match",
    [
        ([1, 2, 3], "it holds a list, not a dict"),
        ({"format_version": "1"}, r"format_version '1' is not an integer >= 1"),
        ({"format_version": True}, "format_version True is not an integer"),
        ({"format_version": 0}, "format_version 0 is not an integer >= 1"),
    ],
)
def test_crafted_payloads_are_one_line_errors(tmp_path, content, match):
    path = tmp_path / "crafted.pt"
    torch.save(content, path)
    with pytest.raises(UserError, match=match) as caught:
        checkpoint.load(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def _resumable() -> dict:
    fixture = Path(__file__).parents[1] / "fixtures" / "ckpt_v1_ring8.pt"
    return checkpoint.load(fixture)


@pytest.mark.parametrize(
    "damage,match",
    [
        (lambda p: p.pop("networks"), "it has no 'networks' entry"),
        (lambda p: p["networks"].update(discriminator=[1]), "'networks' is not a dict of network name"),
        (lambda p: p.pop("config"), "it has no model, data and optim config"),
        (lambda p: p["config"]["optim"].pop("name"), "it has no model, data and optim config"),
        (lambda p: p.update(step="12"), "'step' is not an integer >= 0"),
        (lambda p: p.update(step=-1), "'step' is not an integer >= 0"),
        (lambda p: p["generator"].update(bad="x"), "'generator' is not a dict of named tensors"),
        (
            lambda p: p["optimizers"].update(generator={"state": {}}),
            "'optimizers' is not a dict of optimizer name",
        ),
        (
            lambda p: p.update(stats={"sums": {"d_loss": torch.zeros(3)}, "steps": 0}),
            "'stats' is not running sums",
        ),
        (
            lambda p: p.update(recipe_state={"d_updates": b"12"}),
            "'recipe_state' is not a dict of plain values",
        ),
        (lambda p: p.update(history=[{"d_loss": 1.0}]), "'history' is not a list of records"),
        (lambda p: p.update(overrides="data=ring8"), "'overrides' is not a list of strings"),
        (lambda p: p["rng"].update(torch=torch.zeros(10, dtype=torch.uint8)), "'rng' is not a restorable"),
        (lambda p: p["rng"]["python"].update(state=[1, 2]), "'rng' is not a restorable"),
        (lambda p: p["rng"].pop("numpy"), "'rng' is not a restorable random state"),
        (lambda p: p.update(shape=[3, 10**9, 2]), "'shape' is not a list of 1 to 3 integers"),
        (lambda p: p.update(best={"metric": "fid", "value": "low", "step": 1}), "'best' is not null"),
    ],
)
def test_crafted_checkpoints_are_refused_for_resume_naming_what_is_wrong(tmp_path, damage, match):
    payload = _resumable()
    damage(payload)
    path = checkpoint.save(payload, tmp_path / "crafted.pt")
    state = torch.get_rng_state()
    with pytest.raises(UserError, match=match) as caught:
        checkpoint.load(path, expect=checkpoint.FOR_RESUME)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert torch.equal(torch.get_rng_state(), state)  # trying the RNG state put the current one back


def test_first_nonfinite_names_the_tensor():
    good = {"a": torch.ones(2), "steps": torch.tensor(3)}
    assert checkpoint.first_nonfinite(good.items()) is None
    bad = {**good, "bn.running_var": torch.tensor([1.0, float("inf")])}
    assert checkpoint.first_nonfinite(bad.items()) == "bn.running_var"
    assert checkpoint.first_nonfinite([]) is None


def test_optimizer_state_of_another_shape_is_refused(tmp_path):
    small, large = torch.nn.Linear(2, 2), torch.nn.Linear(2, 3)
    trained = torch.optim.Adam(large.parameters())
    large(torch.ones(1, 2)).sum().backward()
    trained.step()
    fresh = torch.optim.Adam(small.parameters())
    with pytest.raises(UserError, match=r"x.pt: the 'g_optimizer' state exp_avg has shape \(3, 2\)"):
        checkpoint.load_weights(fresh, trained.state_dict(), tmp_path / "x.pt", "g_optimizer")
