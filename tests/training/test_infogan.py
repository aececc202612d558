"""recipe=infogan: the code layout and sampler, the mutual-information terms against their formulas,
Q trained in G's step only, D's trunk features, the config rules, and an exact resume."""

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F

from gan_cli.commands.train import build, compose, run
from gan_cli.errors import UserError
from gan_cli.models import contract, infogan
from gan_cli.models.common import Discriminator
from gan_cli.outputs import checkpoint
from tests.data.fakes import assert_one_line, write_idx_set
from tests.helpers import SilentReporter

FEW = ["trainer.progress=false", "trainer.log_every=2", "trainer.sample_every=100", "trainer.ckpt_every=100"]
SMALL = {
    "mlp": ["model=mlp", "model.g_hidden=[16,16]", "model.d_hidden=[16]", "model.z_dim=20"],
    "dcgan": ["model=dcgan", "model.width=4", "model.z_dim=20"],
    "resnet": ["model=resnet", "model.width=4", "model.z_dim=20"],
}
INFO = ["experiment=infogan", "recipe.q_hidden=8"]


@pytest.fixture
def mnist_root(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "data" / "MNIST" / "raw", train_count=64)
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def config(*overrides):
    return compose([*FEW, "data.download=false", "trainer.batch_size=8", "trainer.eval_every=0", *overrides])


def built(root, *overrides):
    return build(config(*INFO, *overrides), root / "run", reporter=SilentReporter()).trainer


# ---- the layout and the sampler -----------------------------------------------------------------
def test_the_latent_is_noise_then_one_hots_then_continuous_codes():
    codes = infogan.layout(20, [3, 4], 2)
    assert (codes.noise, codes.code_size) == (11, 9)
    z, cats, cont = infogan.draw(codes, 50, rng=torch.Generator().manual_seed(0))
    assert z.shape == (50, 20) and cats.shape == (50, 2) and cont.shape == (50, 2)
    first, second = codes.categorical_slices()
    assert torch.equal(z[:, first], F.one_hot(cats[:, 0], 3).float())
    assert torch.equal(z[:, second], F.one_hot(cats[:, 1], 4).float())
    assert torch.equal(z[:, codes.continuous_slice()], cont)
    assert cont.min() >= -1 and cont.max() <= 1
    assert torch.equal(infogan.categories_of(codes, z), cats)


def test_attach_gives_the_contract_the_code_sampler_and_leaves_the_state_dict():
    from gan_cli.models.mlp import build_mlp
    from tests.helpers import compose_train

    G, _ = build_mlp(compose_train("model=mlp", "model.z_dim=20").model, (1, 8, 8))
    keys = list(G.state_dict())
    infogan.attach(G, infogan.layout(20, [10], 2))
    assert list(G.state_dict()) == keys and contract.latent_codes(G).categorical == (10,)
    z = contract.sample_latent(G, 30, torch.Generator().manual_seed(1))
    assert torch.equal(z[:, 8:18].sum(dim=1), torch.ones(30))  # one category of the 10 set in each


def test_a_layout_without_noise_is_one_line():
    with pytest.raises(UserError) as caught:
        infogan.layout(12, [10], 2)
    assert "model.z_dim>=13" in assert_one_line(caught.value)


# ---- the mutual-information terms against their formulas ---------------------------------------
def test_the_categorical_term_is_the_summed_cross_entropy_of_each_code():
    first = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    second = torch.tensor([[1.0, 1.0], [-4.0, 0.0]])
    categories = torch.tensor([[2, 0], [1, 1]])

    def nll(logits, rows):  # -log softmax, written out
        return -sum(
            logits[i, c] - math.log(sum(math.exp(v) for v in logits[i].tolist())) for i, c in enumerate(rows)
        ) / len(rows)

    by_hand = nll(first, [2, 1]) + nll(second, [0, 1])
    assert infogan.categorical_nll([first, second], categories).item() == pytest.approx(by_hand, rel=1e-6)


def test_the_continuous_term_is_the_gaussian_negative_log_likelihood():
    values = torch.tensor([[0.5, -1.0], [0.0, 0.25]])
    mean = torch.tensor([[0.0, -0.5], [0.5, 0.0]])
    log_std = torch.tensor([[0.0, math.log(0.5)], [math.log(2.0), 0.0]])

    def density(c, mu, sigma):
        return math.exp(-((c - mu) ** 2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))

    sigmas = log_std.exp()
    by_hand = (
        -sum(
            math.log(density(values[i, j].item(), mean[i, j].item(), sigmas[i, j].item()))
            for i in range(2)
            for j in range(2)
        )
        / 2
    )
    assert infogan.gaussian_nll(values, mean, log_std).item() == pytest.approx(by_hand, rel=1e-6)
    fixed = (
        -sum(
            math.log(density(values[i, j].item(), mean[i, j].item(), 1.0)) for i in range(2) for j in range(2)
        )
        / 2
    )
    assert infogan.gaussian_nll(values, mean).item() == pytest.approx(fixed, rel=1e-6)


def test_q_outputs_split_into_logits_means_and_log_stds():
    codes = infogan.layout(20, [3, 2], 2)
    out = torch.arange(9.0).reshape(1, 9)
    logits, mean, log_std = infogan.split_q(codes, out, learn_std=True)
    assert [t.tolist() for t in logits] == [[[0.0, 1.0, 2.0]], [[3.0, 4.0]]]
    assert mean.tolist() == [[5.0, 6.0]] and log_std.tolist() == [[7.0, 8.0]]
    assert infogan.split_q(codes, out[:, :7])[2] is None


# ---- D's trunk features --------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["mlp", "dcgan", "resnet"])
def test_features_give_forwards_logits_bit_for_bit(family):
    from gan_cli import models
    from tests.helpers import compose_train

    _, D = models.build(compose_train(*SMALL[family]).model, (1, 16, 16))
    assert isinstance(D, Discriminator)
    twin = copy.deepcopy(D)  # spectral norm's power iteration moves with each training-mode pass
    x = torch.randn(6, 1, 16, 16)
    logits, phi = D.features(x)
    assert torch.equal(logits, twin(x)) and phi.shape[0] == 6
    assert list(D.state_dict()) == list(twin.state_dict())


# ---- the recipe ----------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["mlp", "dcgan", "resnet"])
def test_q_changes_in_gs_step_and_not_in_ds(mnist_root, family):
    trainer = built(mnist_root, *SMALL[family])
    recipe = trainer.recipe
    Q, D = recipe.networks["q"], recipe.networks["discriminator"]

    def snapshot(module):
        return [p.detach().clone() for p in module.parameters()]

    def changed(module, before):
        return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))

    seen = []
    update = recipe.update

    def watched_update(name, objective):
        q_before, d_before = snapshot(Q), snapshot(D)
        result = update(name, objective)
        seen.append((name, changed(Q, q_before), changed(D, d_before)))
        return result

    recipe.update = watched_update
    stats = recipe.step(trainer.batches)
    assert seen == [("discriminator", False, True), ("generator", True, False)]
    assert {"info_cat", "info_cont", "d_loss", "g_loss"} <= set(stats)
    assert all(torch.isfinite(v) for v in stats.values())


def test_the_mi_terms_join_gs_objective_with_their_weights(mnist_root, monkeypatch):
    trainer = built(mnist_root, *SMALL["mlp"], "recipe.lambda_cat=2", "recipe.lambda_cont=0.5")
    recipe, seen = trainer.recipe, {}
    update = recipe.update

    def watched_update(name, objective):
        seen[name] = objective.detach()
        return update(name, objective)

    recipe.update = watched_update
    stats = recipe.step(trainer.batches)
    expected = stats["g_loss"] + 2 * stats["info_cat"] + 0.5 * stats["info_cont"]
    assert torch.allclose(seen["generator"], expected)


def test_the_recipe_attaches_the_codes_and_checkpoints_q(mnist_root):
    trainer = built(mnist_root, *SMALL["dcgan"], "recipe.categorical=[4,3]", "recipe.continuous=1")
    G = trainer.recipe.generator
    assert contract.latent_codes(G) == infogan.layout(20, [4, 3], 1)
    assert trainer.fixed_noise[:, 12:16].sum(dim=1).eq(1).all()  # the grids' latents carry codes
    assert (
        trainer.recipe.label("q") == "Q"
        and "InfoGAN (noise 12, cat0 4 cat1 3" in trainer.recipe.facts()["loss"]
    )


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["model.cond=acgan"], "model.cond=none"),
        (["trainer.pack=2"], "trainer.pack=1"),
        (["trainer.batch_size=1"], "trainer.batch_size>=2"),
        (["recipe.categorical=[1]"], "recipe.categorical=[1] is out of range"),
        (["recipe.lambda_cont=-1"], "recipe.lambda_cont=-1"),
        (["model.z_dim=12"], "model.z_dim>=13"),
    ],
)
def test_what_infogan_cannot_take_is_one_line(mnist_root, overrides, words):
    with pytest.raises(UserError) as caught:
        built(mnist_root, *SMALL["mlp"], *overrides)
    assert words in assert_one_line(caught.value)


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_a_stopped_and_resumed_infogan_run_ends_where_an_unbroken_one_does(mnist_root):
    quiet = [*INFO, *SMALL["dcgan"], "trainer.log_every=2", "trainer.ckpt_every=3", "logger=[jsonl]"]
    unbroken, broken = mnist_root / "unbroken", mnist_root / "broken"
    run(config(*quiet, "trainer.steps=8"), unbroken)
    run(config(*quiet, "trainer.steps=4"), broken)
    middle = broken / "checkpoints" / "step_0000003.pt"  # one step into a log interval
    run(config(*quiet, "trainer.steps=8", f"resume={middle}"), broken)
    a, b = (checkpoint.load(d / "checkpoints" / "last.pt") for d in (unbroken, broken))
    assert a["step"] == b["step"] == 8
    for net, weights in (("generator", a["generator"]), *a["networks"].items()):
        other = b["generator"] if net == "generator" else b["networks"][net]
        for key, value in weights.items():
            assert torch.equal(value, other[key]), f"{net}.{key}"
    assert "q" in a["networks"]
    for index, state in a["optimizers"]["generator"]["state"].items():
        assert torch.equal(state["exp_avg"], b["optimizers"]["generator"]["state"][index]["exp_avg"])
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("time", "img_per_s")} for r in rs]  # noqa: E731
    assert strip(records(unbroken)) == strip(records(broken))
    assert "info_cat" in records(unbroken)[-1]
