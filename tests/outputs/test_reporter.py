"""The Reporter fans out to the sinks the `logger` group picks; the console is always on; only
rank 0 writes or prints (gan_cli/outputs/reporter.py)."""

import pytest

from gan_cli import distributed
from gan_cli.errors import UserError
from gan_cli.outputs.reporter import Reporter, build_reporter, default_loggers
from gan_cli.outputs.sinks.base import Sink
from gan_cli.registry import LOGGERS
from tests.helpers import compose_train
from tests.outputs.sink_helpers import scalar_tags, text_console

RECORD = {"step": 1, "epoch": 0.1, "d_loss": 0.7, "g_loss": 0.8}


def run_through(reporter: Reporter) -> None:
    reporter.start("gan train", {"seed": 0}, {"seed": 0})
    reporter.log(1, RECORD)
    reporter.note("a note")
    reporter.finish({"steps": 1}, {"metrics": "metrics.jsonl"})
    reporter.close()


def test_the_default_is_the_console_jsonl_and_tensorboard(tmp_path):
    reporter = Reporter(tmp_path, 10, show_progress=False)
    assert reporter.sink_names == ["console", "jsonl", "tensorboard"]
    run_through(reporter)
    assert (tmp_path / "metrics.jsonl").is_file() and set(scalar_tags(tmp_path)) == {"loss/d", "loss/g"}
    assert set(default_loggers()) == {"jsonl", "tensorboard"}


@pytest.mark.parametrize(
    ("overrides", "files", "sinks"),
    [
        ([], {"metrics.jsonl", "tb"}, ["console", "jsonl", "tensorboard"]),
        (["logger=[jsonl]"], {"metrics.jsonl"}, ["console", "jsonl"]),
        (["logger=[tensorboard]"], {"tb"}, ["console", "tensorboard"]),
        (["logger=[]"], set(), ["console"]),
    ],
)
def test_the_logger_group_picks_the_file_sinks(tmp_path, overrides, files, sinks):
    cfg = compose_train(*overrides)
    console, buffer = text_console()
    reporter = build_reporter(cfg.get("logger"), tmp_path, 10, show_progress=True, console=console)
    assert reporter.sink_names == sinks
    run_through(reporter)
    assert {p.name for p in tmp_path.iterdir()} == files
    assert "step 1/10" in buffer.getvalue()  # the console talks whatever the group says


def test_a_sinks_settings_come_from_its_yaml_and_a_typo_is_one_line(tmp_path):
    cfg = compose_train("logger.tensorboard.flush_secs=5")
    reporter = build_reporter(cfg.logger, tmp_path, 10, show_progress=False)
    assert reporter.sinks[-1].writer.flush_secs == 5
    reporter.close()
    with pytest.raises(UserError, match=r"logger.tensorboard.flsh is not a setting .* valid: flush_secs"):
        build_reporter({"tensorboard": {"flsh": 1}}, tmp_path / "other", 10)
    assert not (tmp_path / "other").exists()  # refused before any file was opened


def test_an_unknown_logger_lists_the_valid_ones(tmp_path):
    valid = "console, csv, jsonl, mlflow, tensorboard, wandb"
    with pytest.raises(UserError, match=f"unknown logger 'neptune'; valid: {valid}"):
        build_reporter(["neptune"], tmp_path, 10)


def test_a_rank_other_than_0_writes_and_prints_nothing(tmp_path, capsys):
    rank_1 = distributed.from_environment({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    console, buffer = text_console()
    reporter = build_reporter(compose_train().logger, tmp_path, 10, context=rank_1, console=console)
    assert reporter.sinks == []
    run_through(reporter)
    assert list(tmp_path.iterdir()) == [] and buffer.getvalue() == ""
    assert capsys.readouterr() == ("", "")


def test_the_rank_comes_from_the_launchers_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert Reporter(tmp_path, 10).sinks == []
    monkeypatch.setenv("RANK", "0")
    reporter = Reporter(tmp_path, 10, loggers=[])
    assert reporter.sink_names == ["console"]
    reporter.close()


def test_a_tracker_is_one_registered_builder(tmp_path):
    """What a W&B or MLflow sink does: register a builder; a YAML file in configs/logger/ selects it."""
    seen = []

    class Tracker(Sink):
        def log(self, record):
            seen.append({value.tag: value.value for value in record.scalars()})

    LOGGERS.add("test_tracker", lambda run, project="p": Tracker(), summary="a test tracker")
    try:
        reporter = build_reporter({"test_tracker": {}}, tmp_path, 10, show_progress=False)
        run_through(reporter)
    finally:
        LOGGERS.unregister("test_tracker")
    assert seen == [{"loss/d": 0.7, "loss/g": 0.8}]


def test_every_sink_is_closed_when_one_fails_to_close(tmp_path):
    closed = []

    class Failing(Sink):
        def close(self):
            raise OSError("disk full")

    class Closing(Sink):
        def close(self):
            closed.append(True)

    reporter = Reporter(tmp_path, 10, loggers=[])
    reporter.sinks = [Failing(), Closing()]
    with pytest.raises(OSError, match="disk full"):
        reporter.close()
    assert closed == [True]


# ---- the real command ------------------------------------------------------------------------------
TINY = ["data=ring8", "trainer.steps=2", "model.g_hidden=[8]", "model.d_hidden=[8]",
        "trainer.progress=false", "trainer.log_every=1", "trainer.sample_every=2", "trainer.ckpt_every=2",
        "trainer.eval_every=0"]  # fmt: skip


@pytest.mark.slow
def test_gan_train_with_logger_jsonl_writes_no_tensorboard_folder(tmp_path):
    from tests.helpers import run_folders, run_gan

    result = run_gan("train", *TINY, "logger=[jsonl]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_folders(tmp_path)
    assert (run_dir / "metrics.jsonl").is_file() and not (run_dir / "tb").exists()
    # the final list of files names what was written, and no TensorBoard command
    named = [line.split(":", 1)[0] for line in result.stdout.splitlines() if ": " in line]
    assert {"samples", "checkpoint", "metrics"} <= set(named) and "tensorboard" not in named
