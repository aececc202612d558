import pytest

import gan_cli.data as data
from gan_cli.errors import UserError

from .fakes import assert_one_line, data_cfg


def test_every_built_in_data_set_is_registered():
    built_in = ["audio_folder", "cifar10", "fashion_mnist", "folder", "grid25", "mnist", "ring8"]
    assert data.available() == built_in


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UserError) as caught:
        data.build(data_cfg(name="imagenet"), "cpu", 8)
    message = assert_one_line(caught.value)
    assert "'imagenet'" in message
    for name in data.available():
        assert name in message


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError):
        data.register("ring8")(lambda cfg, device, batch_size: None)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(UserError):
        data.build(data_cfg(name="ring8"), "cpu", batch_size)


def test_a_missing_required_field_is_one_line():
    with pytest.raises(UserError) as caught:
        data.build(data_cfg(name="folder"), "cpu", 8)
    assert "data.path" in assert_one_line(caught.value)


def test_omegaconf_configs_work_including_missing_values(tmp_path):
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.create({"name": "ring8", "n_points": 50})
    omegaconf.OmegaConf.set_struct(cfg, True)  # absent keys (std, radius) must fall back to defaults
    assert data.build(cfg, "cpu", 4).num_examples == 50

    unset = omegaconf.OmegaConf.create({"name": "folder", "path": "???"})
    with pytest.raises(UserError) as caught:
        data.build(unset, "cpu", 4)
    assert "data.path" in assert_one_line(caught.value)


def test_every_data_set_states_its_kind_and_shape():
    from gan_cli.data.kinds import KINDS
    from gan_cli.data.shapes import data_shape
    from gan_cli.registry import DATA

    for entry in DATA:
        assert entry.kind in KINDS and entry.summary
        assert entry.schema().name in (entry.name, "???")  # "???": a schema shared by several sets
        assert len(data_shape({"name": entry.name, "image_size": 32, "channels": 1})) in (1, 2, 3)
    assert data_shape({"name": "cifar10"}) == (3, 32, 32) and data_shape({"name": "ring8"}) == (2,)
    assert data_shape({"name": "folder", "channels": "auto", "image_size": 16}, look=False) == (3, 16, 16)
    assert data_shape({"name": "folder"}) == (3, 64, 64)  # configs from before data.channels: RGB
