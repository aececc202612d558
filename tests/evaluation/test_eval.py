"""`gan eval` and the library under it (gan_cli.evaluation).

Most tests run the library in-process on a banded MNIST-format set (the classifier learns it in a
second) and tiny generators; the slow ones run the real `gan train` and `gan eval` commands.
"""

import json
import re
import shlex
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf

from gan_cli.outputs import checkpoint

from gan_cli import evaluation, models
from gan_cli.commands.config import EVAL_FEATURES, EVAL_METRICS, EvalConfig, validate_eval
from gan_cli.errors import UserError
from gan_cli.registry import EXTRACTORS, METRICS
from gan_cli.metrics import cache, classifier, extractors
from tests.data.fakes import assert_one_line, write_png
from tests.helpers import compose_train, run_folders, run_gan
from tests.metrics.labeled_images import mnist_cfg, write_banded_idx_set

SMALL_MLP = ["model.g_hidden=[32,64]", "model.d_hidden=[32]", "model.z_dim=16"]


def train_config(*overrides: str) -> dict:
    return OmegaConf.to_container(compose_train(*overrides), resolve=True)


def tiny_generator(config: dict, shape: tuple[int, ...], seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    generator, _ = models.build(OmegaConf.create(config["model"]), shape)
    return generator


def write_checkpoint(path: Path, config: dict, shape: tuple[int, ...], ema: bool = False) -> Path:
    generator = tiny_generator(config, shape)
    payload = {"config": config, "step": 7, "generator": generator.state_dict()}
    if ema:
        payload["ema_generator"] = tiny_generator(config, shape, seed=1).state_dict()
    return checkpoint.save(payload, path)


@pytest.fixture(scope="module", autouse=True)
def short_classifier_recipe():
    """The banded set needs fewer images per step than real data (the cache key follows)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classifier, "BATCH_SIZE", 32)
        patch.setattr(classifier, "EPOCHS", 3)
        yield


@pytest.fixture(autouse=True)
def no_evaluators_kept():
    evaluation._EVALUATORS.clear()


@pytest.fixture(scope="module")
def banded(tmp_path_factory) -> dict:
    """One banded set (and so one classifier, trained once) for the module."""
    root = tmp_path_factory.mktemp("banded") / "data"
    write_banded_idx_set(root / "MNIST" / "raw", train_count=300, test_count=100)
    return mnist_cfg(root)


@pytest.fixture
def mnist_ckpt(tmp_path, banded) -> Path:
    config = train_config("data=mnist", *SMALL_MLP)
    config["data"] = banded
    return write_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", config, (1, 28, 28), ema=True)


def eval_cfg(ckpt, **overrides):
    cfg = OmegaConf.structured(EvalConfig(ckpt=str(ckpt)))
    for key, value in {"device": "cpu", **overrides}.items():
        cfg[key] = value  # the schema type-checks each value, as Hydra would
    validate_eval(cfg)
    return cfg


def quiet(_: str) -> None:
    pass


# ---- config and registry ---------------------------------------------------------------------------
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


def test_primary_metric_direction_of_an_unknown_name_lists_the_known_ones():
    with pytest.raises(UserError) as error:
        evaluation.primary_metric_direction("inception_score")
    assert "fid" in assert_one_line(error.value)


# ---- 2D sets ------------------------------------------------------------------------------------------
def test_ring8_gives_the_mode_metrics_deterministically_and_restores_train_mode():
    config = train_config("data=ring8", *SMALL_MLP)
    generator = tiny_generator(config, (2,)).train()
    evaluator = evaluation.Evaluator(config["data"], n=500, batch_size=128)
    state = torch.get_rng_state()
    first = evaluator.evaluate(generator, seed=3)
    assert torch.equal(torch.get_rng_state(), state) and generator.training
    assert set(first) == {"modes_captured", "high_quality_pct", "kl_uniform"}
    assert 0 <= first["modes_captured"] <= 8
    assert evaluator.evaluate(generator, seed=3) == first
    assert evaluator.describe() == {"data": "ring8", "extractor": "points", "split": "-", "n": 500}
    with pytest.raises(UserError) as error:
        evaluator.evaluate(generator, ["fid"])
    assert "metrics=fid does not apply to data=ring8 (2D points); valid here: modes" in str(error.value)


def test_n_beyond_a_2d_set_is_capped_at_its_n_points():
    config = train_config("data=ring8", *SMALL_MLP, "data.n_points=300")
    notes = []
    evaluator = evaluation.Evaluator(config["data"], n=10**11, note=notes.append)
    assert evaluator.describe()["n"] == 300 and "(its data.n_points)" in notes[0]
    results = evaluator.evaluate(tiny_generator(config, (2,)))
    assert 0 <= results["modes_captured"] <= 8


# ---- images -------------------------------------------------------------------------------------------
def test_images_with_the_classifier(banded):
    config = train_config("data=mnist", *SMALL_MLP)
    generator = tiny_generator(config, (1, 28, 28))
    evaluator = evaluation.Evaluator(banded, n=64, batch_size=50, note=quiet)
    results = evaluator.evaluate(generator, seed=0)
    assert set(results) == {
        "fid",
        "kid",
        "kid_std",
        "precision",
        "recall",
        "coverage",
        "coverage_kl",
        "score",
    }
    assert results["fid"] > 0 and 0 <= results["precision"] <= 1 and 1 <= results["score"] <= 10
    assert evaluator.evaluate(generator, seed=0) == results  # deterministic
    assert evaluator.evaluate(generator, ["fid"], seed=1)["fid"] != results["fid"]
    facts = evaluator.describe()
    assert facts["extractor"] == "classifier" and facts["split"] == "test" and facts["n_real"] == 64
    assert facts["classifier_accuracy"] > 0.9


def test_real_images_score_better_than_noise(banded):
    from gan_cli import data

    train = data.build(SimpleNamespace(**{**banded, "split": "train"}), "cpu", 1)
    real_images = train.images[:64].float() / 127.5 - 1
    noise = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    evaluator = evaluation.Evaluator(banded, n=64, batch_size=50, note=quiet)
    real = evaluator.evaluate_samples(real_images)
    fake = evaluator.evaluate_samples(noise.split(10))
    assert real["fid"] < fake["fid"] and real["kid"] < fake["kid"]
    assert real["precision"] > fake["precision"] and real["recall"] > fake["recall"]
    assert real["coverage"] == 10 and real["coverage_kl"] < fake["coverage_kl"]
    assert real["score"] > 5 > fake["score"]


def test_real_features_are_cached_per_dataset_split_extractor_and_n(banded, monkeypatch):
    evaluation.Evaluator(banded, n=51, note=quiet)
    evaluation.Evaluator(banded, n=61, note=quiet)
    evaluation.Evaluator(banded, n=61, split="train", note=quiet)
    names = sorted(p.name for p in cache.folder(banded).glob("real-*-n[56]1-*.pt"))
    assert [name.rsplit("-", 1)[0] for name in names] == [
        "real-mnist-test-classifier-n51",
        "real-mnist-test-classifier-n61",
        "real-mnist-train-classifier-n61",
    ]

    def must_not_extract(self, images):
        raise AssertionError("real features extracted again")

    monkeypatch.setattr(extractors.ClassifierExtractor, "__call__", must_not_extract)
    again = evaluation.Evaluator(banded, n=61, note=quiet)
    assert again.real.features.shape == (61, classifier.HIDDEN) and again.real.radii.shape == (61,)


def test_n_beyond_the_split_uses_the_whole_split_and_generates_as_many(banded):
    notes = []
    evaluator = evaluation.Evaluator(banded, n=10**11, note=notes.append)
    assert evaluator.n_real == 100 and evaluator.describe()["n"] == 100
    assert [note for note in notes if "n=100,000,000,000 is more than the 100 images" in note]
    config = train_config("data=mnist", *SMALL_MLP)
    generator = tiny_generator(config, (1, 28, 28))
    assert sum(batch.shape[0] for batch in evaluator._generated(generator, seed=0)) == 100
    assert set(evaluator.evaluate(generator, ["fid"])) == {"fid"}


def test_n_within_the_split_is_kept_without_a_note(banded):
    notes = []
    evaluator = evaluation.Evaluator(banded, n=40, note=notes.append)
    assert evaluator.n == evaluator.n_real == 40
    assert not [note for note in notes if "is more than" in note]


def test_precision_recall_of_too_few_samples_is_one_line(banded):
    evaluator = evaluation.Evaluator(banded, n=3, note=quiet)
    config = train_config("data=mnist", *SMALL_MLP)
    assert set(evaluator.evaluate(tiny_generator(config, (1, 28, 28)), ["fid"])) == {"fid"}
    with pytest.raises(UserError) as error:
        evaluator.evaluate(tiny_generator(config, (1, 28, 28)), ["pr"])
    assert "metrics=pr needs more than 3 samples" in assert_one_line(error.value)


def test_evaluate_generator_keeps_its_evaluator_between_calls(banded, monkeypatch):
    config = train_config("data=mnist", *SMALL_MLP)
    generator = tiny_generator(config, (1, 28, 28))
    first = evaluation.evaluate_generator(generator, OmegaConf.create(banded), ["fid"], n=32, seed=0)

    def must_not_build(*args, **kwargs):
        raise AssertionError("built the evaluator again")

    monkeypatch.setattr(evaluation.Evaluator, "__init__", must_not_build)
    assert evaluation.evaluate_generator(generator, banded, ["fid"], n=32, seed=0) == first


def test_coverage_needs_the_classifier(banded, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    from tests.metrics.test_extractors import random_inception_weights

    pytest.importorskip("torch_fidelity")
    random_inception_weights(extractors.inception_weights_path())
    evaluator = evaluation.Evaluator(banded, features="inception", n=4, note=quiet)
    assert evaluator.resolve_metrics(None) == ["fid", "kid", "pr", "score"]
    with pytest.raises(UserError) as error:
        evaluator.resolve_metrics(["coverage"])
    assert "needs features=classifier" in assert_one_line(error.value)


def test_a_folder_without_classes_refuses_the_classifier(tmp_path):
    for index in range(4):
        write_png(tmp_path / "faces" / f"{index}.png", 8, 8, mode="L", seed=index)
    cfg = {
        "name": "folder",
        "root": str(tmp_path),
        "path": str(tmp_path / "faces"),
        "image_size": 8,
        "channels": 1,
    }
    with pytest.raises(UserError) as error:
        evaluation.Evaluator(cfg, n=4)
    assert "use features=inception" in assert_one_line(error.value)


def test_a_folder_with_classes_is_one_split(tmp_path):
    for label in ("cats", "dogs"):
        for index in range(6):
            write_png(tmp_path / "pets" / label / f"{index}.png", 8, 8, mode="L", seed=index + 9 * len(label))
    cfg = {
        "name": "folder",
        "root": str(tmp_path / "data"),
        "path": str(tmp_path / "pets"),
        "image_size": 8,
        "channels": 1,
        "workers": 0,
    }
    evaluator = evaluation.Evaluator(cfg, n=8, note=quiet)
    assert evaluator.describe()["split"] == "all" and evaluator.n_classes == 2
    generator, _ = models.build(
        OmegaConf.create({"name": "mlp", "z_dim": 4, "g_hidden": [8], "d_hidden": [8]}), (1, 8, 8)
    )
    results = evaluator.evaluate(generator, ["fid", "coverage"])
    assert set(results) == {"fid", "coverage_kl", "coverage"} and results["coverage"] <= 2


def test_a_generator_of_another_shape_is_refused(banded):
    config = train_config("data=cifar10", "model=mlp", *SMALL_MLP)
    evaluator = evaluation.Evaluator(banded, n=8, note=quiet)
    with pytest.raises(UserError, match=r"shape \(3, 32, 32\)"):
        evaluator.evaluate(tiny_generator(config, (3, 32, 32)))


# ---- the command without Hydra ------------------------------------------------------------------------
def test_run_writes_eval_json_beside_the_checkpoint(mnist_ckpt):
    result = evaluation.run(eval_cfg(mnist_ckpt, n=40, metrics=["fid", "pr"]), note=quiet)
    assert result.path == mnist_ckpt.parent / "eval.json"
    report = json.loads(result.path.read_text())
    assert report["weights"] == "ema_generator" and report["step"] == 7
    assert set(report["metrics"]) == {"fid", "precision", "recall"}
    for row in report["results"]:
        assert row["extractor"] == "classifier" and row["n"] == 40 and row["split"] == "test"
        assert row["checkpoint"] == str(mnist_ckpt.resolve()) and row["time"]
    assert report["classifier_accuracy"] > 0.9


def test_run_takes_a_run_folder_and_out_as_file_or_folder(mnist_ckpt, tmp_path):
    run_folder = mnist_ckpt.parent.parent
    as_file = evaluation.run(eval_cfg(run_folder, n=20, metrics=["fid"], out=str(tmp_path / "r.json")), quiet)
    assert as_file.path == tmp_path / "r.json" and as_file.path.is_file()
    as_folder = evaluation.run(eval_cfg(run_folder, n=20, metrics=["fid"], out=str(tmp_path / "res")), quiet)
    assert as_folder.path == tmp_path / "res" / "eval.json" and as_folder.path.is_file()
    g_weights = evaluation.run(
        eval_cfg(run_folder, n=20, metrics=["fid"], use_ema=False, out=str(tmp_path)), quiet
    )
    assert g_weights.report["weights"] == "generator"
    assert g_weights.report["metrics"]["fid"] != as_file.report["metrics"]["fid"]


def test_data_root_points_at_the_data_elsewhere(mnist_ckpt, banded, tmp_path):
    config = checkpoint.load(mnist_ckpt)
    config["config"]["data"]["root"] = str(tmp_path / "moved")
    moved = checkpoint.save(config, tmp_path / "moved.pt")
    with pytest.raises(UserError):
        evaluation.run(eval_cfg(moved, n=20, metrics=["fid"]), quiet)
    result = evaluation.run(eval_cfg(moved, n=20, metrics=["fid"], data_root=banded["root"]), quiet)
    assert result.report["metrics"]["fid"] > 0


def test_a_second_evaluation_adds_to_eval_json_and_replaces_only_the_same_measurement(mnist_ckpt):
    first = evaluation.run(eval_cfg(mnist_ckpt, n=40, metrics=["fid", "pr"]), note=quiet)
    second = evaluation.run(eval_cfg(mnist_ckpt, n=40, metrics=["kid"]), note=quiet)
    assert second.path == first.path
    saved = json.loads(first.path.read_text())
    assert saved == second.saved
    assert {row["metric"] for row in saved["results"]} == {"fid", "precision", "recall", "kid", "kid_std"}
    assert set(saved["metrics"]) == {"kid", "kid_std"}  # the top level is the newest evaluation
    assert {row["metric"] for row in second.report["results"]} == {"kid", "kid_std"}  # what is shown

    other_n = evaluation.run(eval_cfg(mnist_ckpt, n=30, metrics=["fid"], seed=3), note=quiet)
    again = evaluation.run(eval_cfg(mnist_ckpt, n=30, metrics=["fid"], seed=4), note=quiet)
    fids = [(row["n"], row["seed"]) for row in again.saved["results"] if row["metric"] == "fid"]
    assert sorted(fids) == [(30, 4), (40, 0)]  # n=30 replaced (another seed), n=40 kept
    assert other_n.saved["results"][-1]["seed"] == 3
    g_weights = evaluation.run(eval_cfg(mnist_ckpt, n=30, metrics=["fid"], use_ema=False), note=quiet)
    assert [row["weights"] for row in g_weights.saved["results"] if row["metric"] == "fid"] == [
        "ema_generator", "ema_generator", "generator",
    ]  # fmt: skip
    assert sorted(p.name for p in first.path.parent.iterdir()) == ["eval.json", "last.pt"]  # no partial


def test_merging_keeps_other_checkpoints_and_settings():
    same = {"weights": "g", "metric": "fid", "extractor": "c", "n": 10, "split": "test"}
    old = [
        {"checkpoint": "/r/last.pt", **same, "value": 1.0},
        {"checkpoint": "/r/best.pt", **same, "value": 2.0},
    ]
    new = [{**old[0], "value": 3.0}]
    assert evaluation.merge_results(old, new) == [old[1], new[0]]
    assert evaluation.merge_results([], new) == new


@pytest.mark.parametrize("content", ["{not json", '{"fid": 3}', "[1, 2]"])
def test_out_naming_a_json_file_that_is_not_a_results_file_is_refused(mnist_ckpt, tmp_path, content):
    other = tmp_path / "other.json"
    other.write_text(content)
    with pytest.raises(UserError, match="is not a gan eval results file"):
        evaluation.run(eval_cfg(mnist_ckpt, n=20, metrics=["fid"], out=str(other)), quiet)
    assert other.read_text() == content


# ---- the real command -----------------------------------------------------------------------------
@pytest.mark.slow
def test_gan_eval_after_a_real_gan_train_on_mnist_files(tmp_path):
    write_banded_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=300, test_count=100)
    # Without metrics during training, so that gan eval is what trains the classifier.
    trained = run_gan(
        "train",
        "data.download=false",
        "trainer.steps=20",
        "trainer.batch_size=16",
        "trainer.eval_every=0",
        *SMALL_MLP,
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    (run_dir,) = run_folders(tmp_path)
    result = run_gan("eval", f"ckpt={run_dir}", "n=200", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((run_dir / "checkpoints" / "eval.json").read_text())
    assert report["extractor"] == "classifier" and report["checkpoint"].endswith("last.pt")
    assert set(report["metrics"]) == {
        "fid",
        "kid",
        "kid_std",
        "precision",
        "recall",
        "coverage",
        "coverage_kl",
        "score",
    }
    for key in ("fid", "kid", "precision", "coverage", "score"):
        assert key in result.stdout
    assert "classifier" in result.stdout and "wrote " in result.stdout
    assert "evaluation classifier: accuracy" in result.stderr  # trained on first use, and said so
    assert run_folders(tmp_path) == [run_dir]  # the eval job's own folder is not left behind
    assert list((tmp_path / "data" / "gan_cli_cache").glob("classifier-mnist-*.pt"))


@pytest.mark.slow
def test_gan_eval_on_ring8(tmp_path):
    trained = run_gan("train", "data=ring8", "trainer.steps=20", *SMALL_MLP, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    (run_dir,) = run_folders(tmp_path)
    result = run_gan("eval", f"ckpt={run_dir}", "n=2500", f"out={tmp_path / 'ring.json'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "ring.json").read_text())
    assert set(report["metrics"]) == {"modes_captured", "high_quality_pct", "kl_uniform"}
    assert report["extractor"] == "points" and "modes_captured" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "args,message",
    [
        (["ckpt=missing.pt"], "ckpt=missing.pt does not exist"),
        (["ckpt=bad.pt"], "is not a loadable gan_cli checkpoint"),
        (["ckpt=ring.pt", "metrics=[fid]"], "metrics=fid does not apply to data=ring8"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    write_checkpoint(tmp_path / "ring.pt", train_config("data=ring8", *SMALL_MLP), (2,))
    result = run_gan("eval", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "outputs").exists() or not run_folders(tmp_path)


@pytest.mark.slow
def test_inception_offline_is_one_line_suggesting_the_classifier(tmp_path, mnist_ckpt):
    env = {"TORCH_HOME": str(tmp_path / "torch"), extractors.URL_VARIABLE: (tmp_path / "none.pth").as_uri()}
    result = run_gan("eval", f"ckpt={mnist_ckpt}", "features=inception", "n=10", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert (
        "cannot fetch the FID Inception weights" in result.stderr and "features=classifier" in result.stderr
    )
