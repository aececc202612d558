"""Stop and resume: a resumed run ends exactly where an unbroken one does."""

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from gan_cli.commands.resume import check_compatible, find_latest, kept_values, resolve, rewrite_arguments
from gan_cli.commands.train import run
from gan_cli.errors import UserError
from gan_cli.outputs import checkpoint
from tests.helpers import compose_train, run_folders, run_gan

TINY = [
    "data=ring8",
    # ring8's data defaults decay the rate linearly over trainer.steps; the "stopped" run here is a
    # shorter run (steps=20), whose schedule would differ from the unbroken 40-step one
    "optim.schedule=constant",
    "trainer.log_every=5",
    "trainer.ckpt_every=10",
    "trainer.sample_every=10",
    "trainer.progress=false",
    "model.g_hidden=[32,32]",
    "model.d_hidden=[32]",
    "trainer.batch_size=32",
    # a stopped run evaluates at its last step and an unbroken one does not, so the logs are compared
    # without metrics; test_evaluation_does_not_change_the_trajectory covers training with them
    "trainer.eval_every=0",
]


def final_state(run_dir):
    payload = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    return payload


def assert_same_networks(a: dict, b: dict) -> None:
    for net, weights in (("generator", a["generator"]), *a["networks"].items()):
        other = b["generator"] if net == "generator" else b["networks"][net]
        for key, value in weights.items():
            assert torch.equal(value, other[key]), f"{net}.{key} differs"


def test_stop_and_resume_is_exact(tmp_path):
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    run(compose_train(*TINY, "trainer.steps=40"), unbroken)
    run(compose_train(*TINY, "trainer.steps=20"), broken)
    resumed = compose_train(*TINY, "trainer.steps=40", f"resume={broken / 'checkpoints' / 'last.pt'}")
    run(resumed, broken)

    a, b = final_state(unbroken), final_state(broken)
    assert a["step"] == b["step"] == 40
    assert_same_networks(a, b)
    for name in ("generator", "discriminator"):
        for index, state in a["optimizers"][name]["state"].items():
            assert torch.equal(state["exp_avg_sq"], b["optimizers"][name]["state"][index]["exp_avg_sq"])
    assert a["recipe_state"] == b["recipe_state"]
    logged = [json.loads(line) for line in (unbroken / "metrics.jsonl").read_text().splitlines()]
    relogged = [json.loads(line) for line in (broken / "metrics.jsonl").read_text().splitlines()]
    strip = lambda records: [{k: v for k, v in r.items() if k not in ("time", "img_per_s")} for r in records]  # noqa: E731
    assert strip(logged) == strip(relogged)  # no gap, no duplicate, the same numbers
    assert [r["step"] for r in b["history"]] == list(range(5, 41, 5))


def test_resume_mid_interval_drops_records_logged_after_the_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    run(compose_train(*TINY, "trainer.steps=30"), run_dir)
    # pretend the run was killed at step 30 after its checkpoint at step 20: resume from step_20
    ckpt = run_dir / "checkpoints" / "step_0000020.pt"
    run(compose_train(*TINY, "trainer.steps=30", f"resume={ckpt}"), run_dir)
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 15, 20, 25, 30]


FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.mark.parametrize("version", [1, 2])
def test_an_old_checkpoint_resumes_and_is_saved_as_format_3(tmp_path, version):
    run_dir = tmp_path / "old-run"
    (run_dir / "checkpoints").mkdir(parents=True)
    last = run_dir / "checkpoints" / "last.pt"
    shutil.copy(FIXTURES / f"ckpt_v{version}_ring8.pt", last)
    old = checkpoint.load(last)
    overrides = rewrite_arguments([f"resume={run_dir}", "trainer.steps=24"], tmp_path)
    run(compose_train(*overrides), run_dir, overrides)  # as gan train passes its command line
    payload = checkpoint.load(last)
    assert payload["format_version"] == checkpoint.FORMAT_VERSION and payload["step"] == 24
    assert payload["recipe_state"]["d_updates"] == old["recipe_state"]["d_updates"] + 24 - old["step"]
    steps = [r["step"] for r in payload["history"]]
    assert steps[: len(old["history"])] == [r["step"] for r in old["history"]] and steps[-1] == 24


def test_the_format_2_fixture_resumes_to_where_its_unbroken_run_ended(tmp_path):
    """The fixture is step 10 (mid-interval) of a 20-step run written before recipes; the last
    record of that unbroken run, logged by gan_cli of then:"""
    logged_then = {"step": 20, "d_loss": 1.4101728200912476, "g_loss": 0.6642913222312927}
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    shutil.copy(FIXTURES / "ckpt_v2_ring8.pt", run_dir / "checkpoints" / "last.pt")
    overrides = rewrite_arguments([f"resume={run_dir}"], tmp_path)
    run(compose_train(*overrides), run_dir, overrides)
    last = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()][-1]
    assert last["step"] == 20
    for key in ("d_loss", "g_loss"):  # the same float32 sums on any CPU: within rounding of the last digits
        assert last[key] == pytest.approx(logged_then[key], rel=1e-5)


def test_another_recipe_on_resume_is_refused():
    saved = OmegaConf.to_container(compose_train("data=ring8", "recipe=gan"), resolve=True)
    with pytest.raises(UserError, match="recipe=moments differs from the checkpoint's gan"):
        check_compatible(saved, {**saved, "recipe": {"name": "moments"}})
    check_compatible({k: v for k, v in saved.items() if k != "recipe"}, saved)  # from before recipes: the GAN


def test_changing_the_model_on_resume_is_refused():
    saved = compose_train("data=ring8")
    from omegaconf import OmegaConf

    saved = OmegaConf.to_container(saved, resolve=True)
    current = {**saved, "model": {**saved["model"], "z_dim": 7}}
    # data=ring8 brings its own z_dim (configs/data_defaults/ring8_mlp.yaml)
    with pytest.raises(
        UserError, match=rf"model.z_dim=7 differs from the checkpoint's {saved['model']['z_dim']}\b"
    ):
        check_compatible(saved, current)
    more_steps = {**saved, "trainer": {**saved["trainer"], "steps": 99}}
    check_compatible(saved, more_steps)  # safe: applied
    with pytest.raises(UserError, match="optimizer state"):
        check_compatible(saved, {**saved, "optim": {**saved["optim"], "name": "sgd"}})


def make_run(outputs, name):
    run_dir = outputs / "2026-11-28" / name
    (run_dir / "checkpoints").mkdir(parents=True)
    checkpoint.save({"overrides": ["data=ring8", "trainer.steps=10"]}, run_dir / "checkpoints" / "last.pt")
    return run_dir


def test_resolve_targets(tmp_path):
    outputs = tmp_path / "outputs"
    old = make_run(outputs, "10-00-00-mlp-ring8")
    new = make_run(outputs, "11-00-00-dcgan-mnist")
    assert find_latest(outputs, None, None) == new
    assert find_latest(outputs, "mlp", "ring8") == old
    assert resolve("latest", ["model=mlp"], outputs)[0] == old
    assert resolve(str(old), [], outputs) == (old, old / "checkpoints" / "last.pt")
    assert resolve(str(old / "checkpoints" / "last.pt"), [], outputs)[0] == old
    with pytest.raises(UserError, match="no run folder"):
        find_latest(outputs, "dcgan", "cifar10")
    with pytest.raises(UserError, match="no such file or folder"):
        resolve(str(tmp_path / "nope"), [], outputs)
    with pytest.raises(UserError, match="holds no checkpoints/last.pt"):
        resolve(str(tmp_path), [], outputs)


def test_rewrite_arguments_inherits_the_run_overrides(tmp_path):
    outputs = tmp_path / "outputs"
    run_dir = make_run(outputs, "10-00-00-mlp-ring8")
    args = rewrite_arguments(["resume=latest", "trainer.steps=50"], outputs)
    ckpt = (run_dir / "checkpoints" / "last.pt").resolve()
    # a checkpoint with no recipe in its config trained the GAN: pinned, whatever data=ring8 picks now
    inherited = ["data=ring8", "recipe=gan"]
    assert args == [*inherited, f"resume={ckpt}", f"hydra.run.dir={run_dir.resolve()}", "trainer.steps=50"]
    assert rewrite_arguments(["trainer.steps=5"], outputs) == ["trainer.steps=5"]


def test_resume_pins_the_recipe_and_its_keys_unless_the_run_or_the_command_line_chose_one():
    from gan_cli.commands.resume import pinned_recipe

    config = {"recipe": {"name": "infogan", "categorical": [50], "continuous": 0, "learn_std": False}}
    pinned = ["recipe=infogan", "recipe.categorical=[50]", "recipe.continuous=0", "recipe.learn_std=false"]
    assert pinned_recipe(config, ["data=ring8"]) == pinned
    assert pinned_recipe({}, []) == ["recipe=gan"]  # from before recipes: the GAN
    assert pinned_recipe(config, ["recipe=vae"]) == pinned_recipe(config, ["recipe.lambda_cat=2"]) == []
    cfg = compose_train("data=ring8", *pinned)
    assert OmegaConf.to_container(cfg.recipe) == OmegaConf.to_container(compose_train("data=ring8").recipe)


def test_a_run_of_older_defaults_resumes_with_its_own_model_trainer_and_optim(tmp_path):
    """A ring8 run started when its defaults were the plain GAN with z_dim 2 and pack 2 (and, like
    fashion_mnist's before it trained with EMA and a linear decay, other trainer and optim keys)
    goes on as that run: resume pins the recipe (command line) and the model, trainer and optim
    keys the command line does not give anew (in the trainer); those it gives win."""
    run_dir = tmp_path / "old-defaults"
    then = ["recipe=gan", "model.z_dim=2", "trainer.pack=2", "trainer.batch_size=16",
            "trainer.ema.decay=0.9", "optim.schedule=constant", "optim.lr=1e-3"]  # fmt: skip
    recorded = ["data=ring8", "model.g_hidden=[8]", "model.d_hidden=[8]", "trainer.progress=false",
                "trainer.eval_every=0"]  # fmt: skip
    run(compose_train(*recorded, *then, "trainer.steps=4"), run_dir)
    last = run_dir / "checkpoints" / "last.pt"
    payload = checkpoint.load(last)
    payload["overrides"] = recorded
    checkpoint.save(payload, last)  # as recorded then: `then` were the defaults
    overrides = rewrite_arguments([f"resume={run_dir}", "trainer.steps=6", "optim.lr=5e-4"], tmp_path)
    run(compose_train(*overrides), run_dir, overrides)
    resumed = checkpoint.load(last)
    config = resumed["config"]
    assert resumed["step"] == 6 and config["model"]["z_dim"] == 2 and config["recipe"]["name"] == "gan"
    assert config["trainer"]["pack"] == 2 and config["trainer"]["batch_size"] == 16
    assert config["trainer"]["ema"]["decay"] == 0.9 and config["optim"]["schedule"] == "constant"
    assert config["trainer"]["steps"] == 6 and config["optim"]["lr"] == 5e-4  # given anew


def test_kept_values_are_the_checkpoints_leaves_no_new_override_names():
    saved = {"model": {"name": "mlp", "z_dim": 2, "g_hidden": [8]}, "data": {"name": "ring8"},
             "trainer": {"steps": 20, "ema": {"decay": 0.0, "warmup": True}, "old_key": 1},
             "optim": {"name": "adam", "lr": 1e-3, "schedule": "constant"}}  # fmt: skip
    current = {"model": {"name": "mlp", "z_dim": 52, "g_hidden": [8]}, "data": {"name": "grid25"},
               "trainer": {"steps": 40, "ema": {"decay": 0.999, "warmup": True}, "new_key": 2},
               "optim": {"name": "adam", "lr": 2e-3, "schedule": "linear"}}  # fmt: skip
    assert kept_values(saved, current, []) == {
        "model.z_dim": 2, "trainer.steps": 20, "trainer.ema.decay": 0.0,
        "optim.lr": 1e-3, "optim.schedule": "constant",
    }  # fmt: skip
    # a key, or a node above it, given anew is the command line's; data is never rewritten
    given = ["trainer.steps=40", "+trainer.ema={decay:0.999}", "optim=adam", "data=grid25"]
    assert kept_values(saved, current, given) == {"model.z_dim": 2}
    # another family is left whole for check_compatible to refuse
    other = {**current, "model": {"name": "dcgan", "z_dim": 52}, "optim": {"name": "sgd", "lr": 0.1}}
    assert set(kept_values(saved, other, [])) == {"trainer.steps", "trainer.ema.decay"}


@pytest.mark.slow
def test_resume_on_the_command_line_continues_the_same_folder(tmp_path):
    first = run_gan("train", *TINY, "trainer.steps=20", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_gan("train", "resume=latest", "trainer.steps=30", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    (run_dir,) = run_folders(tmp_path)
    assert final_state(run_dir)["step"] == 30
    assert len(list((run_dir / "tb").glob("events.*"))) == 2
    refused = run_gan("train", "resume=latest", "model.z_dim=3", cwd=tmp_path)
    assert refused.returncode == 2 and "differs from the checkpoint" in refused.stderr
    assert refused.stderr.count("\n") == 1


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_killed_run_leaves_a_loadable_last_checkpoint(tmp_path, sig):
    env_cmd = [
        sys.executable,
        "-m",
        "gan_cli",
        "train",
        *TINY,
        "trainer.steps=1000000",
        "trainer.ckpt_every=1",
        "trainer.keep_checkpoints=2",
    ]
    process = subprocess.Popen(
        env_cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 120
    while not list(tmp_path.glob("outputs/*/*/checkpoints/last.pt")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(random.uniform(0.3, 1.5))  # a random moment, checkpoints being written every step
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    (run_dir,) = run_folders(tmp_path)
    payload = checkpoint.load(run_dir / "checkpoints" / "last.pt")
    assert payload["step"] > 0
    assert len(list((run_dir / "checkpoints").glob("step_*.pt"))) <= 2 + 1  # pruning keeps up
    if sig != signal.SIGKILL:
        assert process.returncode == 128 + sig
        assert f"resume with: gan train resume={run_dir}" in out.lower().replace("\n", "")
        assert "Traceback" not in err


def test_evaluation_does_not_change_the_trajectory(tmp_path):
    plain, evaluated = tmp_path / "plain", tmp_path / "evaluated"
    run(compose_train(*TINY, "trainer.steps=20"), plain)
    run(compose_train(*TINY, "trainer.steps=20", "trainer.eval_every=5", "trainer.eval_n=100"), evaluated)
    assert_same_networks(final_state(plain), final_state(evaluated))
