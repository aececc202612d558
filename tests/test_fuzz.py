"""A fuzz that can fail: every numeric key the config knows (read from config.RANGES and the
registered options' ranges, so a new key or a new option is fuzzed without editing this file)
gets the extremes, every path key long and odd paths, across
`gan train`, `gan sample`, `gan eval` and `gan sweeps`; crafted files for `gan sweeps`.

Each case must exit 0 or 2 with at most 3 lines on stderr, no traceback, in under TIME_LIMIT_S.
The figures (cases, exit codes, longest case) are printed at the end of the module's tests.
"""

import collections
import os
import signal
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan_cli.commands import dispatch
from gan_cli.commands.config import PATH_KEYS, RANGES, group_schemas, option_ranges
from gan_cli.commands.train import run
from tests.helpers import compose_train, run_gan

TIME_LIMIT_S = 10
MAX_STDERR_LINES = 3
EXTREMES = ["1e26", "-1e26", "inf", "-inf", "nan", "-0.0", str(2**63), str(2**64)]
ODD_PATHS = ["a" * 300, "b" * 200 + "/" + "c" * 300, "a b/x", "a,b", "a=b", "josé/x", "~/x", "~", "[x]"]

TINY = {"data": "ring8", "trainer.steps": "1", "model.g_hidden": "[8]", "model.d_hidden": "[8]",
        "trainer.progress": "false", "trainer.log_every": "1", "trainer.sample_every": "1",
        "trainer.ckpt_every": "1", "trainer.eval_n": "64"}  # fmt: skip

FIGURES = {"cases": 0, "codes": collections.Counter(), "longest": (0.0, None)}


def option_for(key: str) -> dict[str, str]:
    """The group option whose schema has the key (model.width: model=dcgan), as overrides."""
    group, _, name = key.partition(".")
    options = group_schemas().get(group)
    if not options or not name or "." in name:
        return {}
    ranged = option_ranges().get(key)
    candidates = [ranged[0]] if ranged else []
    candidates += [option for option, schema in options.items() if name in schema.__dataclass_fields__]
    if not candidates:
        return {}
    option = candidates[0]
    extra = {group: option}
    if option in ("folder", "audio_folder"):
        extra["data.path"] = "missing-folder"
    return extra


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout(f"over {TIME_LIMIT_S} s")


def run_case(argv: list[str], capsys) -> tuple[int, str, float]:
    """dispatch.main in this process (fast), stopped by SIGALRM if it hangs."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S + 5)
    started = time.perf_counter()
    try:
        dispatch.main(["gan", *argv])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - started
    return code, capsys.readouterr().err, elapsed


def check(argv: list[str], code: int, err: str, elapsed: float) -> None:
    FIGURES["cases"] += 1
    FIGURES["codes"][code] += 1
    if elapsed > FIGURES["longest"][0]:
        FIGURES["longest"] = (elapsed, " ".join(argv)[:160])
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, (argv, err)
    assert code in (0, 2), (argv, code, err)
    assert len(lines) <= MAX_STDERR_LINES, (argv, err)
    if code == 2:
        # argparse (gan sweeps) says "gan sweeps: error: ..." after its usage line
        assert lines and lines[-1].startswith(("gan: error: ", "gan sweeps: error: ")), (argv, err)
    assert elapsed < TIME_LIMIT_S, (argv, elapsed)


@pytest.fixture(scope="module", autouse=True)
def figures(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    longest, case = FIGURES["longest"]
    line = (
        f"fuzz figures: {FIGURES['cases']} cases, exit codes {dict(sorted(FIGURES['codes'].items()))}, "
        f"longest {longest:.2f} s ({case})"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
            reporter.write_line("")
            reporter.write_line(line)


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.delenv("GAN_DEBUG", raising=False)


def argv_for(command: str, base: dict[str, str], changes: dict[str, str]) -> list[str]:
    merged = {**base, **changes}
    return [command, *(f"{key}={value}" for key, value in merged.items())]


def train_argv(key: str, value: str) -> list[str]:
    return argv_for("train", TINY, {**option_for(key), key: value})


SCALE = float(os.environ.get("GAN_FUZZ_SCALE", "1"))  # more examples for a longer hunt


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,  # the per-case limit is check()'s, with SIGALRM behind it
        derandomize=True,  # the same cases each run: the figures can be compared
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


SLOW_FUZZ = settings(fuzz(150), derandomize=False)

TRAIN_KEYS = sorted({*RANGES["train"], *option_ranges()})
SAMPLE_KEYS = sorted(RANGES["sample"])
EVAL_KEYS = sorted(RANGES["eval"])


@fuzz(20)
@given(key=st.sampled_from(TRAIN_KEYS), value=st.sampled_from(EXTREMES))
def test_train_extremes(key, value, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = train_argv(key, value)
    check(argv, *run_case(argv, capsys))


@pytest.fixture(scope="module")
def ring8_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    overrides = [f"{k}={v}" for k, v in TINY.items() if k != "trainer.steps"] + ["trainer.steps=3"]
    run(compose_train(*overrides), folder)
    return folder / "checkpoints" / "last.pt"


def sample_base(ckpt: Path, tmp_path: Path) -> dict[str, str]:
    return {"ckpt": str(ckpt), "out": str(tmp_path / "out"), "n": "4", "device": "cpu"}


def eval_base(ckpt: Path, tmp_path: Path) -> dict[str, str]:
    return {"ckpt": str(ckpt), "out": str(tmp_path / "eval.json"), "n": "64", "device": "cpu"}


@fuzz(12)
@given(key=st.sampled_from(SAMPLE_KEYS), value=st.sampled_from(EXTREMES))
def test_sample_extremes(key, value, ring8_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = argv_for("sample", sample_base(ring8_checkpoint, tmp_path), {key: value})
    check(argv, *run_case(argv, capsys))


@fuzz(12)
@given(key=st.sampled_from(EVAL_KEYS), value=st.sampled_from(EXTREMES))
def test_eval_extremes(key, value, ring8_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = argv_for("eval", eval_base(ring8_checkpoint, tmp_path), {key: value})
    check(argv, *run_case(argv, capsys))


PATH_CASES = [(command, key) for command, keys in PATH_KEYS.items() for key in keys]


@fuzz(12)
@given(case=st.sampled_from(PATH_CASES), path=st.sampled_from(ODD_PATHS))
def test_odd_paths(case, path, ring8_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    command, key = case
    if command == "train":
        argv = argv_for("train", TINY, {**option_for(key), key: path})
    elif command == "sample":
        argv = argv_for("sample", sample_base(ring8_checkpoint, tmp_path), {key: path})
    else:
        argv = argv_for("eval", eval_base(ring8_checkpoint, tmp_path), {key: path})
    check(argv, *run_case(argv, capsys))


# ---- gan sweeps on crafted folders ---------------------------------------------------------------
SWEEP_FILES = [".hydra/overrides.yaml", ".hydra/hydra.yaml", "summary.json", "metrics.jsonl", "error.txt"]
CRAFTED = [
    b"",
    b"\xff\xfe\x00\x01binary\x00\x9c",
    b"\x89PNG\r\n\x1a\n\x00\x00",
    b"[1, 2",
    b"- a\n- b: [1\n",
    b"!!python/object/apply:os.system ['touch pwned']",
    b"[" * 5000,
    b"{" * 5000,
    b'{"steps": NaN, "d_loss": Infinity, "g_loss": -Infinity, "wall_time_s": NaN}',
    b'{"primary_metric": ["fid"], "fid": 1, "primary_direction": {"a": 1}}',
    b'{"primary_metric": "fid", "fid": NaN, "best_fid": Infinity, "best_step": NaN}',
    b'[1, 2, 3]\n3\n"x"\nnull\n',
    b'"just a string"',
    b"12345",
    b'{"steps": 1e400, "img_per_s_median": -1e400}',
    b'{"steps": ' + b"9" * 4000 + b"}",
    b"null",
    b"hydra: {job: {num: .inf}}",
    b"hydra: {job: {num: .nan}}",
    b"hydra: {job: {num: [1]}}",
    b"hydra: {overrides: {task: 5}}",
    b"a: &a [*a]",
    "josé: ü\n- ñ".encode(),
]
SPECIAL = ["folder", "dangling-link", "fifo"]


def craft(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if content == "folder":
        path.mkdir(exist_ok=True)
    elif content == "dangling-link":
        path.symlink_to(path.parent / "nowhere")
    elif content == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(content)


CONTENT = st.sampled_from(CRAFTED + (SPECIAL if hasattr(os, "mkfifo") else SPECIAL[:2]))


@fuzz(25)
@given(
    files=st.lists(st.tuples(st.sampled_from(SWEEP_FILES), CONTENT), min_size=1, max_size=5),
    multirun=st.one_of(st.none(), CONTENT),
    jobs=st.integers(1, 2),
)
def test_sweeps_on_crafted_folders(files, multirun, jobs, tmp_path_factory, monkeypatch, capsys):
    sweep = tmp_path_factory.mktemp("sweep")
    monkeypatch.chdir(sweep)
    for num in range(jobs):
        job = sweep / f"{num}-lr=0.1"
        (job / ".hydra").mkdir(parents=True)
        written = set()
        for name, content in files:
            if name not in written:
                craft(job / name, content)
                written.add(name)
        if ".hydra/overrides.yaml" not in written:
            (job / ".hydra" / "overrides.yaml").write_text("- optim.lr=0.1\n")
    if multirun is not None:
        craft(sweep / "multirun.yaml", multirun)
    argv = ["sweeps", str(sweep)]
    check(argv, *run_case(argv, capsys))
    assert not (sweep / "pwned").exists()


@fuzz(12)
@given(name=st.sampled_from(ODD_PATHS + ["-x", "--help-me", "\x7f"]))
def test_sweeps_on_odd_folder_names(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["sweeps", name]
    check(argv, *run_case(argv, capsys))


# ---- the full product, and the real command in a subprocess ---------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("value", EXTREMES)
@pytest.mark.parametrize("key", TRAIN_KEYS)
def test_every_train_key_with_every_extreme(key, value, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = train_argv(key, value)
    check(argv, *run_case(argv, capsys))


@pytest.mark.slow
@SLOW_FUZZ
@given(
    command=st.sampled_from(["sample", "eval"]),
    pairs=st.lists(st.tuples(st.sampled_from(sorted({*SAMPLE_KEYS, *EVAL_KEYS})), st.sampled_from(EXTREMES)),
                   min_size=1, max_size=3),
)  # fmt: skip
def test_sample_and_eval_many(command, pairs, ring8_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    base = sample_base if command == "sample" else eval_base
    argv = argv_for(command, base(ring8_checkpoint, tmp_path), dict(pairs))
    check(argv, *run_case(argv, capsys))


SUBPROCESS_CASES = [
    ("train", "data=ring8", "trainer.d_steps=99999999999999999999999999"),
    ("train", "data=ring8", "seed=1e26"),
    ("train", "data=ring8", f"seed={2**64}"),
    ("train", "+model.foo=1"),
    ("train", "model.g_batchnorm=2"),
    ("train", "data=ring8", "data.workers=1000"),
    ("sample", "ckpt=missing.pt", "n=1e11"),
    ("eval", "ckpt=missing.pt", f"n={2**63}"),
    ("sweeps", "a" * 300),
]


@pytest.mark.parametrize("argv", SUBPROCESS_CASES, ids=lambda argv: " ".join(argv)[:60])
def test_the_real_command_refuses_in_one_line(argv, tmp_path):
    started = time.perf_counter()
    result = run_gan(*argv, cwd=tmp_path, timeout=TIME_LIMIT_S * 6)
    elapsed = time.perf_counter() - started
    check(list(argv), result.returncode, result.stderr, elapsed)
    assert result.returncode == 2
