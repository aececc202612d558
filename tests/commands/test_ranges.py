"""Range rules read their bounds from one place per key: config.RANGES for the root configs, each
option's registration (gan_cli.registry) for its own keys; booleans take only true/false; keys
outside the schemas are refused; interval keys longer than the run warn."""

import copy
import dataclasses
import typing

import pytest
from omegaconf import OmegaConf

from gan_cli import registry
from gan_cli.commands import config, dispatch, sweeps
from gan_cli.commands.config import GROUPS, RANGES, ROOT_SCHEMAS, Range, option_ranges, validate
from gan_cli.errors import UserError
from tests.helpers import compose_train
from tests.test_fuzz import option_for

NUMBERS = (int, float)


def _numeric(annotation) -> bool:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if annotation in NUMBERS:
        return True
    return any(a in NUMBERS or _numeric(a) for a in args)


def numeric_keys(schema, prefix=""):
    keys = []
    for f in dataclasses.fields(schema):
        if dataclasses.is_dataclass(f.type):
            keys += numeric_keys(f.type, f"{prefix}{f.name}.")
        elif _numeric(f.type):
            keys.append(f"{prefix}{f.name}")
    return keys


@pytest.mark.parametrize("command", sorted(ROOT_SCHEMAS))
def test_every_numeric_key_of_the_root_schemas_has_a_range(command):
    keys = [k for k in numeric_keys(ROOT_SCHEMAS[command]) if k.split(".")[0] not in GROUPS]
    missing = sorted(set(keys) - set(RANGES[command]))
    assert not missing, f"numeric keys without a range in config.RANGES[{command!r}]: {missing}"


def test_every_numeric_key_of_every_registered_option_has_a_range():
    registry.load_all()
    missing = [
        f"{group}={entry.name}: {key}"
        for group, reg in GROUPS.items()
        for entry in reg
        for key in numeric_keys(entry.schema)
        if key not in entry.ranges
    ]
    assert not missing, f"numeric keys without a range in their registration: {missing}"
    for group, reg in GROUPS.items():  # and every range names a key of the schema
        for entry in reg:
            assert set(entry.ranges) <= set(entry.schema.__dataclass_fields__), (group, entry.name)


_BASES: dict = {}


def base_config(key):
    extra = tuple(f"{k}={v}" for k, v in option_for(key).items())
    overrides = ("data=ring8", "model.g_hidden=[8]", "model.d_hidden=[8]", "trainer.steps=10",
                 "trainer.log_every=1", "trainer.sample_every=1", "trainer.ckpt_every=1", *extra)  # fmt: skip
    image_family = any(e.startswith("model=") and e != "model=mlp" for e in extra)  # no 2D points
    if "data=audio_folder" in extra:  # sound: the audio family
        overrides = tuple(o for o in overrides if not o.startswith(("data=ring8", "model.g_", "model.d_")))
        kept = (o for o in overrides if not o.startswith("data.path="))
        overrides = (*kept, "model=wavegan", "data.path=/tmp")
    elif image_family or "data=folder" in extra:
        overrides = tuple(o for o in overrides if not o.startswith(("data=ring8", "model.g_", "model.d_")))
        overrides += ("data=folder", "data.path=/tmp", "data.image_size=32")
    if overrides not in _BASES:
        _BASES[overrides] = compose_train(*overrides)
    return copy.deepcopy(_BASES[overrides])


def outside(bound: Range, integer: bool):
    step = 1 if integer else max(abs(bound.high - bound.low) * 1e-3, 1e-9)
    low = bound.low if bound.low_open else bound.low - step
    high = bound.high if bound.high_open else bound.high + step
    return [low, high]


def with_value(cfg, key, value):
    node = OmegaConf.select(cfg, key)
    if node is None and key == "data.classes":  # a list key whose default is null (every class)
        node = [None]
    is_list = OmegaConf.is_list(node) or isinstance(node, list)
    OmegaConf.update(cfg, key, [value] * len(node) if is_list else value, merge=False)
    return cfg


TRAIN_RANGES = {**RANGES["train"], **{key: bound for key, (_, bound) in option_ranges().items()}}


@pytest.mark.parametrize("key", sorted(TRAIN_RANGES))
def test_each_train_range_refuses_just_outside_its_bounds(key):
    bound = TRAIN_RANGES[key]
    cfg = base_config(key)
    current = OmegaConf.select(cfg, key)
    sample = current[0] if OmegaConf.is_list(current) else current
    integer = isinstance(sample, int) or (
        sample is None and float(bound.low).is_integer() and key != "trainer.epochs"
    )
    for value in outside(bound, integer):
        with pytest.raises(UserError) as caught:
            validate(with_value(copy.deepcopy(cfg), key, value))
        message = str(caught.value)
        assert message.startswith(f"{key}=") and "out of range" in message and "\n" not in message


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_sample_and_eval_ranges_refuse_just_outside(command):
    schema = ROOT_SCHEMAS[command]
    check = config.validate_sample if command == "sample" else config.validate_eval
    for key, bound in RANGES[command].items():
        for value in outside(bound, True):
            cfg = OmegaConf.structured(schema(ckpt="x.pt"))
            OmegaConf.update(cfg, key, value)
            with pytest.raises(UserError, match=rf"^{key}=.* is out of range"):
                check(cfg, [])


@pytest.mark.parametrize("value", ["1e26", str(2**64), "-1"])
def test_seeds_are_32_bit(value):
    with pytest.raises(Exception) as caught:
        validate(compose_train(f"seed={value}"))
    from gan_cli.commands.errors_report import one_line

    assert "seed" in one_line(caught.value) and "\n" not in one_line(caught.value)
    validate(compose_train(f"seed={config.SEED_MAX}"))


def gan(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as stop:
        dispatch.main(["gan", *argv])
    return stop.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["train", "model.g_batchnorm=2"], "model.g_batchnorm=2 is not a boolean"),
        (["train", "trainer.progress=yes"], "trainer.progress=yes is not a boolean"),
        (["train", "trainer.ema.warmup=0"], "trainer.ema.warmup=0 is not a boolean"),
        (["sample", "ckpt=x.pt", "gif=on"], "gif=on is not a boolean"),
        (["eval", "ckpt=x.pt", "use_ema=1"], "use_ema=1 is not a boolean"),
        (["train", "+foo=1"], "unknown key 'foo'"),
        (["train", "+model.foo=1"], "unknown key 'model.foo'"),
        (["train", "+trainer.stepz=1"], "unknown key 'trainer.stepz' (did you mean trainer.steps?)"),
        (["train", "+steps=1"], "unknown key 'steps' (did you mean trainer.steps?)"),
        (["sample", "ckpt=x.pt", "+foo=1"], "unknown key 'foo'"),
        (["eval", "ckpt=x.pt", "+metricz=[fid]"], "unknown key 'metricz' (did you mean metrics?)"),
        (["train", "model=null"], "model=null: a config group needs one of its options"),
        (["train", "trainer.batch_size=1"], "trainer.batch_size=1 with BatchNorm"),
        (["train", "data=ring8", "trainer.pack=3"], "trainer.pack=3 does not divide trainer.batch_size=256"),
        (
            ["train", "trainer.pack=3", "trainer.batch_size=10"],
            "trainer.pack=3 does not divide trainer.batch_size=10",
        ),
        (
            ["train", "model=dcgan", "trainer.pack=64"],
            "trainer.pack=64 with trainer.batch_size=64 leaves D's",
        ),
        (["train", "optim=sgd", "optim.nesterov=true", "optim.momentum=0"], "optim.nesterov=true needs"),
        (["train", "device=cuda:99999999999999999999"], "device='cuda:99999999999999999999' is out of range"),
        (["train", "data=folder", "data.path=/x", "data.image_size=1024"], "parameters; at most"),
        (["train", f"data.root={'r' * 300}"], "data.root: the file name"),
        (["sample", f"ckpt={'c' * 300}.pt"], "ckpt: the file name"),
    ],
)
def test_refused_in_one_line(argv, expected, capsys, tmp_path, monkeypatch):
    code, err = gan(argv, capsys, tmp_path, monkeypatch)
    assert code == 2 and err.count("\n") == 1 and expected in err, err


def test_true_and_false_in_any_case_are_booleans(capsys, tmp_path, monkeypatch):
    # trainer.steps=-1 stops the run after the boolean checks
    code, err = gan(["train", "model.g_batchnorm=False", "trainer.progress=TRUE", "trainer.steps=-1"],
                    capsys, tmp_path, monkeypatch)  # fmt: skip
    assert code == 2 and "trainer.steps=-1" in err


def test_intervals_longer_than_the_run_warn_in_one_line(capsys):
    validate(compose_train("data=ring8", "trainer.steps=10", "trainer.log_every=5"))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gan: warning: trainer.sample_every=500")
    validate(compose_train("data=ring8", "trainer.steps=10", "trainer.log_every=1", "trainer.sample_every=1",
                           "trainer.ckpt_every=10"))  # fmt: skip
    assert capsys.readouterr().err == ""


def test_sweeps_reads_nan_and_huge_numbers_without_failing(tmp_path):
    job = tmp_path / "0-lr=1"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_bytes(b"\xff\xfe binary")
    (job / "summary.json").write_text('{"steps": NaN, "wall_time_s": Infinity, "primary_metric": "fid", '
                                      '"fid": NaN, "d_loss": ' + "9" * 400 + "}")  # fmt: skip
    (job / "metrics.jsonl").write_text("[1]\n3\n")
    sweep = sweeps.summarize(tmp_path)
    assert sweep.jobs[0].rank is None and sweeps.objective({"d_loss": 10**400}) is None
    sweeps.print_summary(sweep)
