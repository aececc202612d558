"""GPU throughput figures for the README: eager vs bf16 vs torch.compile, mlp/mnist batch 256 and
dcgan/cifar10 batch 128, each against its bare loop. Data are random images in the MNIST and
CIFAR-10 file formats (throughput does not depend on pixel values), read by torchvision's classes.

    python benchmarks/gpu_figures.py OUT.json
"""

import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
try:
    importlib.import_module("gan_cli.configs")
except ImportError:  # running from a plain checkout (not pip-installed): configs/ is gan_cli.configs
    sys.modules["gan_cli.configs"] = importlib.import_module("configs")

import torch  # noqa: E402
import torchvision  # noqa: E402

from benchmarks.throughput import measure  # noqa: E402
from tests.data.fakes import write_cifar_set, write_idx_set  # noqa: E402

# GAN_BENCH_DEVICE=cpu GAN_BENCH_STEPS=3 dry-runs the script without a GPU
DEVICE = os.environ.get("GAN_BENCH_DEVICE", "cuda")
STEPS = int(os.environ.get("GAN_BENCH_STEPS", "300"))
VARIANTS = [
    ("mlp/mnist bs256", ["model=mlp", "data=mnist", "trainer.batch_size=256"]),
    ("dcgan/cifar10 bs128", ["model=dcgan", "data=cifar10", "trainer.batch_size=128"]),
]
SWITCHES = [
    ("eager fp32", ["trainer.precision=32", "trainer.compile=false"]),
    ("eager bf16", ["trainer.precision=bf16", "trainer.compile=false"]),
    ("compile fp32", ["trainer.precision=32", "trainer.compile=true"]),
    ("compile bf16", ["trainer.precision=bf16", "trainer.compile=true"]),
]


def main() -> None:
    out = Path(sys.argv[1])
    root = Path(tempfile.mkdtemp()) / "data"
    write_idx_set(root / "MNIST" / "raw", train_count=60_000, test_count=10)
    md5 = write_cifar_set(root / torchvision.datasets.CIFAR10.base_folder, per_train_batch=10_000)["md5"]
    cifar = torchvision.datasets.CIFAR10
    cifar.train_list = [[name, md5[name]] for name, _ in cifar.train_list]
    cifar.test_list = [[name, md5[name]] for name, _ in cifar.test_list]
    cifar.meta = {**cifar.meta, "md5": md5["batches.meta"]}
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "gpu": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "none",
        "torch": torch.__version__,
        "rows": [],
    }
    for name, overrides in VARIANTS:
        for switch_name, switches in SWITCHES:
            started = time.time()
            try:
                row = measure(
                    [*overrides, *switches, f"device={DEVICE}", f"data.root={root}", "data.download=false"],
                    warmup=40, steps=STEPS, repeats=1, bare=switch_name == "eager fp32",
                )  # fmt: skip
            except Exception as error:  # one failing variant must not lose the others
                row = {"error": f"{type(error).__name__}: {error}"[:300]}
            row.update(variant=name, switch=switch_name, seconds=round(time.time() - started, 1))
            results["rows"].append(row)
            out.write_text(json.dumps(results, indent=2))
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
