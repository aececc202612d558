"""`gan report FOLDER`: one self-contained report.html of a run or a sweep (gan_cli/report/), on
folders written by hand from the documented layouts (README "The run folder", "Sweeps"); one slow
test runs the real `gan train -m` and `gan report`; where Chromium is installed, a headless
screenshot of a report must not be blank."""

import json
import sys
from html.parser import HTMLParser

import pytest
import yaml
from PIL import Image

from gan_cli.commands import report as command
from tests.helpers import run_gan

pytest.importorskip("matplotlib")

CONFIG = {"model": {"name": "mlp", "z_dim": 2}, "data": {"name": "ring8"}, "optim": {"lr": 0.001}}


class Page(HTMLParser):
    """What the tests read from the page: tags, text, <img> sources, table rows and links out."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.text, self.images, self.rows, self.external = [], [], [], [], []
        self._row = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if tag == "tr":
            self._row = {"class": attrs.get("class"), "cells": []}
            self.rows.append(self._row)
        for name in ("src", "href"):
            if attrs.get(name) and not attrs[name].startswith(("data:", "#")):
                self.external.append(attrs[name])

    def handle_data(self, data):
        self.text.append(data)
        if self._row is not None and self.tags[-1] in ("td", "th"):
            self._row["cells"].append(data)

    def all_text(self):
        return "".join(self.text)


def png(path, color=(200, 30, 30), size=20):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path)


def make_run(folder, steps=(0, 2, 4), overrides=("data=ring8",), summary=None, hydra_mode="RUN", num=0):
    """A run folder as gan train leaves it: .hydra/, metrics.jsonl (fid only at eval steps),
    samples/step_NNNNNNN.png, summary.json."""
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    (folder / ".hydra" / "hydra.yaml").write_text(
        yaml.safe_dump({"hydra": {"mode": hydra_mode, "job": {"num": num}}})
    )
    lines = []
    for step in steps[1:]:
        record = {"step": step, "epoch": step / 100, "d_loss": 1.3, "g_loss": 0.7, "d_real": 0.5,
                  "d_fake": 0.4, "mmd": 0.01 * step, "time": 1.0, "skipped": 0}  # fmt: skip
        if step % 4 == 0:
            record["fid"] = 90.0 - step
        lines.append(json.dumps(record))
    (folder / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))
    for step in steps:
        png(folder / "samples" / f"step_{step:07d}.png", color=(step * 10 % 255, 60, 90))
    summary = summary or {
        "steps": steps[-1],
        "d_loss": 1.3,
        "primary_metric": "fid",
        "primary_direction": "min",
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "last.pt").write_bytes(b"")
    return folder


def report_of(folder, capsys, *args):
    command.main([str(folder), *args])
    written = capsys.readouterr().out.strip()
    assert written.startswith("written: ")
    path = written.removeprefix("written: ")
    return path, Page(open(path, encoding="utf-8").read())


def test_a_run_report_has_every_curve_every_grid_the_summary_and_the_config(tmp_path, capsys):
    run = make_run(tmp_path / "10-00-00-mlp-ring8")
    path, page = report_of(run, capsys)
    assert path == str(run / "report.html")
    text, html = page.all_text(), open(path, encoding="utf-8").read()
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "mmd", "fid"):  # every number metrics.jsonl holds
        assert f"<h3>{name}" in html and name in text
    assert (
        page.tags.count("svg") == 6
    )  # one plot each, inline; bookkeeping (epoch, time, skipped) is not plotted
    assert len(page.images) == 3  # one grid per sample step
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    assert [img["alt"] for img in page.images] == [f"samples at step {s}" for s in (0, 2, 4)]
    assert "primary_metric" in text and "gan train data=ring8" in text  # summary.json, the command
    assert "z_dim: 2" in text  # .hydra/config.yaml
    assert page.external == []  # nothing to fetch: viewable offline
    assert "<script>" in html and 'type="range"' in html  # the slider


def test_a_run_logged_to_csv_only_gets_its_curves_from_metrics_csv(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    (run / "metrics.jsonl").unlink()
    (run / "metrics.csv").write_text("step,d_loss,fid\n2,1.5,\n4,1.25,80.0\n")
    _, page = report_of(run, capsys, "--out", str(tmp_path / "elsewhere.html"))
    assert not (run / "report.html").exists() and (tmp_path / "elsewhere.html").is_file()
    assert page.tags.count("svg") == 2 and "metrics.csv" in page.all_text()


def make_sweep(folder):
    """Two finished jobs of `gan train -m optim.lr=0.001,0.002 data=ring8` (README "Sweeps")."""
    folder.mkdir(parents=True)
    (folder / "multirun.yaml").write_text(
        yaml.safe_dump({"hydra": {"overrides": {"task": ["optim.lr=0.001,0.002", "data=ring8"]}}})
    )
    for num, (lr, fid) in enumerate([("0.001", 40.0), ("0.002", 25.0)]):
        summary = {"steps": 4, "d_loss": 1.3, "fid": fid, "primary_metric": "fid", "primary_direction": "min"}
        make_run(folder / f"{num}-lr={lr}", overrides=(f"optim.lr={lr}", "data=ring8"), summary=summary,
                 hydra_mode="MULTIRUN", num=num)  # fmt: skip
    return folder


def test_a_sweep_report_has_the_ranked_table_the_metric_plot_and_the_best_grid(tmp_path, capsys):
    sweep = make_sweep(tmp_path / "multirun" / "2026-12-02" / "08-00-00")
    path, page = report_of(sweep, capsys)
    assert path == str(sweep / "report.html")
    jobs = page.rows[1:]  # after the header
    assert len(jobs) == 2
    assert jobs[0]["class"] == "best" and "0.002" in jobs[0]["cells"]  # lower fid ranks first
    assert "0.001" in jobs[1]["cells"] and jobs[1]["class"] is None
    text = page.all_text()
    assert "fid vs lr" in text and page.tags.count("svg") == 1  # the metric against the swept value
    assert len(page.images) == 1 and page.images[0]["alt"] == "job 1, step 4"  # the best job's last grid
    assert page.external == []


def test_a_folder_that_is_neither_is_one_line_exit_2(tmp_path, capsys):
    make_run(tmp_path / "day" / "10-00-00-mlp-ring8")
    for folder, says in [
        (tmp_path / "missing", "does not exist"),
        (tmp_path / "day", "single run folder(s), not one run or a sweep"),
        (tmp_path, "neither a run folder"),
    ]:
        with pytest.raises(SystemExit) as stop:
            command.main([str(folder)])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("gan: error: ") and says in err and err.count("\n") == 1
    assert not list(tmp_path.rglob("report.html"))


def test_without_matplotlib_it_names_the_extra_in_one_line(tmp_path, capsys, monkeypatch):
    run = make_run(tmp_path / "run")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    with pytest.raises(SystemExit) as stop:
        command.main([str(run)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install -e ".[report]"' in err
    assert not (run / "report.html").exists()


@pytest.mark.slow
def test_gan_report_on_a_real_two_job_sweep_and_one_of_its_runs(tmp_path):
    result = run_gan(
        "train", "-m", "data=ring8", "trainer.steps=2", "trainer.log_every=1", "trainer.sample_every=1",
        "trainer.eval_every=2", "trainer.progress=false", "logger=[jsonl,csv]", "optim.lr=1e-3,2e-3",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    jobs = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    assert len(jobs) == 2
    for job in jobs:  # logger=[jsonl,csv]: the same rows in both files
        lines = (job / "metrics.jsonl").read_text().splitlines()
        assert len((job / "metrics.csv").read_text().splitlines()) == len(lines) + 1 == 3

    result = run_gan("report", str(sweep), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = Page((sweep / "report.html").read_text())
    assert len(page.rows) == 3 and page.tags.count("svg") == 1 and len(page.images) == 1
    assert "modes_captured vs lr" in page.all_text()

    result = run_gan("report", str(jobs[0]), "out=" + str(tmp_path / "job.html"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = Page((tmp_path / "job.html").read_text())
    records = [json.loads(line) for line in (jobs[0] / "metrics.jsonl").read_text().splitlines()]
    for name in {key for record in records for key in record} - {"step", "epoch", "time", "skipped"}:
        assert name in page.all_text()
    assert len(page.images) == len(list((jobs[0] / "samples").glob("step_*.png"))) == 3


def browser() -> str | None:
    """A headless Chromium, where one is installed (Debian: apt-get install chromium)."""
    import shutil

    return next(
        (
            shutil.which(name)
            for name in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(name)
        ),
        None,
    )


@pytest.mark.slow
@pytest.mark.skipif(
    browser() is None, reason="no Chromium to screenshot with (Debian: apt-get install chromium)"
)
def test_a_headless_browser_draws_the_report(tmp_path, capsys):
    import subprocess

    run = make_run(tmp_path / "10-00-00-mlp-ring8")
    path, _ = report_of(run, capsys)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1200,1600", f"--screenshot={shot}", f"file://{path}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    picture = Image.open(shot).convert("L")
    histogram = picture.histogram()
    assert max(histogram) < 0.98 * sum(histogram)  # not one blank colour: text, plots and grids drew
