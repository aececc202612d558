"""Scoring conditional generators: conditioning accuracy (cond_acc), intra-class FID (intra_fid),
the labels the evaluation asks for, the defaults, and the one-line refusals."""

import json

import pytest
import torch
from torch import nn

from gan_cli import evaluation
from gan_cli.errors import UserError
from gan_cli.metrics.classes import conditioning_accuracy, proportional_counts, proportional_labels
from gan_cli.metrics.fid import frechet_distance, intra_class_fid
from gan_cli.outputs.images import to_uint8
from tests.data.fakes import assert_one_line
from tests.evaluation.helpers import SMALL_MLP, eval_cfg, quiet, tiny_generator, train_config
from tests.sampling.helpers import write_checkpoint


# ---- the math -------------------------------------------------------------------------------------
def test_conditioning_accuracy_is_the_share_of_samples_classified_as_asked():
    probs = torch.tensor(
        [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.0, 0.4, 0.6]]
    )
    asked = torch.tensor([0, 1, 1, 2, 2])
    # predicted 0, 1, 2, 0, 2: samples 0, 1 and 4 are of the class asked for
    assert conditioning_accuracy(probs, asked) == pytest.approx(3 / 5)


def test_intra_fid_is_the_mean_of_the_per_class_fids():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(60, 4, generator=g), torch.randn(45, 4, generator=g) + 0.3
    real_labels, fake_labels = torch.arange(60) % 3, torch.arange(45) % 3
    per_class = [frechet_distance(real[real_labels == c], fake[fake_labels == c]) for c in range(3)]
    assert intra_class_fid(real, real_labels, fake, fake_labels) == pytest.approx(
        sum(per_class) / 3, rel=1e-12
    )
    with pytest.raises(ValueError, match="class 2 has 20 real and 1 generated"):
        intra_class_fid(real, real_labels, fake[:8], torch.tensor([0, 0, 0, 1, 1, 1, 2, 0]))


def test_labels_follow_the_class_frequencies():
    assert proportional_counts(torch.tensor([10, 10, 10, 10]), 8).tolist() == [2, 2, 2, 2]
    assert proportional_counts(torch.tensor([1, 1, 1]), 10).tolist() == [4, 3, 3]  # ties: lower class
    assert proportional_counts(torch.tensor([980, 1135, 1032]), 100).tolist() == [31, 36, 33]
    labels = proportional_labels(torch.tensor([50, 30, 20]), 100, seed=4)
    assert labels.dtype == torch.int64 and torch.bincount(labels).tolist() == [50, 30, 20]
    assert torch.equal(labels, proportional_labels(torch.tensor([50, 30, 20]), 100, seed=4))
    assert not torch.equal(labels, proportional_labels(torch.tensor([50, 30, 20]), 100, seed=5))


# ---- the registry and the defaults ----------------------------------------------------------------
def test_conditional_metrics_are_registered_with_their_directions():
    assert {"cond_acc", "intra_fid"} <= set(evaluation.metric_names())
    assert evaluation.primary_metric_direction("cond_acc") == "max"
    assert evaluation.primary_metric_direction("intra_fid") == "min"


def test_default_metrics_of_a_conditional_generator_add_them():
    base = ["fid", "kid", "pr", "coverage", "score"]
    assert evaluation.default_metrics("image", 10) == base
    assert evaluation.default_metrics("image", 10, conditional=True) == [*base, "cond_acc", "intra_fid"]
    # cond_acc needs the data set's classifier; intra_fid compares any features
    inception = evaluation.default_metrics("image", 10, "inception", conditional=True)
    assert inception == ["fid", "kid", "pr", "score", "intra_fid"]
    assert evaluation.default_metrics("image", 0, conditional=True) == ["fid", "kid", "pr"]
    assert evaluation.default_metrics("points", 0, conditional=True) == ["modes"]


# ---- the Evaluator ---------------------------------------------------------------------------------
class Bands(nn.Module):
    """Banded images as the test set has them (class c: a bright band at rows 2c..2c+2), of the
    class asked for plus `shift`; z makes the background."""

    z_dim = 8
    takes_labels = True
    n_classes = 10

    def __init__(self, shift: int = 0):
        super().__init__()
        self.shift = shift
        self.scale = nn.Parameter(torch.tensor(0.05))

    def forward(self, z, labels):
        n = z.shape[0]
        background = z.repeat(1, 98)[:, :784].reshape(n, 1, 28, 28)
        images = (-0.8 + self.scale * background).clamp(-1, 1)
        rows = 2 + 2 * ((labels + self.shift) % 10)
        for offset in (0, 1):
            images[torch.arange(n), 0, rows + offset, 4:24] = 1.0
        return images


def test_a_generator_that_draws_the_class_asked_for_has_high_conditioning_accuracy(banded):
    evaluator = evaluation.Evaluator(banded, n=100, batch_size=50, note=quiet)
    good = evaluator.evaluate(Bands(), seed=0)
    assert set(good) >= {"fid", "cond_acc", "intra_fid"}
    assert good["cond_acc"] >= 0.9
    wrong = evaluator.evaluate(Bands(shift=1), seed=0)
    assert wrong["cond_acc"] <= 0.1 and wrong["intra_fid"] > good["intra_fid"]
    assert evaluator.evaluate(Bands(), seed=0) == good  # deterministic


def test_the_labels_asked_for_follow_the_real_split(banded):
    evaluator = evaluation.Evaluator(banded, n=100, batch_size=50, note=quiet)
    labels = evaluator.generated_labels(Bands(), seed=0)
    assert torch.bincount(labels).tolist() == [10] * 10  # the banded test split is balanced
    assert torch.equal(labels, evaluator.generated_labels(Bands(), seed=0))
    assert (
        evaluator.generated_labels(tiny_generator(train_config("data=mnist", *SMALL_MLP), (1, 28, 28)), 0)
        is None
    )


def test_cond_acc_is_a_hand_count_of_the_classifiers_votes(banded):
    evaluator = evaluation.Evaluator(banded, n=100, batch_size=50, note=quiet)
    G = Bands(shift=0)
    labels = evaluator.generated_labels(G, seed=0)
    images = torch.cat(list(evaluator._generated(G, 0, labels)))
    _, probs = evaluator.extractor(to_uint8(images))
    expected = sum(int(p.argmax()) == int(y) for p, y in zip(probs, labels, strict=True)) / 100
    assert evaluator.evaluate(G, ["cond_acc"], seed=0)["cond_acc"] == pytest.approx(expected)


def test_intra_fid_of_the_evaluator_is_the_mean_of_per_class_fids(banded):
    evaluator = evaluation.Evaluator(banded, n=100, batch_size=50, note=quiet)
    G = Bands()
    labels = evaluator.generated_labels(G, seed=0)
    images = torch.cat(list(evaluator._generated(G, 0, labels)))
    fake, _ = evaluator.extractor(to_uint8(images))
    real, real_labels = evaluator.real.features, evaluator.real.labels
    per_class = [frechet_distance(real[real_labels == c], fake[labels == c]) for c in range(10)]
    result = evaluator.evaluate(G, ["intra_fid"], seed=0)["intra_fid"]
    assert result == pytest.approx(sum(per_class) / 10, rel=1e-9)


def test_samples_made_elsewhere_score_with_their_labels(banded):
    evaluator = evaluation.Evaluator(banded, n=100, batch_size=50, note=quiet)
    G = Bands()
    labels = evaluator.generated_labels(G, seed=0)
    images = torch.cat(list(evaluator._generated(G, 0, labels)))
    assert evaluator.evaluate_samples(images, ["cond_acc"], labels=labels) == evaluator.evaluate(
        G, ["cond_acc"], seed=0
    )
    with pytest.raises(UserError) as error:
        evaluator.evaluate_samples(images, ["cond_acc"])
    assert "this generator takes no class labels" in assert_one_line(error.value)


def test_an_unconditional_generator_is_not_offered_them(banded):
    generator = tiny_generator(train_config("data=mnist", *SMALL_MLP), (1, 28, 28))
    evaluator = evaluation.Evaluator(banded, n=64, batch_size=50, note=quiet)
    assert evaluator.resolve_metrics(None) == ["fid", "kid", "pr", "coverage", "score"]
    assert set(evaluator.evaluate(generator, seed=0)).isdisjoint({"cond_acc", "intra_fid"})
    for name in ("cond_acc", "intra_fid"):
        with pytest.raises(UserError) as error:
            evaluator.evaluate(generator, ["fid", name])
        assert f"metrics={name} scores a conditional generator" in assert_one_line(error.value)


def test_intra_fid_with_too_few_images_per_class_is_refused_before_generating(banded):
    evaluator = evaluation.Evaluator(banded, n=15, batch_size=50, note=quiet)
    with pytest.raises(UserError) as error:
        evaluator.resolve_metrics(["intra_fid"], conditional=True)
    message = assert_one_line(error.value)
    assert "metrics=intra_fid needs at least 2 real and 2 generated images of every class" in message
    assert "raise n" in message


def test_a_generator_of_other_classes_is_refused(banded):
    G = Bands()
    G.n_classes = 7
    evaluator = evaluation.Evaluator(banded, n=64, batch_size=50, note=quiet)
    with pytest.raises(UserError) as error:
        evaluator.evaluate(G)
    assert "the generator takes 7 classes and data=mnist has 10" in assert_one_line(error.value)


# ---- gan eval on a checkpoint ---------------------------------------------------------------------
@pytest.fixture
def concat_ckpt(tmp_path, banded):
    config = train_config("data=mnist", "model.cond=concat", *SMALL_MLP)
    config["data"] = banded
    return write_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt", config, (1, 28, 28), n_classes=10)


def test_gan_eval_of_a_conditional_checkpoint_reports_them_by_default(concat_ckpt):
    result = evaluation.run(eval_cfg(concat_ckpt, n=100), note=quiet)
    report = json.loads(result.path.read_text())
    assert list(report["metrics"])[-2:] == ["cond_acc", "intra_fid"]
    assert {row["metric"] for row in report["results"]} >= {"cond_acc", "intra_fid"}
    assert 0 <= report["metrics"]["cond_acc"] <= 1 and report["metrics"]["intra_fid"] > 0


def test_gan_eval_asking_them_of_an_unconditional_checkpoint_is_one_line(mnist_ckpt):
    with pytest.raises(UserError) as error:
        evaluation.run(eval_cfg(mnist_ckpt, n=40, metrics=["cond_acc"]), note=quiet)
    assert "metrics=cond_acc scores a conditional generator" in assert_one_line(error.value)


@pytest.mark.slow
def test_gan_eval_cond_acc_of_an_unconditional_checkpoint_is_one_line_exit_2(mnist_ckpt, tmp_path):
    from tests.helpers import run_gan

    result = run_gan("eval", f"ckpt={mnist_ckpt}", "n=40", "metrics=[fid,cond_acc]", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: "), result.stderr
    assert "metrics=cond_acc scores a conditional generator" in result.stderr


@pytest.mark.slow
def test_gan_eval_after_a_short_conditional_run_reports_them(tmp_path):
    from tests.helpers import run_folders, run_gan
    from tests.metrics.labeled_images import write_banded_idx_set

    write_banded_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=300, test_count=100)
    short = ["trainer.steps=20", "trainer.log_every=10", "trainer.sample_every=20", "trainer.ckpt_every=20"]
    train = ("data.download=false", "trainer.batch_size=16", "model.cond=concat", "trainer.eval_every=0")
    result = run_gan("train", *train, *SMALL_MLP, *short, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    result = run_gan("eval", f"ckpt={run_dir}", "n=100", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cond_acc" in result.stdout and "intra_fid" in result.stdout
    report = json.loads((run_dir / "checkpoints" / "eval.json").read_text())
    assert list(report["metrics"])[-2:] == ["cond_acc", "intra_fid"]
