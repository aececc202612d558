"""Each sink on its own and together: any statistic's name reaches the console line,
metrics.jsonl and TensorBoard; today's names keep their labels and tags (gan_cli/outputs/sinks/)."""

import json

import pytest

from gan_cli.outputs.reporter import Reporter
from gan_cli.outputs.sinks import base, jsonl
from gan_cli.registry import METRICS
from tests.outputs.sink_helpers import jsonl as read_jsonl
from tests.outputs.sink_helpers import scalar_tags, text_console


def reported(run_dir, *records, loggers=None):
    console, buffer = text_console()
    reporter = Reporter(run_dir, 10, console=console, loggers=loggers)
    reporter.start("gan train", {"run folder": str(run_dir)}, {"lr_g": 2e-4, "model": "mlp"})
    for record in records:
        reporter.log(record["step"], record)
    reporter.close()
    return buffer.getvalue()


def test_a_statistic_no_list_names_appears_in_all_three_sinks(tmp_path):
    record = {"step": 2, "epoch": 0.5, "d_loss": 0.69, "mmd": 0.0123, "recon": 1.5, "time": 1.0}
    shown = reported(tmp_path, record)
    assert "step 2/10  epoch 0.50  D loss 0.69  mmd 0.0123  recon 1.5" in shown
    assert read_jsonl(tmp_path) == [record]
    tags = scalar_tags(tmp_path)
    assert tags["train/mmd"] == [(2, pytest.approx(0.0123))] and tags["train/recon"] == [(2, 1.5)]
    assert "loss/d" in tags and "time" not in str(tags)  # today's tag; bookkeeping is not plotted


def test_todays_names_keep_their_labels_order_and_tags(tmp_path):
    record = {"step": 1, "epoch": 0.1, "g_loss": 0.7, "d_loss": 0.6, "d_real": 0.5, "d_fake": 0.4,
              "lr_g": 2e-4, "lr_d": 2e-4, "img_per_s": 900.0, "skipped": 0}  # fmt: skip
    shown = reported(tmp_path, record)
    assert "D loss 0.6  G loss 0.7  D(x) 0.5  D(G(z)) 0.4  img/s 900" in shown
    assert "lr G" not in shown and "skipped" not in shown
    assert set(scalar_tags(tmp_path)) == {"loss/d", "loss/g", "d_out/real", "d_out/fake", "lr/g", "lr/d",
                                          "speed/img_per_s"}  # fmt: skip


def test_evaluation_results_are_eval_tags_and_flat_in_metrics_jsonl(tmp_path):
    record = {"step": 4, "epoch": 1.0, "d_loss": 0.7, "eval": {"fid": 31.5, "recall": 0.4}}
    shown = reported(tmp_path, record)
    assert "fid 31.5  recall 0.4" in shown
    assert read_jsonl(tmp_path) == [{"step": 4, "epoch": 1.0, "d_loss": 0.7, "fid": 31.5, "recall": 0.4}]
    assert {"eval/fid", "eval/recall", "loss/d"} <= set(scalar_tags(tmp_path))


def test_a_flat_name_a_registered_metric_produces_is_an_evaluation_result(tmp_path):
    METRICS.add("test_sharpness", None, keys={"sharpness": "max"})
    try:
        reported(tmp_path, {"step": 1, "epoch": 0.1, "sharpness": 3.0, "kl": 0.2})
    finally:
        METRICS.unregister("test_sharpness")
    assert {"eval/sharpness", "train/kl"} <= set(scalar_tags(tmp_path))


def test_text_is_shown_and_written_but_not_plotted(tmp_path):
    shown = reported(tmp_path, {"step": 1, "epoch": 0.1, "phase": "warmup", "ok": True})
    assert "phase warmup" in shown
    assert read_jsonl(tmp_path)[0]["phase"] == "warmup"
    assert not scalar_tags(tmp_path)


def test_the_record_names_every_value_once_bookkeeping_aside():
    record = base.make_record(3, {"step": 3, "epoch": 1, "d_loss": 1.0, "kl": 2, "eval": {"fid": 4.0}}, set())
    assert [(v.name, v.tag) for v in record.values] == [("d_loss", "loss/d"), ("kl", "train/kl"),
                                                        ("fid", "eval/fid")]  # fmt: skip
    assert record.flat == {"step": 3, "epoch": 1, "d_loss": 1.0, "kl": 2, "fid": 4.0}


# ---- metrics.jsonl ---------------------------------------------------------------------------------
def test_a_resumed_run_drops_the_records_logged_after_its_checkpoint(tmp_path):
    path = tmp_path / jsonl.FILE_NAME
    lines = [json.dumps({"step": s, "d_loss": 1.0}) for s in (10, 20, 30)]
    path.write_text("\n".join(lines) + '\n{"step": 4')  # the last line cut short by a kill
    reporter = Reporter(tmp_path, 40, show_progress=False, resume_step=20, loggers=["jsonl"])
    reporter.log(30, {"step": 30, "d_loss": 0.5})
    reporter.close()
    assert [(r["step"], r["d_loss"]) for r in read_jsonl(tmp_path)] == [(10, 1.0), (20, 1.0), (30, 0.5)]


# ---- the console -----------------------------------------------------------------------------------
def test_the_console_prints_no_interval_lines_without_progress(tmp_path):
    console, buffer = text_console()
    reporter = Reporter(tmp_path, 10, show_progress=False, console=console, loggers=[])
    reporter.start("gan train", {"seed": 0}, {})
    reporter.log(1, {"step": 1, "d_loss": 1.0})
    reporter.note("a note with [brackets] kept")
    reporter.finish({"steps": 10}, {"checkpoint": "run/checkpoints/last.pt"})
    reporter.close()
    text = buffer.getvalue()
    assert "step 1/10" not in text and "a note with [brackets] kept" in text
    assert "gan train: done" in text and "checkpoint: run/checkpoints/last.pt" in text


def test_notes_and_interval_lines_go_to_train_log(tmp_path, caplog):
    console, _ = text_console()
    reporter = Reporter(tmp_path, 10, console=console, loggers=[])
    with caplog.at_level("INFO", logger="gan_cli.commands.train"):
        reporter.log(1, {"step": 1, "epoch": 0.1, "mmd": 0.5})
        reporter.note("stopped")
    reporter.close()
    assert "step 1/10 epoch 0.10  mmd 0.5" in caplog.text and "stopped" in caplog.text
