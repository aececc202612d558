"""logger=wandb and logger=mlflow (gan_cli/outputs/sinks/wandb.py, mlflow.py): what a short real run
logged, read back through each tracker's own files and client; the one-line errors before any work."""

import json
from pathlib import Path

import pytest

from gan_cli.errors import UserError
from gan_cli.outputs.reporter import build_reporter
from gan_cli.outputs.sinks import tracking
from tests.helpers import run_folders, run_gan

# A run that logs at steps 50 and 100 and draws its view at 0, 50 and 100, in a few seconds.
SHORT_RUN = (
    "train", "data=ring8", "trainer.steps=100", "trainer.log_every=50", "trainer.sample_every=50",
    "trainer.eval_every=0", "trainer.progress=false",
)  # fmt: skip
LOGGED_STEPS = [50, 100]
SAMPLE_STEPS = [0, 50, 100]
OFFLINE = {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}


def wandb_records(path: Path) -> list:
    """The records of a W&B transaction log (run-<id>.wandb), parsed with wandb's own protobuf
    messages. The file: a 7-byte header (":W&B", magic, version), then 32 KiB blocks of chunks,
    each a 7-byte header (checksum, little-endian length, type: 1 full, 2 first, 3 middle, 4 last)
    and its bytes; a block's tail shorter than a header is padding."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, pos, pending, records = 32768, 7, b"", []
    while pos + 7 <= len(data):
        left = block - pos % block
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        if left < 7 or kind == 0:
            pos += left
            continue
        pending += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def history(records) -> dict[int, dict[str, object]]:
    """step -> {key: value} of every history row (a nested image entry under its first key)."""
    rows: dict[int, dict[str, object]] = {}
    for record in records:
        if record.WhichOneof("record_type") != "history":
            continue
        items = record.history.item
        row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}
        rows[int(row["_step"])] = row
    return rows


@pytest.mark.slow
def test_wandb_offline_run_holds_config_statistics_grids_and_summary(tmp_path):
    done = run_gan(*SHORT_RUN, "logger=[jsonl,wandb]", "logger.wandb.tags=[smoke]", cwd=tmp_path, env=OFFLINE)
    assert done.returncode == 0, done.stderr
    (run_dir,) = run_folders(tmp_path)
    (log,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")  # under the run folder: syncable later
    records = wandb_records(log)

    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.display_name == run_dir.name and run.project == "gan_cli" and list(run.tags) == ["smoke"]
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert config["data.name"] == "ring8" and config["trainer.steps"] == 100  # the whole config, flattened
    assert config["hparams/model"] == "mlp"

    rows = history(records)
    assert sorted(step for step, row in rows.items() if "loss/d" in row) == LOGGED_STEPS
    assert sorted(step for step, row in rows.items() if "samples/path" in row) == SAMPLE_STEPS
    for step in SAMPLE_STEPS:
        assert (log.parent / "files" / rows[step]["samples/path"]).is_file()

    summaries = [r.summary for r in records if r.WhichOneof("record_type") == "summary"]
    final = {item.key: json.loads(item.value_json) for s in summaries for item in s.update if item.key}
    recorded = json.loads((run_dir / "summary.json").read_text())
    assert final["steps"] == recorded["steps"] == 100
    assert final["modes_captured"] == recorded["modes_captured"]
    assert "wandb:" in done.stdout  # the file list names where the W&B run is


@pytest.mark.slow
def test_mlflow_file_store_holds_params_metrics_and_artifacts(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 reads its file store only with it

    done = run_gan(*SHORT_RUN, "logger=[mlflow]", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 0, done.stderr
    (run_dir,) = run_folders(tmp_path)
    store = tmp_path / "mlruns"  # ./mlruns of where gan ran, by default
    assert store.is_dir()

    client = MlflowClient(tracking_uri=store.as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("gan_cli").experiment_id])
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    assert run.data.params["data.name"] == "ring8" and run.data.params["trainer.steps"] == "100"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss/d")] == LOGGED_STEPS
    grids = [a.path for a in client.list_artifacts(run.info.run_id, "samples")]
    assert grids == [f"samples/samples_step_{step:07d}.png" for step in SAMPLE_STEPS]
    assert "summary.json" in [a.path for a in client.list_artifacts(run.info.run_id)]


@pytest.mark.parametrize("logger", ["wandb", "mlflow"])
def test_a_tracker_that_is_not_installed_is_one_line_before_any_work(tmp_path, logger):
    fake = tmp_path / "site" / logger
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise ImportError('No module named {logger}')\n")
    hidden = {"PYTHONPATH": str(tmp_path / "site")}  # the package's import fails, as when it is missing
    done = run_gan(*SHORT_RUN, f"logger=[jsonl,{logger}]", cwd=tmp_path, env=hidden)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("gan: error:")]
    assert f"logger={logger} needs the {logger} package" in line and f".[{logger}]" in line
    for run_dir in run_folders(tmp_path):  # a run refused before its first step leaves none, or an empty one
        assert not (run_dir / "checkpoints").exists() and not (run_dir / "samples").exists()


def test_wandb_online_without_a_key_is_one_line_naming_the_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    with pytest.raises(UserError, match=r"wandb login.*WANDB_API_KEY.*WANDB_MODE=offline"):
        build_reporter({"wandb": {}}, tmp_path, 10, show_progress=False)


def test_wandb_mode_is_checked(tmp_path):
    with pytest.raises(UserError, match="logger.wandb.mode=local is not a W&B mode; valid: online, offline"):
        build_reporter({"wandb": {"mode": "local"}}, tmp_path, 10, show_progress=False)


def test_a_job_of_a_sweep_is_grouped_by_its_sweep_folder(tmp_path):
    sweep = tmp_path / "outputs" / "multirun" / "2026-12-02" / "10-00-00"
    job = sweep / "0-lr=0.001"
    job.mkdir(parents=True)
    assert tracking.sweep_name(job) is None  # not a sweep until Hydra marks it
    (sweep / tracking.SWEEP_MARKER).write_text("hydra: {}\n")
    assert tracking.sweep_name(job) == "2026-12-02/10-00-00"


def test_flatten_joins_keys_with_dots_and_keeps_lists():
    assert tracking.flatten({"model": {"name": "mlp", "widths": [1, 2]}, "seed": 0}) == {
        "model.name": "mlp",
        "model.widths": [1, 2],
        "seed": 0,
    }
