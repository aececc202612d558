"""The distributed context: rank 0 of 1 without a launcher, changing nothing; the launcher's
variables read and checked (gan_cli/distributed.py)."""

import pytest

from gan_cli import distributed
from gan_cli.distributed import Context, from_environment
from gan_cli.errors import UserError


def test_one_process_is_rank_0_of_1_and_changes_nothing():
    context = distributed.from_environment({})
    assert (context.rank, context.world_size, context.local_rank, context.is_main) == (0, 1, 0, True)
    assert context.on_device("cuda").device == "cuda"
    values = {"d_loss": 0.5}
    assert context.mean(values) is values  # no copy, no sync


def test_torchruns_variables_name_the_rank_and_its_gpu():
    context = distributed.from_environment({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (context.rank, context.world_size, context.is_main, context.is_distributed) == (3, 4, False, True)
    assert context.on_device("cuda").device == "cuda:1"
    assert context.on_device("cuda:0").device == "cuda:0"  # a device the user named stays
    assert context.on_device("cpu").device == "cpu"


def test_statistics_stay_as_they_are_without_a_process_group():
    torch = pytest.importorskip("torch")
    context = distributed.from_environment({"RANK": "0", "WORLD_SIZE": "2"})
    values = {"d_loss": torch.tensor(0.5)}
    assert context.mean(values) is values  # multi-GPU training initialises the group later


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RANK": "x"}, "RANK='x' is not a whole number"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, "do not describe a launch"),
        ({"WORLD_SIZE": "0"}, "do not describe a launch"),
    ],
)
def test_a_broken_launch_is_one_line(environ, message):
    with pytest.raises(UserError, match=message):
        distributed.from_environment(environ)


def test_the_current_context_reads_the_environment(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert distributed.current().rank == 1
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert distributed.current().is_main


def test_slurm_and_submitit_tasks_name_their_rank_without_torchrun():
    slurm = {"SLURM_PROCID": "3", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_JOB_ID": "77"}
    assert from_environment(slurm) == Context(3, 8, 1)
    local = {"SUBMITIT_LOCAL_GLOBALID": "1", "SUBMITIT_LOCAL_NTASKS": "2", "SUBMITIT_LOCAL_LOCALID": "1"}
    assert from_environment(local) == Context(1, 2, 1)
    # torchrun's names win where both are set (torchrun inside a SLURM allocation)
    assert from_environment({**slurm, "RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}) == Context(0, 2, 0)
    # a one-task SLURM job is a plain run
    assert from_environment({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}) == Context(0, 1, 0)


def test_every_rank_of_a_launch_computes_one_key_and_each_attempt_its_own():
    from gan_cli.distributed import _first_slurm_node, _port_of, earlier_attempt_keys, launch_key

    job = {"SLURM_JOB_ID": "77", "SLURM_STEP_ID": "0"}
    assert launch_key({**job, "SLURM_PROCID": "0"}) == launch_key({**job, "SLURM_PROCID": "5"})
    assert launch_key({"TORCHELASTIC_RUN_ID": "abc"}) == "run-abc"
    assert launch_key({"SUBMITIT_LOCAL_JOB_ID": "123"}) == "submitit-123"
    first = {"TORCHELASTIC_RUN_ID": "none", "MASTER_ADDR": "h", "MASTER_PORT": "29500"}
    second = {**first, "TORCHELASTIC_RESTART_COUNT": "2"}
    assert launch_key(second) != launch_key(first)
    assert earlier_attempt_keys(first) == []
    previous = launch_key(second).replace("attempt2", "attempt1")
    assert earlier_attempt_keys(second) == [previous, launch_key(first)]
    assert _first_slurm_node("gpu[03-04,07],cpu1") == "gpu03" and _first_slurm_node("n5") == "n5"
    assert _port_of("123") == _port_of("123") and 15000 <= int(_port_of("99999999")) < 35000
