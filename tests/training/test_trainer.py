"""The loop itself, with small networks, in-process (no Hydra, no subprocess)."""

import json

import pytest
import torch

from gan_cli.commands.train import build, run
from gan_cli.errors import UserError
from gan_cli.outputs import checkpoint
from gan_cli.training.trainer import TrainingDiverged, total_steps
from tests.helpers import compose_train

QUIET = [
    "trainer.progress=false",
    "trainer.log_every=50",
    "trainer.sample_every=1000",
    "trainer.ckpt_every=1000",
]


def test_a_short_ring8_run_covers_more_modes_than_the_untrained_generator(tmp_path):
    cfg = compose_train("data=ring8", "trainer.steps=600", "trainer.batch_size=128", *QUIET)
    run(cfg, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    # the untrained generator: measured the same way from a zero-step checkpoint of the same seed
    untrained = tmp_path / "untrained"
    run(compose_train("data=ring8", "trainer.steps=1", "trainer.batch_size=128", *QUIET), untrained)
    before = json.loads((untrained / "metrics.jsonl").read_text().splitlines()[0])
    after = records[-1]
    assert after["modes_captured"] > before["modes_captured"]
    assert after["high_quality_pct"] > before["high_quality_pct"]


def test_epochs_replace_steps():
    cfg = compose_train("trainer.epochs=2", "trainer.batch_size=10", "trainer.d_steps=2").trainer
    assert total_steps(cfg, 100) == 10  # 2 x 100 images / (10 per batch x 2 D steps)
    assert total_steps(compose_train("trainer.steps=7").trainer, 100) == 7


def test_d_steps_update_d_more_often_than_g(tmp_path):
    cfg = compose_train("data=ring8", "recipe=gan", "trainer.steps=3", "trainer.d_steps=4", *QUIET)
    run(cfg, tmp_path)
    payload = checkpoint.load(tmp_path / "checkpoints" / "last.pt")
    g_state, d_state = (payload["optimizers"][name]["state"] for name in ("generator", "discriminator"))
    assert int(g_state[0]["step"]) == 3 and int(d_state[0]["step"]) == 12
    assert payload["recipe"] == "gan" and payload["recipe_state"] == {"d_updates": 12}


def test_ema_generator_is_saved_and_used(tmp_path):
    run(compose_train("data=ring8", "trainer.steps=20", "trainer.ema.decay=0.9", *QUIET), tmp_path)
    payload = checkpoint.load(tmp_path / "checkpoints" / "last.pt")
    assert payload["ema_updates"] == 20
    assert payload["ema_generator"].keys() == payload["generator"].keys()
    assert any(
        not torch.equal(payload["ema_generator"][k], payload["generator"][k]) for k in payload["generator"]
    )
    no_ema = tmp_path / "no_ema"
    run(compose_train("data=ring8", "trainer.steps=5", *QUIET), no_ema)
    assert "ema_generator" not in checkpoint.load(no_ema / "checkpoints" / "last.pt")


def test_linear_schedule_ends_at_zero(tmp_path):
    cfg = compose_train(
        "data=ring8",
        "trainer.steps=10",
        "optim.schedule=constant",
        "optim.g_schedule=linear",
        "optim.lr=2e-4",
        *QUIET,
    )
    run(cfg, tmp_path)
    payload = checkpoint.load(tmp_path / "checkpoints" / "last.pt")
    assert payload["optimizers"]["generator"]["param_groups"][0]["lr"] == 0.0
    assert payload["optimizers"]["discriminator"]["param_groups"][0]["lr"] == 2e-4


@pytest.mark.parametrize(
    "overrides",
    [
        ["loss=wgan", "loss.clip=0", "loss.gp_lambda=10", "trainer.d_steps=2"],
        ["loss=hinge", "model.d_spectral_norm=true"],
        ["loss=ns", "loss.r1_gamma=10", "loss.r1_every=2"],
        ["loss=wgan", "loss.clip=0.01"],
        ["loss=lsgan"],
        ["loss=relativistic"],
        ["loss=minimax"],
    ],
)
def test_every_loss_and_regularizer_trains(tmp_path, overrides):
    run(compose_train("data=ring8", "trainer.steps=6", *QUIET, *overrides), tmp_path)
    payload = checkpoint.load(tmp_path / "checkpoints" / "last.pt")
    assert payload["step"] == 6
    assert all(
        torch.isfinite(v).all()
        for v in payload["networks"]["discriminator"].values()
        if v.is_floating_point()
    )
    if "loss.clip=0.01" in overrides:
        weights = [v for k, v in payload["networks"]["discriminator"].items() if k.endswith("weight")]
        assert max(float(w.abs().max()) for w in weights) <= 0.01 + 1e-7


def test_a_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = compose_train(
        "data=ring8",
        "trainer.steps=40",
        "trainer.log_every=10",
        "trainer.ckpt_every=10",
        "trainer.sample_every=1000",
        "trainer.progress=false",
        "optim=sgd",
        "optim.lr=1e6",
    )
    with pytest.raises(TrainingDiverged) as caught:
        run(cfg, tmp_path)
    assert isinstance(caught.value, UserError) and "step" in str(caught.value)
    last = tmp_path / "checkpoints" / "last.pt"
    if last.exists():  # anything saved is from before the divergence
        payload = checkpoint.load(last)
        assert all(torch.isfinite(v).all() for v in payload["generator"].values() if v.is_floating_point())


def test_on_nan_skip_drops_non_finite_updates_and_counts_them(tmp_path, monkeypatch):
    from gan_cli.training import losses

    real_d_loss = losses.ns_d_loss
    calls = {"n": 0}

    def sometimes_nan(real_logits, fake_logits):
        calls["n"] += 1
        value = real_d_loss(real_logits, fake_logits)
        return value * float("nan") if calls["n"] % 3 == 0 else value

    monkeypatch.setattr(losses, "ns_d_loss", sometimes_nan)
    cfg = compose_train("data=ring8", "trainer.steps=9", "trainer.on_nan=skip", *QUIET, "trainer.log_every=9")
    run(cfg, tmp_path)
    record = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["skipped"] == 3 and record["d_loss"] == record["d_loss"]  # finite mean of the rest
    payload = checkpoint.load(tmp_path / "checkpoints" / "last.pt")
    assert all(
        torch.isfinite(v).all()
        for v in payload["networks"]["discriminator"].values()
        if v.is_floating_point()
    )


def test_non_finite_weights_never_reach_last_pt(tmp_path):
    cfg = compose_train("data=ring8", "trainer.steps=4", *QUIET, "trainer.ckpt_every=2")

    trainer = build(cfg, tmp_path).trainer
    trainer.train_step()
    trainer.train_step()
    trainer.save_checkpoint(periodic=True)
    with torch.no_grad():
        next(trainer.networks["discriminator"].parameters()).fill_(float("inf"))
    with pytest.raises(
        TrainingDiverged,
        match=r"the D tensor .* holds NaN or inf at step 2; last.pt was not written, "
        r"checkpoints/last.pt \(step 2\) is intact",
    ):
        trainer.save_checkpoint(periodic=True)
    assert checkpoint.load(tmp_path / "checkpoints" / "last.pt")["step"] == 2


def test_metrics_during_training_keep_best_pt_and_fill_the_summary(tmp_path):
    evaluate = ["trainer.eval_every=20", "trainer.eval_n=200"]
    cfg = compose_train("data=ring8", "trainer.steps=40", *QUIET, "trainer.log_every=10", *evaluate)
    summary = run(cfg, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    assert summary["primary_metric"] == "modes_captured" and summary["primary_direction"] == "max"
    assert summary["extractor"] == "points"
    best = checkpoint.load(tmp_path / "checkpoints" / "best.pt")
    evaluated = [r["modes_captured"] for r in records if r["step"] in (20, 40)]
    assert best["best"]["value"] == summary["best_modes_captured"] == max(evaluated)
    assert summary["best_step"] == best["step"] == best["best"]["step"]
    ranked = best["best"]["ranked"]  # what a tie of modes was broken by
    assert set(ranked) == {"modes_captured", "high_quality_pct", "kl_uniform"}


def test_eval_off_writes_no_best_pt(tmp_path):
    summary = run(compose_train("data=ring8", "trainer.steps=5", *QUIET, "trainer.eval_every=0"), tmp_path)
    assert "primary_metric" not in summary and not (tmp_path / "checkpoints" / "best.pt").exists()


@pytest.mark.parametrize(
    "overrides",
    [
        ["trainer.pack=2"],
        ["trainer.pack=4", "loss.r1_gamma=10", "loss.r1_every=2"],
        ["trainer.pack=2", "loss=wgan", "loss.clip=0", "loss.gp_lambda=10"],
        ["trainer.pack=2", "loss=relativistic", "model.minibatch_std=true"],
        ["model.minibatch_std=true"],
    ],
)
def test_pack_and_minibatch_std_train_and_d_sees_batch_over_pack(tmp_path, overrides, monkeypatch):
    from gan_cli.models.common import Discriminator  # what every family's D is (mlp's layers inside)

    seen = []
    forward = Discriminator.forward
    monkeypatch.setattr(
        Discriminator, "forward", lambda self, x: seen.append(tuple(x.shape)) or forward(self, x)
    )
    cfg = compose_train(
        "data=ring8",
        "recipe=gan",
        "trainer.steps=3",
        "trainer.batch_size=16",
        *QUIET,
        "trainer.eval_every=0",
        *overrides,
    )
    run(cfg, tmp_path)
    pack = cfg.trainer.pack
    payload = checkpoint.load(tmp_path / "checkpoints" / "last.pt")
    assert payload["step"] == 3
    assert payload["networks"]["discriminator"]["net.1.weight"].shape[1] == 2 * pack
    fused = "model.minibatch_std=true" not in overrides
    d_rows = [16 // pack * (2 if fused else 1), 16 // pack]  # the D step (real and fake together), G's
    assert {rows for rows, _ in seen} <= set(d_rows) | {16 // pack * 2}
    assert all(features == 2 * pack for _, features in seen)
    if not fused:
        assert max(rows for rows, _ in seen) == 16 // pack  # real and fake never share D's batch


@pytest.mark.slow
def test_the_default_ring8_run_covers_the_ring(tmp_path):
    """A regression guard for the data defaults (configs/data/ring8.yaml's recipe and
    configs/data_defaults/ring8_*.yaml), below what they measured on seed 0 (8 modes, 100% high
    quality, KL 0.010; README "Data-aware defaults"): 8 modes with >= 90% high quality."""
    summary = run(compose_train("data=ring8", "seed=0", *QUIET), tmp_path)
    assert summary["modes_captured"] == 8 and summary["high_quality_pct"] >= 90
    assert summary["kl_uniform"] <= 0.1
