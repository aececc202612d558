import pytest

import gan_cli.data as data
from gan_cli.errors import UserError

from .fakes import assert_one_line, data_cfg


def test_every_built_in_data_set_is_registered():
    assert data.available() == ["cifar10", "fashion_mnist", "folder", "grid25", "mnist", "ring8"]


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
