"""The config: groups compose, schemas refuse wrong types and keys, validate() refuses bad ranges."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import OmegaConfBaseException

from gan_cli.commands.config import validate
from gan_cli.commands.errors_report import one_line
from gan_cli.errors import UserError
from tests.helpers import compose_train


def test_defaults_compose_and_validate():
    cfg = compose_train()
    validate(cfg)
    assert (cfg.model.name, cfg.data.name, cfg.loss.name, cfg.optim.name) == ("mlp", "mnist", "ns", "adam")
    assert cfg.optim.lr == 2e-4 and list(cfg.optim.betas) == [0.5, 0.999]
    assert cfg.device == "auto" and cfg.seed == 0


@pytest.mark.parametrize(
    "group,options",
    [
        ("model", ["mlp", "dcgan"]),
        ("data", ["mnist", "fashion_mnist", "cifar10", "ring8", "grid25"]),
        ("optim", ["adam", "adamw", "rmsprop", "sgd"]),
        ("loss", ["ns"]),
    ],
)
def test_every_group_option_composes(group, options):
    for option in options:
        cfg = compose_train(f"{group}={option}", "model=mlp" if group == "data" else "data=mnist")
        validate(cfg)
        assert cfg[group].name == option


def test_folder_data_requires_a_path():
    cfg = compose_train("data=folder")
    with pytest.raises(UserError, match=r"data.path is required"):
        validate(cfg)
    validate(compose_train("data=folder", "data.path=/tmp", "data.image_size=32"))


def test_ttur_rates():
    from gan_cli.training.optim import learning_rates

    assert learning_rates(compose_train("optim.lr=1e-3").optim) == (1e-3, 1e-3)
    assert learning_rates(compose_train("optim.g_lr=1e-4", "optim.d_lr=4e-4").optim) == (1e-4, 4e-4)


def test_data_root_follows_the_environment(monkeypatch):
    monkeypatch.setenv("GAN_DATA_DIR", "/somewhere")
    assert compose_train().data.root == "/somewhere"
    monkeypatch.delenv("GAN_DATA_DIR")
    assert compose_train().data.root == "data"


@pytest.mark.parametrize(
    "override,expected",
    [
        ("trainer.stepz=5", "unknown key 'trainer.stepz' (did you mean trainer.steps?)"),
        ("model.widht=5", "unknown key 'model.widht'"),
        ("trainer.batch_size=abc", "trainer.batch_size: Value 'abc'"),
        ("optim.lr=fast", "optim.lr: Value 'fast'"),
    ],
)
def test_schema_errors_become_one_line(override, expected):
    extra = ["model=dcgan"] if override.startswith("model.") else []
    with pytest.raises((ConfigCompositionException, OmegaConfBaseException)) as caught:
        compose_train(*extra, override)
    message = one_line(caught.value)
    assert "\n" not in message
    assert message.startswith(expected)


@pytest.mark.parametrize(
    "override,key",
    [
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("trainer.steps=0", "trainer.steps"),
        ("trainer.d_steps=0", "trainer.d_steps"),
        ("trainer.epochs=-1", "trainer.epochs"),
        ("trainer.log_every=0", "trainer.log_every"),
        ("model.z_dim=0", "model.z_dim"),
        ("optim.lr=0", "optim.lr"),
        ("optim.lr=-1e-4", "optim.lr"),
        ("optim.d_lr=-1", "optim.d_lr"),
        ("optim.betas=[0.5,1.5]", "optim.betas"),
        ("device=gpu", "device"),
        ("data.split=valid", "data.split"),
        ("model.g_hidden=[]", "model.g_hidden"),
    ],
)
def test_out_of_range_values_name_key_value_and_range(override, key):
    with pytest.raises(UserError) as caught:
        validate(compose_train(override))
    message = str(caught.value)
    assert message.startswith(f"{key}=") and "out of range" in message and "\n" not in message


def test_image_models_refuse_2d_data():
    with pytest.raises(UserError, match="model=dcgan needs image data"):
        validate(compose_train("model=dcgan", "data=ring8"))


def test_unknown_group_option_lists_the_valid_ones():
    with pytest.raises(Exception) as caught:
        compose_train("model=stylegan")
    valid = "ae, dcgan, mlp, progan, resnet, vae, wavegan"
    assert one_line(caught.value) == f"Could not find 'model/stylegan'; valid options: {valid}"


def test_folder_channels_default_to_auto_and_take_1_3_or_auto():
    base = ("data=folder", "data.path=/tmp", "data.image_size=32")
    assert compose_train(*base).data.channels == "auto"
    for value in ("auto", "1", "3"):
        validate(compose_train(*base, f"data.channels={value}"))
    for value in ("2", "rgb", "2.5"):
        with pytest.raises(UserError, match=r"^data\.channels=.* is out of range: .*or auto"):
            validate(compose_train(*base, f"data.channels={value}"))


# ---- data-aware defaults (configs/data_defaults/<data>_<model>.yaml) -----------------------------
def _data_defaults(name):
    from pathlib import Path

    import gan_cli.configs
    from omegaconf import OmegaConf

    return OmegaConf.load(Path(gan_cli.configs.__file__).parent / "data_defaults" / f"{name}.yaml")


@pytest.mark.parametrize("data", ["ring8", "grid25"])
def test_2d_sets_bring_their_own_model_and_trainer_defaults(data):
    cfg = compose_train(f"data={data}")
    validate(cfg)
    own, rates = _data_defaults(f"{data}_mlp"), _data_defaults(f"{data}_adam")
    assert cfg.model.name == "mlp" and cfg.model.g_batchnorm is False
    # InfoGAN's categorical code (configs/recipe/infogan_modes.yaml), more categories than modes,
    # and a small noise beside it
    assert cfg.recipe.name == "infogan" and cfg.recipe.continuous == 0
    assert cfg.recipe.categorical[0] > {"ring8": 8, "grid25": 25}[data]
    assert cfg.model.z_dim - sum(cfg.recipe.categorical) == 2
    for section in ("model", "trainer"):
        for key, value in own[section].items():
            assert cfg[section][key] == value, f"{section}.{key}"
    for key, value in rates.items():
        assert cfg.optim[key] == value, f"optim.{key}"
    # they replace train.yaml's own trainer block, which image data keeps
    assert cfg.trainer.batch_size != compose_train().trainer.batch_size


@pytest.mark.parametrize("data", ["ring8", "grid25"])
def test_command_line_and_presets_beat_the_data_defaults(data):
    cfg = compose_train(
        f"data={data}", "model.z_dim=7", "trainer.steps=11", "optim.lr=0.123", "model.g_batchnorm=true"
    )
    assert (cfg.model.z_dim, cfg.trainer.steps, cfg.optim.lr, cfg.model.g_batchnorm) == (7, 11, 0.123, True)
    preset = compose_train(f"data={data}", "experiment=r1")
    assert list(preset.optim.betas) == [0.0, 0.99] and preset.optim.lr == 2e-4
    assert preset.model.z_dim == _data_defaults(f"{data}_mlp").model.z_dim  # what the preset leaves alone


def test_recipe_gan_on_the_command_line_beats_the_2d_sets_recipe(tmp_path):
    from tests.helpers import run_gan

    plain = compose_train("data=ring8", "recipe=gan", "model.z_dim=2", "trainer.pack=2")
    validate(plain)
    assert (plain.recipe.name, plain.model.z_dim, plain.trainer.pack) == ("gan", 2, 2)
    assert "categorical" not in plain.recipe  # the whole recipe is replaced, not merged into
    shown = run_gan("train", "--cfg", "job", "data=grid25", "recipe=gan", cwd=tmp_path)
    assert shown.returncode == 0 and "name: gan" in shown.stdout and "categorical" not in shown.stdout


def test_a_family_that_takes_no_points_is_told_so_before_the_sets_recipe_is_blamed():
    for model in ("vae", "progan"):
        with pytest.raises(UserError, match=rf"model={model} needs image data; data=ring8 holds 2D points"):
            validate(compose_train(f"model={model}", "data=ring8"))


def test_other_optimizers_keep_their_own_rates_and_the_defaults_can_be_switched_off():
    for optimizer in ("sgd", "rmsprop", "adamw"):
        cfg = compose_train("data=ring8", f"optim={optimizer}")
        validate(cfg)
        assert cfg.optim.lr == compose_train(f"optim={optimizer}").optim.lr
        assert cfg.model.z_dim == _data_defaults("ring8_mlp").model.z_dim
    off = compose_train("data=ring8", "~data_defaults@_global_", "~data_defaults@optim")
    assert (off.model.z_dim, off.trainer.batch_size, off.optim.lr) == (100, 64, 2e-4)


def test_image_data_keeps_the_general_defaults():
    for data in ("mnist", "fashion_mnist"):
        cfg = compose_train(f"data={data}")
        assert (cfg.model.z_dim, cfg.trainer.batch_size, cfg.trainer.steps) == (100, 64, 5000)


def test_cfg_job_shows_the_data_defaults_and_the_override(tmp_path):
    from omegaconf import OmegaConf

    from tests.helpers import run_gan

    plain = run_gan("train", "--cfg", "job", "data=ring8", cwd=tmp_path)
    overridden = run_gan(
        "train", "--cfg", "job", "data=ring8", "model.z_dim=5", "trainer.batch_size=32", cwd=tmp_path
    )
    assert plain.returncode == 0 and overridden.returncode == 0, plain.stderr + overridden.stderr
    shown, shown_over = OmegaConf.create(plain.stdout), OmegaConf.create(overridden.stdout)
    own = _data_defaults("ring8_mlp")
    assert shown.model.z_dim == own.model.z_dim and shown.trainer.batch_size == own.trainer.batch_size
    assert (shown_over.model.z_dim, shown_over.trainer.batch_size) == (5, 32)
    assert shown_over.model.g_hidden == own.model.g_hidden


def test_option_files_write_no_value_their_schema_already_gives():
    """One place per default: an option's YAML file holds its defaults line and name (and a value
    only where it differs from its schema's default, e.g. two sets sharing one schema)."""
    import dataclasses
    from pathlib import Path

    import yaml

    from gan_cli.commands.config import GROUPS, group_schemas
    from gan_cli.registry import RECIPES

    configs = Path(__file__).resolve().parents[2] / "configs"
    schemas = group_schemas()
    for group in GROUPS:
        for path in sorted((configs / group).glob("*.yaml")):
            option = path.stem
            content = yaml.safe_load(path.read_text())
            defaults = content["defaults"]
            # between them only the recipe a family trains with by default (docs/architecture.md)
            # (a registered recipe, or a recipe option such as infogan_modes, which the 2D sets pick)
            options = [*RECIPES.names(), *(p.stem for p in (configs / "recipe").glob("*.yaml"))]
            recipes = [{"override /recipe@_global_.recipe": name} for name in options]
            assert defaults[0] == f"/{group}_{option}_schema" and defaults[-1] == "_self_", path
            assert all(line in recipes for line in defaults[1:-1]), path
            assert content["name"] == option, path
            fields = {f.name: f for f in dataclasses.fields(schemas[group][option])}
            for key, value in content.items():
                if key in ("defaults", "name"):
                    continue
                spec = fields[key]
                default = (
                    spec.default_factory()
                    if spec.default_factory is not dataclasses.MISSING
                    else spec.default
                )
                assert value != default, f"{path.name}: {key}={value!r} repeats its schema's default"
