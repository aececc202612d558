"""init_from= and finetune.freeze_d / freeze_g, in-process with tiny DCGANs on an MNIST-format
set the test writes itself: weights carried over, frozen ones untouched, the one-line refusals."""

from __future__ import annotations

import pytest
import torch

from gan_cli.commands.resume import rewrite_arguments
from gan_cli.commands.train import build, run
from gan_cli.errors import UserError
from gan_cli.outputs import checkpoint
from gan_cli.training import finetune
from tests.data.fakes import write_idx_set
from tests.helpers import SilentReporter, compose_train

TINY = ["model=dcgan", "model.width=8", "model.z_dim=8", "data=mnist", "data.download=false"]
QUIET = [
    "logger=[]",
    "trainer.progress=false",
    "trainer.eval_every=0",
    "trainer.batch_size=8",
    "trainer.log_every=3",
    "trainer.sample_every=1000",
    "trainer.ckpt_every=3",
]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A 3-step conditional (projection) DCGAN with an EMA, trained on 10 classes."""
    root = tmp_path_factory.mktemp("finetune")
    write_idx_set(root / "data" / "MNIST" / "raw", train_count=40, test_count=10)
    mp = pytest.MonkeyPatch()
    mp.setenv("GAN_DATA_DIR", str(root / "data"))
    overrides = [*TINY, "model.cond=projection", "trainer.steps=3", "trainer.ema.decay=0.9", *QUIET]
    run(compose_train(*overrides), root / "source", overrides)
    yield root / "source" / "checkpoints" / "last.pt"
    mp.undo()


def _build(tmp_path, *extra, model_keys=()):
    """A fine-tuning run as `gan train init_from=... model=dcgan EXTRA` composes it."""
    overrides = [*TINY[:1], *model_keys, *TINY[3:], *QUIET, *extra]
    cfg = compose_train(*overrides)
    return build(cfg, tmp_path / "run", overrides, reporter=SilentReporter())


def test_weights_equal_the_source_before_the_first_step(source, tmp_path):
    training = _build(tmp_path, f"init_from={source}", "trainer.steps=2")
    saved = checkpoint.load(source)
    recipe = training.trainer.recipe
    for key, value in recipe.generator.state_dict().items():
        assert torch.equal(value.cpu(), saved["ema_generator"][key]), key  # the EMA G by default
    for key, value in recipe.networks["discriminator"].state_dict().items():
        assert torch.equal(value.cpu(), saved["networks"]["discriminator"][key]), key
    assert training.trainer.step == 0
    assert all(not o.state for o in recipe.optimizers.values())  # fresh optimizers
    assert "init_from" in training.facts and "EMA generator" in training.facts["init_from"]
    raw = _build(tmp_path, f"init_from={source}", "finetune.use_ema=false").trainer.recipe.generator
    assert all(torch.equal(v.cpu(), saved["generator"][k]) for k, v in raw.state_dict().items())


def test_frozen_blocks_stay_bit_identical_and_hold_no_gradient_or_optimizer_state(source, tmp_path):
    overrides = [f"init_from={source}", "finetune.freeze_d=1", "finetune.freeze_g=1", "trainer.steps=3"]
    training = _build(tmp_path, *overrides)
    recipe = training.trainer.recipe
    D, G = recipe.networks["discriminator"], recipe.generator
    frozen_d = [n for n, _ in finetune.blocks(D)[0]]
    assert frozen_d == ["net.0"]
    assert not any(name.startswith("net.0.") for name, _ in D.named_parameters())
    optimized = {id(p) for o in recipe.optimizers.values() for g in o.param_groups for p in g["params"]}
    D.requires_grad_(True)  # what the GAN step does after G's update: frozen tensors stay frozen
    training.trainer.fit()
    saved = checkpoint.load(source)
    last = checkpoint.load(tmp_path / "run" / "checkpoints" / "last.pt")
    d_before, d_after = saved["networks"]["discriminator"], last["networks"]["discriminator"]
    assert torch.equal(d_after["net.0.weight"], d_before["net.0.weight"])
    assert not torch.equal(d_after["net.2.weight"], d_before["net.2.weight"])  # trained
    g_first = [n for n, _ in finetune.blocks(G)[0]]
    for key in last["generator"]:
        statistic = "running" in key or "tracked" in key  # BatchNorm's buffers still update
        if any(key.startswith(f"{name}.") for name in g_first) and not statistic:
            assert torch.equal(last["generator"][key], saved["ema_generator"][key]), key
    frozen = dict(D.named_buffers())["net.0.weight"]
    assert frozen.grad is None and id(frozen) not in optimized
    for optimizer in recipe.optimizers.values():
        for param in optimizer.state:
            assert id(param) in optimized


def test_a_shape_changing_override_is_one_line_naming_the_key_and_both_values(source, tmp_path):
    with pytest.raises(UserError) as caught:
        _build(tmp_path, f"init_from={source}", model_keys=["model.z_dim=12"])
    message = str(caught.value)
    assert "\n" not in message and "model.z_dim=12" in message and "model.z_dim=8" in message
    with pytest.raises(UserError, match="trainer.pack=2"):
        _build(tmp_path, f"init_from={source}", "trainer.pack=2")


def test_a_different_class_count_reinitializes_only_the_class_dependent_tensors(source, tmp_path):
    training = _build(tmp_path, f"init_from={source}", "data.classes=[7,3]")
    saved = checkpoint.load(source)
    recipe = training.trainer.recipe
    assert training.trainer.batches.n_classes == 2
    changed = []
    for label, network, state in (
        ("G", recipe.generator, saved["ema_generator"]),
        ("D", recipe.networks["discriminator"], saved["networks"]["discriminator"]),
    ):
        for key, value in network.state_dict().items():
            if value.shape != state[key].shape:
                assert value.shape[0] == 2 and state[key].shape[0] == 10, key  # one row per class
                changed.append(f"{label} {key}")
            else:
                assert torch.equal(value.cpu(), state[key]), key
    assert changed and "re-initialized" in training.facts["init_from"]
    assert "D re-initialized for the new class count: project.weight" in training.facts["init_from"]


def test_refusals_before_any_work(source, tmp_path):
    with pytest.raises(UserError, match="resume= and init_from= cannot be combined"):
        rewrite_arguments([f"resume={source}", f"init_from={source}"])
    with pytest.raises(UserError, match="add init_from="):
        _build(tmp_path, "finetune.freeze_d=1")
    with pytest.raises(UserError, match="finetune.freeze_d=5 is out of range: D .* has 2 blocks"):
        _build(tmp_path, f"init_from={source}", "finetune.freeze_d=5")
    with pytest.raises(UserError, match="no such file or folder"):
        finetune.source_path(str(tmp_path / "nothing"))
    with pytest.raises(UserError, match="model=mlp differs from the checkpoint's dcgan"):
        finetune.merged_model_config({"name": "dcgan"}, {"name": "mlp"}, set())


def test_init_from_names_the_checkpoint_and_the_model_on_the_command_line(source):
    run_dir = source.parent.parent
    rewritten = rewrite_arguments([f"init_from={run_dir}", "data=mnist"])
    assert rewritten[0] == f"init_from={source.resolve()}" and "model=dcgan" in rewritten
    assert "model=mlp" not in rewrite_arguments([f"init_from={run_dir}", "model=dcgan"])


def test_keep_optimizer_carries_the_moments_of_the_parameters_still_trained(source, tmp_path):
    training = _build(tmp_path, f"init_from={source}", "finetune.keep_optimizer=true", "finetune.freeze_d=1")
    saved = checkpoint.load(source)["optimizers"]["discriminator"]["state"]
    optimizer = training.trainer.recipe.optimizers["discriminator"]
    params = optimizer.param_groups[0]["params"]
    assert len(optimizer.state) == len(params) == len(saved) - 2  # net.0's weight and bias are frozen
    assert torch.equal(optimizer.state[params[0]]["exp_avg"].cpu(), saved[2]["exp_avg"])


def test_blocks_of_each_family():
    from gan_cli import models

    expected = {"mlp": (5, 3), "dcgan": (3, 3), "resnet": (4, 5)}
    for family, (g_blocks, d_blocks) in expected.items():
        cfg = compose_train(f"model={family}")
        G, D = models.build(cfg.model, (1, 28, 28), 0)
        assert (len(finetune.blocks(G)), len(finetune.blocks(D))) == (g_blocks, d_blocks), family
