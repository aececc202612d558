"""The distributed context: rank 0 of 1 without a launcher, changing nothing; the launcher's
variables read and checked (gan_cli/distributed.py)."""

import pytest

from gan_cli import distributed
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
