"""Inputs built to hang the real commands: each must end, in one line when it is refused.

Every case runs `gan` in a subprocess with a timeout, so a hang fails the test instead of the suite.
"""

import json
import os

import pytest

from tests.data.fakes import write_jpeg, write_png
from tests.helpers import run_folders, run_gan

SMALL = ["model.g_hidden=[16]", "model.d_hidden=[16]", "model.z_dim=4", "trainer.batch_size=4"]
# Intervals within the 2-step runs, so that no warning about them joins the one line checked.
SHORT = ["trainer.steps=2", "trainer.log_every=1", "trainer.sample_every=2", "trainer.ckpt_every=2"]
FOLDER = ["data=folder", "data.image_size=8", "data.channels=1", "data.workers=0", "trainer.eval_every=0"]
LIMIT_S = 180


def train_on(folder, *extra, cwd):
    return run_gan("train", *FOLDER, f"data.path={folder}", *SHORT, *SMALL, *extra, cwd=cwd, timeout=LIMIT_S)


def assert_refused_in_one_line(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gan: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment.lower() in result.stderr.lower()


@pytest.mark.slow
def test_a_folder_holding_two_links_to_itself_trains(tmp_path):
    folder = tmp_path / "images"
    for index in range(3):
        write_png(folder / f"{index}.png", 8, 8, mode="L", seed=index)
    os.symlink(".", folder / "a")  # the repro: `ln -s . a; ln -s . b`
    os.symlink(".", folder / "b")
    result = train_on(folder, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(run_folders(tmp_path)) == 1


@pytest.mark.slow
def test_a_link_loop_deeper_down_trains(tmp_path):
    folder = tmp_path / "images"
    write_png(folder / "cats" / "0.png", 8, 8, mode="L")
    write_png(folder / "dogs" / "deep" / "1.png", 8, 8, mode="L", seed=1)
    os.symlink("../../..", folder / "dogs" / "deep" / "top")
    os.mkfifo(folder / "cats" / "pipe.png")
    result = train_on(folder, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("strict", ["false", "true"])
def test_a_streamed_folder_of_truncated_jpegs_is_one_line(tmp_path, strict):
    folder = tmp_path / "jpegs"
    for index in range(6):
        write_jpeg(folder / f"{index}.jpg", seed=index, keep=0.5)
    result = train_on(folder, "data.max_memory_mb=0", "data.workers=1", f"data.strict={strict}", cwd=tmp_path)
    expected = "cannot read image" if strict == "true" else "none of the 6 image files"
    assert_refused_in_one_line(result, expected, "truncated")


@pytest.mark.slow
def test_some_truncated_jpegs_in_a_streamed_folder_are_skipped(tmp_path):
    folder = tmp_path / "jpegs"
    for index in range(6):
        write_jpeg(folder / f"{index}.jpg", seed=index, keep=0.5 if index < 2 else 1.0)
    result = train_on(folder, "data.max_memory_mb=0", "data.workers=1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped 2 of 6 image files" in result.stdout + result.stderr


@pytest.mark.slow
def test_a_folder_named_with_spaces_commas_and_non_ascii_trains(tmp_path):
    folder = tmp_path / "josé's photos, 2024"
    for index in range(3):
        write_png(folder / f"é {index}.png", 8, 8, mode="L", seed=index)
    result = train_on(folder, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["empty", "non_images", "file", "missing"])
def test_folders_without_images_are_one_line(tmp_path, kind):
    folder = tmp_path / ("image.png" if kind == "file" else "images")
    if kind == "file":
        write_png(folder, 8, 8)
    elif kind != "missing":
        folder.mkdir()
    if kind == "non_images":
        (folder / "notes.txt").write_text("no pictures")
    result = train_on(folder, cwd=tmp_path)
    expected = {"empty": "no images in", "non_images": "no images in", "file": "is a file"}
    assert_refused_in_one_line(result, expected.get(kind, "does not exist"))


@pytest.mark.slow
def test_gan_eval_with_n_beyond_a_2d_set_uses_the_sets_size(tmp_path):
    trained = run_gan(
        "train",
        "data=ring8",
        "recipe=gan",
        "data.n_points=500",
        *SHORT,
        *SMALL,
        cwd=tmp_path,
        timeout=LIMIT_S,
    )
    assert trained.returncode == 0, trained.stderr
    (run_dir,) = run_folders(tmp_path)
    out = tmp_path / "eval.json"
    result = run_gan("eval", f"ckpt={run_dir}", "n=100000", f"out={out}", cwd=tmp_path, timeout=LIMIT_S)
    assert result.returncode == 0, result.stderr
    assert "n=100,000 is more than the 500 points" in result.stderr
    assert json.loads(out.read_text())["n"] == 500
