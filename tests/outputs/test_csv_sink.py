"""logger=csv: metrics.csv, one row per log interval, a header of every key seen so far
(gan_cli/outputs/sinks/csv.py)."""

import csv

from gan_cli.outputs.reporter import build_reporter
from gan_cli.outputs.sinks.csv import FILE_NAME
from gan_cli.registry import LOGGERS
from tests.helpers import compose_train
from tests.outputs.sink_helpers import jsonl


def rows(run_dir):
    with open(run_dir / FILE_NAME, newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def log_steps(run_dir, steps, resume_step=None, loggers=("csv",)):
    reporter = build_reporter(list(loggers), run_dir, 10, show_progress=False, resume_step=resume_step)
    for step in steps:
        record = {"step": step, "epoch": step / 10, "d_loss": 0.5 + step / 100, "g_loss": 1.0 / 3}
        if step % 2 == 0:  # evaluation results only at eval steps, as the trainer passes them
            record["eval"] = {"fid": 100.0 - step}
        if step >= 3:
            record["late_stat"] = step * 1.5  # a statistic that appears later in the run
        reporter.log(step, record)
    reporter.close()


def test_rows_and_a_header_that_grows_with_the_keys(tmp_path):
    log_steps(tmp_path, [1, 2, 3, 4])
    header, body = rows(tmp_path)
    assert header == ["step", "epoch", "d_loss", "g_loss", "fid", "late_stat"]  # order of first appearance
    assert [row["step"] for row in body] == ["1", "2", "3", "4"]
    assert [row["fid"] for row in body] == ["", "98.0", "", "96.0"]  # empty where the record had none
    assert [row["late_stat"] for row in body] == ["", "", "4.5", "6.0"]
    assert float(body[0]["g_loss"]) == 1.0 / 3  # full precision
    text = (tmp_path / FILE_NAME).read_text()
    assert text.count("step,") == 1  # one header, the file rewritten when a key appeared
    assert not list(tmp_path.glob(".*partial*"))  # the rewrites are atomic and leave nothing behind


def test_the_csv_holds_what_metrics_jsonl_holds(tmp_path):
    log_steps(tmp_path, [1, 2, 3], loggers=("jsonl", "csv"))
    _, body = rows(tmp_path)
    for record, row in zip(jsonl(tmp_path), body, strict=True):
        assert {key: str(value) for key, value in record.items()} == {k: v for k, v in row.items() if v != ""}


def test_a_resumed_run_drops_the_rows_after_its_checkpoint_and_appends(tmp_path):
    log_steps(tmp_path, [1, 2, 3, 4])
    with open(tmp_path / FILE_NAME, "a") as file:
        file.write("5,0.5,0.55")  # a row a kill cut short
    log_steps(tmp_path, [3, 4, 5, 6], resume_step=2)
    header, body = rows(tmp_path)
    assert [row["step"] for row in body] == ["1", "2", "3", "4", "5", "6"]
    assert header == ["step", "epoch", "d_loss", "g_loss", "fid", "late_stat"]  # the columns it had
    assert body[-1]["fid"] == "94.0" and body[-1]["late_stat"] == "9.0"


def test_the_logger_group_takes_csv_in_a_list_and_the_default_leaves_it_out(tmp_path):
    cfg = compose_train("logger=[jsonl,tensorboard,csv]")
    reporter = build_reporter(cfg.logger, tmp_path, 10, show_progress=False)
    assert reporter.sink_names == ["console", "jsonl", "tensorboard", "csv"]
    reporter.log(1, {"step": 1, "d_loss": 0.7})
    reporter.close()
    assert {p.name for p in tmp_path.iterdir()} == {"metrics.jsonl", "tb", FILE_NAME}
    assert "csv" not in compose_train().logger
    assert LOGGERS.get("csv").outputs(tmp_path) == {"csv": str(tmp_path / FILE_NAME)}  # gan train's list


def test_no_row_no_file(tmp_path):
    """A run refused before its first log interval leaves no empty metrics.csv behind."""
    build_reporter(["csv"], tmp_path, 10, show_progress=False).close()
    assert not (tmp_path / FILE_NAME).exists()
