import pytest
import torch

from gan_cli import models
from gan_cli.models import available, build, register


def test_available_lists_the_families():
    names = available()
    assert {"mlp", "dcgan"} <= set(names)
    assert names == sorted(names)


def test_unknown_name_lists_the_valid_ones(model_cfg, raises_one_line_user_error):
    with raises_one_line_user_error("'gpt'", *available()):
        build(model_cfg("gpt"), (1, 28, 28))


def test_missing_name_is_a_user_error(raises_one_line_user_error):
    class NoName:
        pass

    with raises_one_line_user_error("mlp"):
        build(NoName(), (1, 28, 28))


def test_registering_a_name_twice_is_refused():
    with pytest.raises(ValueError):
        register("mlp")(lambda cfg, shape, n_classes: None)


@pytest.mark.parametrize("shape", [(1, 28), (0, 28, 28), (1, 1, 28, 28), ()])
def test_unusable_data_shapes_are_user_errors(model_cfg, raises_one_line_user_error, shape):
    with raises_one_line_user_error("shape"):
        build(model_cfg("mlp"), shape)


def test_shape_may_be_any_int_sequence(model_cfg):
    generator, discriminator = build(model_cfg("mlp"), torch.Size([1, 8, 8]))
    assert generator.shape == discriminator.shape == (1, 8, 8)


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_n_classes_is_accepted_and_ignored(model_cfg, name):
    generator, discriminator = build(model_cfg(name), (1, 28, 28), n_classes=10)
    assert generator(torch.randn(2, generator.z_dim)).shape == (2, 1, 28, 28)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("z_dim", 0),
        ("z_dim", "100"),
        ("z_dim", True),
        ("z_dim", 1.5),
        ("slope", -0.1),
        ("slope", "0.2"),
        ("slope", float("inf")),
        ("g_batchnorm", "false"),
        ("g_batchnorm", 1),
        ("g_hidden", 128),
        ("g_hidden", "128"),
        ("g_hidden", [128, 0]),
        ("d_hidden", [256, 1.5]),
    ],
)
def test_bad_mlp_fields_name_the_key(model_cfg, raises_one_line_user_error, field, value):
    with raises_one_line_user_error(f"model.{field}="):
        build(model_cfg("mlp", **{field: value}), (1, 28, 28))


@pytest.mark.parametrize(("field", "value"), [("width", 0), ("width", "64"), ("d_batchnorm", "yes")])
def test_bad_dcgan_fields_name_the_key(model_cfg, raises_one_line_user_error, field, value):
    with raises_one_line_user_error(f"model.{field}="):
        build(model_cfg("dcgan", **{field: value}), (1, 28, 28))


def test_null_fields_take_the_defaults(model_cfg):
    generator, _ = build(model_cfg("mlp", z_dim=None, g_hidden=None), (2,))
    assert generator.z_dim == 100


def test_omegaconf_config_is_accepted():
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.create({"name": "mlp", "z_dim": 16, "g_hidden": [32, 64], "d_hidden": [48]})
    omegaconf.OmegaConf.set_struct(cfg, True)  # missing keys raise, as under Hydra
    generator, discriminator = build(cfg, (1, 28, 28))
    assert generator(torch.randn(2, 16)).shape == (2, 1, 28, 28)
    assert discriminator.net[1].out_features == 48


def test_package_exports_the_api():
    assert set(models.__all__) == {"available", "build", "register"}


def test_every_family_states_its_schema_data_kinds_and_summary():
    from gan_cli.data.kinds import KINDS
    from gan_cli.registry import MODELS

    for entry in MODELS:
        assert entry.schema is not None and entry.schema().name == entry.name
        assert entry.summary and set(entry.kinds) <= set(KINDS)
    assert MODELS.get("dcgan").kinds == ("image",)


def test_settings_fill_absent_and_null_keys_from_the_schema(model_cfg):
    from gan_cli.registry import MODELS

    settings = MODELS.settings(model_cfg("mlp", z_dim=None, slope=0.1))
    assert (settings.z_dim, settings.slope, settings.g_hidden) == (100, 0.1, [128, 256, 512, 1024])
    assert MODELS.settings({"name": "dcgan", "width": 8}).width == 8  # a checkpoint's stored dict


def test_registering_modules_do_not_import_torch():
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "import gan_cli.models, gan_cli.data, gan_cli.data.shapes\n"
        "import gan_cli.training.losses, gan_cli.training.optim\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stdout + result.stderr
