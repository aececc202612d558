"""`gan eval` as a command: eval.json, and the real `gan train` + `gan eval` commands (slow)."""

import json

import pytest

from gan_cli import evaluation
from gan_cli.errors import UserError
from gan_cli.metrics import extractors
from gan_cli.outputs import checkpoint
from tests.evaluation.helpers import SMALL_MLP, eval_cfg, quiet, train_config, write_checkpoint
from tests.helpers import run_folders, run_gan
from tests.metrics.labeled_images import write_banded_idx_set


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
    trained = run_gan("train", "data=ring8", "recipe=gan", "trainer.steps=20", *SMALL_MLP, cwd=tmp_path)
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
    write_checkpoint(tmp_path / "ring.pt", train_config("data=ring8", "recipe=gan", *SMALL_MLP), (2,))
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
