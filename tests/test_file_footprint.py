"""Files land only where the README says: the run folder, out=, the data root's cache and outputs/.

Every command runs with HOME, TMPDIR and the working folder inside one temporary tree, which is
compared before and after it: anything created, changed or deleted elsewhere is a stray file.
"""

import os
from pathlib import Path

import pytest

from tests.helpers import run_folders, run_gan

TINY = ["data=ring8", "trainer.steps=2", "model.g_hidden=[8]", "model.d_hidden=[8]", "trainer.progress=false",
        "trainer.log_every=1", "trainer.sample_every=1", "trainer.ckpt_every=1"]  # fmt: skip
# Settings that would send caches outside HOME, so that a stray one would go unseen.
ELSEWHERE = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "MPLCONFIGDIR", "TORCH_HOME", "HF_HOME")
# Loading torch._dynamo (the optimizers do) makes torch's compiler cache folder, empty, in TMPDIR.
TORCH_OWN = "torchinductor_"


def snapshot(root: Path) -> dict[str, tuple[int, int] | None]:
    entries = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            entries[os.path.join(folder, name)] = None
        for name in files:
            stat = os.stat(os.path.join(folder, name))
            entries[os.path.join(folder, name)] = (stat.st_size, stat.st_mtime_ns)
    return entries


def touched(before: dict, after: dict) -> set[Path]:
    changed = {p for p in after if p not in before or (after[p] != before[p] and after[p] is not None)}
    return {Path(p) for p in changed | (before.keys() - after.keys())}


class Tree:
    def __init__(self, root: Path):
        self.root, self.work, self.home = root, root / "work", root / "home"
        for folder in (self.work, self.home, root / "tmp"):
            folder.mkdir()
        self.env = {"HOME": str(self.home), "TMPDIR": str(root / "tmp")}  # ELSEWHERE: unset by `tree`

    def run(self, *args: str, allowed: tuple[str, ...] = ("outputs", "data"), code: int = 0):
        """Run `gan ARGS` in the work folder; every file it touches must lie under `allowed`."""
        before = snapshot(self.root)
        result = run_gan(*args, cwd=self.work, env=self.env)
        assert result.returncode == code, result.stderr
        roots = [self.work / a for a in allowed]
        changed = touched(before, snapshot(self.root))
        stray = [p for p in changed if not any(p.is_relative_to(r) for r in roots)]
        assert [p for p in stray if not self._torch_own(p)] == [], (args, sorted(stray))
        return result

    def _torch_own(self, path: Path) -> bool:
        in_tmp = path.parent == self.root / "tmp" and path.name.startswith(TORCH_OWN)
        return in_tmp and path.is_dir() and not any(path.iterdir())


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for key in ELSEWHERE:
        monkeypatch.delenv(key, raising=False)
    return Tree(tmp_path)


@pytest.mark.slow
def test_every_command_writes_only_where_documented(tree):
    tree.run("train", *TINY)
    (run_dir,) = run_folders(tree.work)
    tree.run("sample", f"ckpt={run_dir}", "n=4")
    tree.run("sample", f"ckpt={run_dir}", "n=4", "out=points.npy", "format=npy", allowed=("points.npy",))
    tree.run("sample", f"ckpt={run_dir}", "n=4", "out=mine", allowed=("mine",))
    tree.run("eval", f"ckpt={run_dir}", "n=50", allowed=(str(run_dir.relative_to(tree.work)),))
    tree.run("train", "-m", *TINY, "seed=1,2")
    (sweep,) = (tree.work / "outputs" / "multirun").glob("*/*")
    tree.run("sweeps", str(sweep), allowed=(str(sweep.relative_to(tree.work)),))
    refused = tree.run("train", *TINY, "trainer.steps=-1", allowed=(), code=2)
    assert refused.stderr.count("\n") == 1


@pytest.mark.slow
def test_out_with_a_file_suffix_is_never_made_a_folder(tree):
    tree.run("train", *TINY, "trainer.eval_every=0")
    (run_dir,) = run_folders(tree.work)
    for out in ("x.jpg", "x.png.jpg", "sub/x.jpeg"):
        refused = tree.run("sample", f"ckpt={run_dir}", "n=4", f"out={out}", allowed=(), code=2)
        assert refused.stderr.count("\n") == 1 and "give out=<name>.npy" in refused.stderr
        assert not (tree.work / out).exists() and not (tree.work / "sub").exists()
    folder = tree.run("sample", f"ckpt={run_dir}", "n=4", "out=x.jpg/", allowed=("x.jpg",))
    assert (tree.work / "x.jpg").is_dir() and folder.stdout.startswith("wrote x.jpg/")
