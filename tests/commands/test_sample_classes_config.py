"""`gan sample`'s class= and classes= keys as Hydra composes them: typed (class is a Python
keyword, so it is a key of the schema node rather than a dataclass field), range-checked, and
listed; and `gan eval`'s metric list names the conditional metrics."""

import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException

from gan_cli.commands.config import EVAL_METRICS, register_schemas, sample_schema, validate_sample
from gan_cli.errors import UserError
from tests.data.fakes import assert_one_line


def composed(*overrides: str):
    register_schemas()
    with initialize_config_module(config_module="gan_cli.configs", version_base="1.3"):
        return compose(config_name="sample", overrides=["ckpt=x.pt", *overrides])


def test_class_and_classes_compose_as_integers():
    cfg = composed("class=3")
    validate_sample(cfg, overrides=[])
    assert cfg["class"] == 3 and cfg.classes is None
    cfg = composed("classes=[4,1]")
    validate_sample(cfg, overrides=[])
    assert list(cfg.classes) == [4, 1] and cfg["class"] is None


@pytest.mark.parametrize("override", ["class=abc", "class=[1,2]", "class=1.5", "classes=3"])
def test_wrong_types_are_refused_while_composing(override):
    with pytest.raises(ConfigCompositionException):
        composed(override)


@pytest.mark.parametrize(
    "values,expected",
    [
        ({"class": -1}, "class=-1 is out of range: an integer >= 0"),
        ({"class": 100_000}, "class=100000 is out of range: an integer >= 0 and <= 99999"),
        ({"classes": [2, -3]}, "classes=[2, -3] is out of range: each an integer >= 0"),
        ({"classes": ["a"]}, "classes=['a'] is out of range: each an integer >= 0"),
        ({"classes": [1.5]}, "classes=[1.5] is out of range: each an integer >= 0"),
        ({"classes": [True]}, "classes=[True] is out of range: each an integer >= 0"),
        ({"classes": []}, "classes=[] is out of range: a list of 1 to"),
        ({"class": 1, "classes": [2]}, "class=1 and classes=[2] both name classes"),
    ],
)
def test_bad_class_values_are_one_line(values, expected):
    cfg = sample_schema(ckpt="x.pt", device="cpu")
    for key, value in values.items():
        cfg[key] = value
    with pytest.raises(UserError) as error:
        validate_sample(cfg, overrides=[])
    assert expected in assert_one_line(error.value)


def test_a_typo_of_class_is_an_unknown_key():
    with pytest.raises(UserError) as error:
        validate_sample(composed("+klass=3"), overrides=[])
    assert "unknown key 'klass'" in assert_one_line(error.value)


def test_eval_lists_the_conditional_metrics():
    assert {"cond_acc", "intra_fid"} <= set(EVAL_METRICS)
