"""Sweeps: job folder names, the summary table read back from job folders, and real `gan train -m`
sweeps (basic, joblib and Optuna) with their summary, failures and exit codes."""

import csv
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from gan_cli.commands import dispatch, sweeps
from gan_cli.outputs import sweep_table
from tests.helpers import run_gan


def _installed(module: str) -> bool:
    """find_spec of a dotted name imports its parent, which raises when the parent package
    (hydra_plugins, made by the first plugin installed) is absent."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


TINY = [
    "data=ring8",
    "trainer.steps=20",
    "trainer.log_every=10",
    "trainer.sample_every=20",
    "trainer.ckpt_every=20",
    "model.g_hidden=[32]",
    "model.d_hidden=[32]",
]


# ---- job folder names ---------------------------------------------------------------------------
def test_job_dirname_shows_what_varies_with_short_keys():
    overrides = ["data=ring8", "optim.lr=0.0001", "model=mlp", "trainer.steps=20"]
    assert sweeps.job_dirname(0, overrides, ["data", "trainer.steps"]) == "0-lr=0.0001,model=mlp"
    assert sweeps.job_dirname(7, overrides, ["data", "trainer.steps", "optim.lr", "model"]) == "7"
    assert sweeps.job_dirname(3, [], None) == "3"


def test_job_dirname_is_filesystem_and_shell_safe():
    name = sweeps.job_dirname(
        1, ["data.path=/srv/my images", "model.g_hidden=[32,64]", "optim.lr=0.00012520653814999459", "+x=a'b"]
    )
    assert "/" not in name and " " not in name and "[" not in name and "'" not in name
    assert name == "1-g_hidden=32_64,lr=0.0001252,path=srv_my_images,x=a_b"


def test_job_dirname_keeps_whole_keys_that_would_collide_and_stays_short():
    assert sweeps.job_dirname(2, ["a.width=1", "b.width=2"]) == "2-a.width=1,b.width=2"
    long = sweeps.job_dirname(12, [f"key{i}=value{i}" for i in range(40)])
    assert len(long) == sweeps.MAX_DIRNAME and long.startswith("12-")


def test_the_resolver_names_sweep_job_folders_in_the_train_config():
    sweeps.register_resolver()
    cfg = OmegaConf.create(
        {
            "num": 4,
            "task": ["optim.lr=0.0002", "data=ring8"],
            "exclude": ["data"],
            "subdir": "${gan_job_dirname:${num},${task},${exclude}}",
        }
    )
    assert cfg.subdir == "4-lr=0.0002"
    train_yaml = (Path(__file__).parents[2] / "configs" / "train.yaml").read_text()
    assert "subdir: ${gan_job_dirname:" in train_yaml


def test_the_callback_leaves_shared_overrides_out_of_job_folder_names():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from gan_cli.commands.sweep_callback import SweepSummary

    config = OmegaConf.create(
        {
            "hydra": {
                "overrides": {
                    "task": ["data=ring8", "optim.lr=1e-4,2e-4", "seed=range(3)", "model.g_hidden=[32]"],
                    "hydra": ["hydra.mode=MULTIRUN"],
                },
                "job": {"config": {"override_dirname": {"exclude_keys": ["trainer.progress"]}}},
            }
        }
    )
    OmegaConf.set_readonly(config.hydra, True)  # as Hydra hands it over
    SweepSummary().on_multirun_start(config=config)
    (added,) = OverridesParser.create().parse_overrides([config.hydra.overrides.hydra[-1]])
    assert added.key_or_group == "hydra.job.config.override_dirname.exclude_keys"
    assert added.value() == ["trainer.progress", "data", "model.g_hidden"]


# ---- what a job does for its sweep --------------------------------------------------------------
@pytest.mark.parametrize(
    "n_jobs,cores,threads", [(2, 2, 1), (-1, 2, 1), (1, 2, 2), (4, 16, 4), (-2, 16, 1), (10, 2, 1)]
)
def test_parallel_jobs_share_the_cores(n_jobs, cores, threads):
    assert sweeps.threads_per_job(n_jobs, cores) == threads


def test_only_the_joblib_launcher_counts_as_parallel_on_this_machine():
    joblib = OmegaConf.create(
        {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 3}
    )
    basic = OmegaConf.create({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"})
    assert sweeps.local_parallel_jobs(joblib) == 3
    assert sweeps.local_parallel_jobs(basic) is None


def test_the_objective_is_the_primary_metric_else_the_d_loss():
    assert sweeps.objective({"d_loss": 1.25}) == 1.25
    assert sweeps.rank_value({"d_loss": 1.25}) is None
    summary = {"d_loss": 1.25, "primary_metric": "fid", "fid": 30.0, "best_fid": 21.5}
    assert sweeps.objective(summary) == 21.5
    assert sweeps.objective({"primary_metric": "fid", "fid": 30.0}) == 30.0
    assert sweeps.objective({"primary_metric": "fid", "fid": float("nan"), "d_loss": 1.0}) == 1.0


class TrainingDiverged(Exception):
    """Stands in for gan_cli.training.trainer's (which would import torch): matched by name."""


def test_a_failure_is_recorded_in_the_job_folder(tmp_path):
    from gan_cli.errors import UserError

    status, message = sweeps.record_failure(tmp_path / "a", UserError("bad value"), with_traceback=False)
    assert (status, message) == ("failed", "bad value")
    assert (tmp_path / "a" / "error.txt").read_text() == "UserError: bad value\n"

    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as bug:
        sweeps.record_failure(tmp_path / "b", bug, with_traceback=True)
    text = (tmp_path / "b" / "error.txt").read_text()
    assert text.startswith("ZeroDivisionError: division by zero\n") and "Traceback" in text

    status, _ = sweeps.record_failure(tmp_path / "c", TrainingDiverged("loss is nan"), with_traceback=False)
    assert status == "diverged"
    assert sweeps.read_job(tmp_path / "c", 0).status == "diverged"


# ---- reading a sweep from hand-made job folders -------------------------------------------------
def make_job(sweep_dir: Path, num: int, overrides: list[str], summary=None, error=None, records=(), ckpts=()):
    folder = sweep_dir / sweeps.job_dirname(num, overrides)
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    if error is not None:
        (folder / "error.txt").write_text(error)
    if records:
        (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    for name in ckpts:
        (folder / "checkpoints").mkdir(exist_ok=True)
        (folder / "checkpoints" / name).write_bytes(b"")
    return folder


def ok_summary(d_loss: float, **extra):
    return {
        "steps": 20,
        "wall_time_s": 1.5,
        "img_per_s_median": 900.0,
        "d_loss": d_loss,
        "g_loss": 0.7,
        **extra,
    }


def test_without_a_primary_metric_rows_stay_in_job_order(tmp_path):
    for num, lr in enumerate(["0.0001", "0.0002", "0.0004"]):
        make_job(
            tmp_path, num, ["data=ring8", f"optim.lr={lr}"], ok_summary(1.4 - num / 10), ckpts=["last.pt"]
        )
    sweep = sweeps.summarize(tmp_path)
    assert [job.num for job in sweep.jobs] == [0, 1, 2]
    assert sweep.best is None and sweep.primary is None
    assert sweep.swept == ["optim.lr"] and sweep.common == {"data": "ring8"}
    assert "in job order" in sweep.order_note()
    assert [job.overrides["optim.lr"] for job in sweep.jobs] == ["0.0001", "0.0002", "0.0004"]


def test_an_interrupted_sweep_still_shows_the_swept_keys(tmp_path):
    saved = {"hydra": {"overrides": {"task": ["data=ring8", "optim.lr=1e-4,2e-4"]}}}
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump(saved))
    make_job(tmp_path, 0, ["data=ring8", "optim.lr=0.0001"], records=[{"step": 100, "d_loss": 1.3}])
    sweep = sweeps.summarize(tmp_path)
    assert sweep.swept == ["optim.lr"] and sweep.common == {"data": "ring8"}
    assert sweep.jobs[0].status == "incomplete" and sweep.jobs[0].numbers == {"steps": 100, "d_loss": 1.3}


def test_rows_are_sorted_by_the_primary_metric_and_the_best_is_marked(tmp_path):
    fid = {"primary_metric": "fid", "primary_direction": "min"}
    make_job(tmp_path, 0, ["model=mlp"], ok_summary(1.3, fid=40.0, best_fid=35.0, **fid), ckpts=["last.pt"])
    make_job(
        tmp_path,
        1,
        ["model=dcgan"],
        ok_summary(1.2, fid=25.0, best_fid=20.0, **fid),
        ckpts=["last.pt", "best.pt"],
    )
    make_job(tmp_path, 2, ["model=x"], error="UserError: model=x is not a model\n")
    make_job(tmp_path, 3, ["model=y"], ok_summary(1.1, fid=30.0, **fid), ckpts=["last.pt"])
    make_job(
        tmp_path, 4, ["model=z"], records=[{"step": 10, "d_loss": 1.0, "g_loss": 0.5}], ckpts=["last.pt"]
    )
    make_job(tmp_path, 5, ["model=w"], error="TrainingDiverged: the D loss is nan at step 10\n")
    sweep = sweeps.summarize(tmp_path)

    # finished ones by fid (best_fid when recorded), then the rest in job order
    assert [job.num for job in sweep.jobs] == [1, 3, 0, 2, 4, 5]
    assert [job.status for job in sweep.jobs] == ["ok", "ok", "ok", "failed", "incomplete", "diverged"]
    assert sweep.best.num == 1 and [job.best for job in sweep.jobs].count(True) == 1
    assert sweep.best.checkpoint.name == "best.pt" and sweep.jobs[1].checkpoint.name == "last.pt"
    assert sweep.jobs[4].numbers["steps"] == 10  # how far the unfinished job got
    assert sweep.jobs[3].error == "model=x is not a model"
    assert [job.num for job in sweep.failed] == [2, 5]
    assert sweep.columns[:7] == [
        "fid",
        "best_fid",
        "steps",
        "wall_time_s",
        "img_per_s_median",
        "d_loss",
        "g_loss",
    ]
    assert "sorted by fid, lower is better" in sweep.order_note()


def test_a_higher_is_better_metric_sorts_the_other_way(tmp_path):
    modes = {"primary_metric": "modes_captured", "primary_direction": "max"}
    for num, value in enumerate([5, 8, 6]):
        make_job(tmp_path, num, [f"seed={num}"], ok_summary(1.0, modes_captured=value, **modes))
    sweep = sweeps.summarize(tmp_path)
    assert [job.num for job in sweep.jobs] == [1, 2, 0] and sweep.best.num == 1
    assert "higher is better" in sweep.order_note()


def test_csv_and_markdown_hold_every_row(tmp_path):
    make_job(tmp_path, 0, ["data=ring8", "optim.lr=0.0001"], ok_summary(1.3, epochs=0.01), ckpts=["last.pt"])
    make_job(tmp_path, 1, ["data=ring8", "optim.lr=0.0002"], error="UserError: no | good\n")
    sweep = sweeps.summarize(tmp_path)
    csv_path, md_path = sweeps.write_files(sweep)

    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [(r["job"], r["optim.lr"], r["status"]) for r in rows] == [
        ("0", "0.0001", "ok"),
        ("1", "0.0002", "failed"),
    ]
    assert float(rows[0]["d_loss"]) == 1.3 and rows[0]["epochs"] == "0.01"
    assert (
        rows[0]["checkpoint"] == f"{rows[0]['folder']}/checkpoints/last.pt"
        and rows[1]["error"] == "no | good"
    )

    markdown = md_path.read_text()
    assert "| job | lr | status |" in markdown and "`data=ring8`" in markdown
    assert "| 1 | 0.0002 | failed |" in markdown and "no | good" in markdown
    assert "epochs" not in markdown  # diagnostics stay in the CSV


def test_a_statistic_no_list_names_gets_a_column_after_todays_ones(tmp_path, capsys):
    """A VAE's recon and kl (or any recipe's numbers) reach the table from summary.json, and from
    metrics.jsonl for a job still running, without being listed anywhere."""
    vae = {"steps": 20, "wall_time_s": 1.5, "recon": 0.25, "kl": 3.5}
    make_job(tmp_path, 0, ["model=vae", "seed=0"], vae, ckpts=["last.pt"])
    running = [{"step": 10, "epoch": 0.1, "recon": 0.5, "time": 9.0}]
    make_job(tmp_path, 1, ["model=vae", "seed=1"], records=running)
    make_job(tmp_path, 2, ["model=mlp", "seed=2"], ok_summary(1.3))
    sweep = sweeps.summarize(tmp_path)
    assert sweep.columns == ["steps", "wall_time_s", "img_per_s_median", "d_loss", "g_loss", "recon", "kl"]
    assert sweep.jobs[1].numbers == {"steps": 10, "recon": 0.5}  # bookkeeping of a line is no column
    sweeps.print_summary(sweep)
    header = next(line for line in capsys.readouterr().out.splitlines() if "status" in line)
    assert header.split()[-3:] == ["recon", "kl", "ckpt"]
    rows = list(csv.DictReader(io.StringIO(sweep_table.to_csv(sweep))))
    assert [(r["recon"], r["kl"]) for r in rows] == [("0.25", "3.5"), ("0.5", ""), ("", "")]


def test_gan_sweeps_prints_the_table_through_the_dispatcher(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep_dir = tmp_path / "outputs" / "multirun" / "2026-11-28" / "10-00-00"
    make_job(sweep_dir, 0, ["optim.lr=0.0001"], ok_summary(1.3), ckpts=["last.pt"])
    make_job(sweep_dir, 1, ["optim.lr=0.0002"])
    dispatch.main(["gan", "sweeps", str(sweep_dir)])
    out = capsys.readouterr().out
    assert "2 jobs: 1 ok, 1 incomplete" in out and "0.0002" in out and "incomplete" in out
    assert (sweep_dir / "summary.csv").is_file() and (sweep_dir / "summary.md").is_file()


@pytest.mark.parametrize("where", ["missing", "empty", "run", "parent"])
def test_gan_sweeps_on_a_folder_that_is_not_a_sweep_is_one_line_exit_2(tmp_path, capsys, where):
    sweep_dir = tmp_path / "multirun" / "2026-11-28" / "10-00-00"
    make_job(sweep_dir, 0, ["seed=1"], ok_summary(1.0))
    (sweep_dir / "multirun.yaml").write_text("hydra: {}\n")
    folder = {
        "missing": tmp_path / "nope",
        "empty": tmp_path / "multirun" / "2026-11-28" / "10-00-00" / "0-seed=1" / ".hydra",
        "run": sweep_dir / "0-seed=1",
        "parent": tmp_path,
    }[where]
    with pytest.raises(SystemExit) as caught:
        dispatch.main(["gan", "sweeps", str(folder)])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gan: error: ") and str(folder) in err
    if where == "parent":
        assert str(sweep_dir) in err  # points at the sweep it holds


# ---- real sweeps --------------------------------------------------------------------------------
def sweep_folder(cwd: Path) -> Path:
    (folder,) = (cwd / "outputs" / "multirun").glob("*/*")
    return folder


def table_lines(stdout: str) -> list[str]:
    """The summary table as printed: from its title to the end of its caption."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("sweep outputs/multirun/"))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("every job:"))
    return [line.rstrip() for line in lines[start : end + 1]]


@pytest.mark.slow
def test_a_four_job_sweep_makes_four_run_folders_and_a_summary(tmp_path):
    result = run_gan("train", "-m", *TINY, "optim.lr=1e-4,2e-4", "seed=0,1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = sweep_folder(tmp_path)
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert names == ["0-lr=0.0001,seed=0", "1-lr=0.0001,seed=1", "2-lr=0.0002,seed=0", "3-lr=0.0002,seed=1"]
    for name in names:
        job = folder / name
        assert (job / "summary.json").is_file() and (job / "checkpoints" / "last.pt").is_file()
        assert (job / ".hydra" / "config.yaml").is_file() and list((job / "samples").glob("*.png"))

    rows = list(csv.DictReader(io.StringIO((folder / "summary.csv").read_text())))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    for row in rows:
        overrides = yaml.safe_load((folder / row["folder"] / ".hydra" / "overrides.yaml").read_text())
        assert f"optim.lr={row['optim.lr']}" in overrides and f"seed={row['seed']}" in overrides
        pick = "best.pt" if (folder / row["folder"] / "checkpoints" / "best.pt").is_file() else "last.pt"
        assert row["checkpoint"] == f"{row['folder']}/checkpoints/{pick}" and int(row["steps"]) == 20
    sweep = sweeps.summarize(folder)
    if sweep.primary is None:
        assert [r["job"] for r in rows] == ["0", "1", "2", "3"]
    else:  # once summary.json names a primary metric, the best comes first
        ranks = [job.rank for job in sweep.jobs]
        assert ranks == sorted(ranks, reverse=sweep.direction == "max") and rows[0]["best"] == "yes"

    table = table_lines(result.stdout)
    assert "4 jobs: 4 ok" in table[0]
    assert (folder / "summary.md").read_text().count("\n| ") == 4 + 2  # header, rule, 4 rows


@pytest.mark.slow
def test_failing_jobs_do_not_sink_the_sweep(tmp_path):
    # batch size 0 is refused when the job starts; SGD at lr 1000 turns the loss into NaN
    result = run_gan(
        "train", "-m", *TINY, "optim=sgd", "optim.lr=1e-3,1e3", "trainer.batch_size=0,32", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert "3 of 4 jobs failed (1 diverged)" in result.stderr
    assert "Traceback" not in result.stderr
    folder = sweep_folder(tmp_path)
    rows = {r["folder"]: r for r in csv.DictReader(io.StringIO((folder / "summary.csv").read_text()))}
    assert {name: row["status"] for name, row in rows.items()} == {
        "0-batch_size=0,lr=0.001": "failed",
        "1-batch_size=32,lr=0.001": "ok",
        "2-batch_size=0,lr=1000.0": "failed",
        "3-batch_size=32,lr=1000.0": "diverged",
    }
    error = (folder / "0-batch_size=0,lr=0.001" / "error.txt").read_text()
    assert error.startswith("UserError: trainer.batch_size=0 is out of range")
    assert (folder / "3-batch_size=32,lr=1000.0" / "error.txt").read_text().startswith("TrainingDiverged: ")
    assert (folder / "1-batch_size=32,lr=0.001" / "summary.json").is_file()
    table = table_lines(result.stdout)

    # `gan sweeps` rebuilds the same table from the folders
    again = run_gan("sweeps", str(folder.relative_to(tmp_path)), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert table_lines(again.stdout) == table

    not_a_sweep = run_gan("sweeps", "outputs/multirun", cwd=tmp_path)
    assert not_a_sweep.returncode == 2 and not_a_sweep.stderr.count("\n") == 1


@pytest.mark.slow
@pytest.mark.skipif(
    not _installed("hydra_plugins.hydra_joblib_launcher"),
    reason='the joblib launcher is not installed: pip install -e ".[sweep]" (.ci/run does)',
)
def test_joblib_runs_jobs_in_parallel_with_threads_shared(tmp_path):
    result = run_gan(
        "train",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        *TINY,
        "optim.lr=1e-4,2e-4",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    folder = sweep_folder(tmp_path)
    assert "Joblib.Parallel(n_jobs=2" in result.stdout
    share = sweeps.threads_per_job(2, sweeps.available_cores())
    for name in ("0-lr=0.0001", "1-lr=0.0002"):
        assert (folder / name / "summary.json").is_file()
        threads = re.search(r"\((\d+) threads?\)", (folder / name / "train.log").read_text())
        # within its share; an mlp takes one thread of it (device.fit_cpu_threads)
        assert threads and int(threads.group(1)) == 1 <= share
    assert "2 jobs: 2 ok" in table_lines(result.stdout)[0]


@pytest.mark.slow
@pytest.mark.skipif(
    not _installed("hydra_plugins.hydra_optuna_sweeper"),
    reason='the Optuna sweeper is not installed: pip install -e ".[optuna]" (not in .ci/run: heavy)',
)
def test_optuna_searches_with_the_example_config(tmp_path):
    result = run_gan(
        "train", "-m", "hydra/sweeper=optuna_search", "hydra.sweeper.n_trials=2", *TINY, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    folder = sweep_folder(tmp_path)
    results = yaml.safe_load((folder / "optimization_results.yaml").read_text())
    assert set(results["best_params"]) == {"optim.lr", "trainer.d_steps"}
    rows = list(csv.DictReader(io.StringIO((folder / "summary.csv").read_text())))
    assert len(rows) == 2 and all(row["status"] == "ok" for row in rows)
    assert all(row["folder"].startswith(f"{row['job']}-d_steps=") for row in rows)
    # what Optuna optimized is what the table ranks by
    sweep = sweeps.summarize(folder)
    values = [sweeps.objective(json.loads((job.folder / "summary.json").read_text())) for job in sweep.jobs]
    wanted = "minimize" if sweep.primary is None or sweep.direction == "min" else "maximize"
    assert results["best_value"] == (min(values) if wanted == "minimize" else max(values))
    if wanted == "maximize":  # the example config minimizes (FID): the end of the sweep says so
        assert "hydra.sweeper.direction=maximize" in result.stderr


# ---- a day folder of single runs; a search whose every trial failed -----------------------------
def make_single_run(day: Path, name: str) -> Path:
    folder = day / name
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["data=ring8"]))
    hydra_yaml = {"hydra": {"mode": "RUN", "job": {"num": 0}}}  # as Hydra records a single run
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(hydra_yaml))
    (folder / "summary.json").write_text(json.dumps(ok_summary(1.0)))
    return folder


def test_gan_sweeps_on_a_day_folder_of_single_runs_is_refused_and_writes_nothing(tmp_path):
    day = tmp_path / "outputs" / "2026-11-28"
    make_single_run(day, "10-00-00-mlp-ring8")
    make_single_run(day, "10-05-00-sample")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = run_gan("sweeps", "outputs/2026-11-28", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("gan: error: outputs/2026-11-28 holds 2")
    assert "not a sweep" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_job_folders_without_multirun_yaml_still_make_a_sweep_unless_single_runs(tmp_path):
    make_job(tmp_path, 0, ["seed=0"], ok_summary(1.0))
    assert sweeps.is_sweep(tmp_path)  # copied or hand-made: no hydra.mode recorded
    make_single_run(tmp_path / "day", "10-00-00-mlp-ring8")
    assert not sweeps.is_sweep(tmp_path / "day")
    (tmp_path / "day" / "multirun.yaml").write_text("hydra: {}\n")
    assert sweeps.is_sweep(tmp_path / "day")


def _start_sweep(sweep_dir: Path):
    from gan_cli.commands.sweep_callback import SweepSummary

    config = OmegaConf.create(
        {
            "hydra": {
                "sweep": {"dir": str(sweep_dir)},
                "overrides": {"task": ["optim.lr=tag(log,interval(1e-5,1e-3))"], "hydra": []},
                "job": {"config": {"override_dirname": {"exclude_keys": []}}},
            }
        }
    )
    SweepSummary().on_multirun_start(config)


def _optuna_at_the_end():
    raise ValueError("No trials are completed yet.")  # what optuna's study.best_trial raises


def test_a_search_whose_every_trial_failed_ends_with_the_table_and_one_line_exit_2(
    tmp_path, capsys, monkeypatch
):
    from gan_cli.commands import errors_report

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.delenv("GAN_DEBUG", raising=False)
    sweep_dir = Path("outputs") / "multirun" / "2026-11-28" / "10-00-00"
    missing = "DataNotFoundError: MNIST is not in data/MNIST and data.download=false\n"
    first = make_job(sweep_dir, 0, ["optim.lr=0.0001"], error=missing)
    make_job(sweep_dir, 1, ["optim.lr=0.0002"], error=missing)
    _start_sweep(sweep_dir)
    with pytest.raises(SystemExit) as caught:
        errors_report._run_and_report(_optuna_at_the_end)
    assert caught.value.code == 2
    out, err = capsys.readouterr()
    assert "2 jobs: 2 failed" in out and "0.0002" in out
    assert err == (
        "gan: error: every trial of the search failed (see error.txt in the job folders, "
        f"e.g. {first / 'error.txt'})\n"
    )
    assert (sweep_dir / "summary.csv").is_file()


def test_a_sweeper_error_with_a_completed_trial_stays_a_bug(tmp_path, capsys, monkeypatch):
    from gan_cli.commands import errors_report

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.delenv("GAN_DEBUG", raising=False)
    make_job(tmp_path / "s", 0, ["optim.lr=0.0001"], ok_summary(1.0))
    make_job(tmp_path / "s", 1, ["optim.lr=0.0002"], error="UserError: no\n")
    _start_sweep(tmp_path / "s")
    with pytest.raises(SystemExit) as caught:
        errors_report._run_and_report(_optuna_at_the_end)
    assert caught.value.code == 1
    assert "this is a bug in gan_cli" in capsys.readouterr().err
    with pytest.raises(SystemExit) as again:  # no sweep under way: as before
        errors_report._run_and_report(_optuna_at_the_end)
    assert again.value.code == 1


@pytest.mark.slow
@pytest.mark.skipif(
    not _installed("hydra_plugins.hydra_optuna_sweeper"),
    reason='the Optuna sweeper is not installed: pip install -e ".[optuna]" (not in .ci/run: heavy)',
)
def test_an_optuna_search_on_missing_data_ends_with_the_table_and_one_line(tmp_path):
    result = run_gan(
        "train", "-m", "hydra/sweeper=optuna_search", "hydra.sweeper.n_trials=2", "data=mnist",
        "data.download=false", "trainer.steps=20", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("gan: error: every trial of the search failed (see error.txt")
    assert "Traceback" not in result.stderr and "2 jobs: 2 failed" in result.stdout
