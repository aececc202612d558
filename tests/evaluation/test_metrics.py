"""The metrics' registry and the config's lists: names, defaults, directions, bad values."""

import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from gan_cli import evaluation
from gan_cli.commands.config import EVAL_FEATURES, EVAL_METRICS, EvalConfig, validate_eval
from gan_cli.errors import UserError
from gan_cli.metrics import extractors
from gan_cli.registry import EXTRACTORS, METRICS
from tests.data.fakes import assert_one_line
from tests.evaluation.helpers import eval_cfg


def test_the_config_lists_agree_with_the_library():
    assert sorted(EVAL_METRICS) == evaluation.metric_names() == METRICS.names()
    assert EVAL_FEATURES == evaluation.FEATURES == extractors.NAMES == tuple(EXTRACTORS.names())


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"n": 1}, "n=1 is out of range"),
        ({"split": "val"}, "split='val' is out of range: train or test"),
        ({"features": "vgg"}, "features='vgg' is out of range: classifier, inception"),
        ({"metrics": ["fid", "is"]}, "metrics='is' is out of range: "),
        ({"metrics": []}, "metrics=[] is out of range"),
        ({"batch_size": 0}, "batch_size=0 is out of range"),
        ({"device": "gpu"}, "device='gpu' is out of range"),
    ],
)
def test_bad_values_are_refused_before_any_work(overrides, message):
    with pytest.raises(UserError) as error:
        eval_cfg("x.pt", **overrides)
    assert message in assert_one_line(error.value)


def readme_eval_commands() -> list[str]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return [line.split(" #")[0].strip() for line in readme.splitlines() if line.startswith("gan eval ")]


def test_the_readme_shows_eval_commands():
    assert len(readme_eval_commands()) >= 4


@pytest.mark.parametrize("command", readme_eval_commands())
def test_readme_eval_command_composes_and_validates(command):
    from hydra import compose, initialize_config_module

    from gan_cli.commands.config import register_schemas

    register_schemas()
    with initialize_config_module(config_module="gan_cli.configs", version_base="1.3"):
        # <date>/<time> stand for a real run folder's name
        overrides = shlex.split(re.sub(r"<[a-z]+>", "x", command))[2:]
        cfg = compose(config_name="eval", overrides=overrides)
    validate_eval(cfg)


def test_ckpt_is_required():
    with pytest.raises(UserError, match="ckpt is required"):
        validate_eval(OmegaConf.structured(EvalConfig()))


def test_default_metrics_follow_the_data():
    assert evaluation.default_metrics("image", 10) == ["fid", "kid", "pr", "coverage", "score"]
    assert evaluation.default_metrics("image", 0) == ["fid", "kid", "pr"]
    assert evaluation.default_metrics("points", 0) == ["modes"]
    # Inception's classes are ImageNet's: no class coverage with it.
    assert evaluation.default_metrics("image", 10, "inception") == ["fid", "kid", "pr", "score"]


@pytest.mark.parametrize(
    "name,direction",
    [
        ("fid", "min"),
        ("kid", "min"),
        ("precision", "max"),
        ("recall", "max"),
        ("pr", "max"),
        ("coverage", "max"),
    ]
    + [
        ("coverage_kl", "min"),
        ("score", "max"),
        ("modes_captured", "max"),
        ("modes", "max"),
        ("kl_uniform", "min"),
    ],
)
def test_primary_metric_direction(name, direction):
    assert evaluation.primary_metric_direction(name) == direction


def test_a_count_primary_is_ranked_with_its_metric_s_later_keys_as_tie_breaks():
    modes = [("modes_captured", "max"), ("high_quality_pct", "max"), ("kl_uniform", "min")]
    assert evaluation.ranking("modes_captured") == evaluation.ranking("modes") == modes
    assert evaluation.ranking("high_quality_pct") == modes[1:]
    assert evaluation.ranking("fid") == [("fid", "min")]


def test_best_pt_on_a_tie_of_modes_follows_high_quality_then_kl():
    from gan_cli.training.trainer import Evaluation

    ranks = Evaluation(None, 1, None, "modes_captured", "max", tie_breaks=evaluation.ranking("modes")[1:])
    early = {"modes_captured": 8.0, "high_quality_pct": 7.0, "kl_uniform": 0.04}
    assert ranks.better(early, None)
    assert ranks.better({**early, "high_quality_pct": 86.0}, early)  # same modes, sharper: better
    assert not ranks.better({**early, "modes_captured": 7.0, "high_quality_pct": 99.0}, early)
    assert ranks.better({**early, "kl_uniform": 0.01}, early) and not ranks.better(early, early)
    assert not ranks.better({**early, "modes_captured": math.nan}, early)
    assert ranks.better(early, {"modes_captured": 8.0})  # a best kept before tie-breaks: its primary only
    assert not ranks.better({"modes_captured": 8.0}, early)


def test_primary_metric_direction_of_an_unknown_name_lists_the_known_ones():
    with pytest.raises(UserError) as error:
        evaluation.primary_metric_direction("inception_score")
    assert "fid" in assert_one_line(error.value)


def test_the_registries_fill_without_importing_torch():
    """config.py reads METRICS and EXTRACTORS for its checks, which answer before torch loads."""
    code = (
        "import sys, gan_cli.evaluation; from gan_cli.registry import METRICS, EXTRACTORS; "
        "print(len(METRICS), len(EXTRACTORS), 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    # fid kid pr coverage score modes cond_acc intra_fid code_acc nll elbo
    assert result.returncode == 0 and result.stdout.split() == ["11", "2", "False"], result.stderr


def test_every_metric_says_its_directions_needs_and_kinds():
    from gan_cli.data import kinds

    for entry in METRICS:
        assert entry.keys and set(entry.keys.values()) <= {"min", "max"}, entry.name
        assert entry.needs in ("features", "probs", "classes", "samples", "likelihood"), entry.name
        assert entry.kinds and set(entry.kinds) <= set(kinds.KINDS), entry.name
        assert set(entry.counts) <= set(entry.keys) and entry.summary, entry.name
