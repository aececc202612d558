"""How long `gan eval` takes once its caches are warm: generate + extract + compute.

    python benchmarks/eval_speed.py                               # fashion_mnist, gan train's default MLP G
    python benchmarks/eval_speed.py --ckpt outputs/<date>/<time>-mlp-fashion_mnist
    python benchmarks/eval_speed.py --process --ckpt outputs/...  # + the real command, start-up included
    python benchmarks/eval_speed.py --floor                       # + real vs real: train vs test split

A first Evaluator is built and thrown away (it trains and caches the classifier and the real
features when they are missing: that one-time cost is not what is measured). Then, --repeats times:
an Evaluator is built from the warm caches (data loading, classifier and real features read back)
and G is evaluated (n samples generated, their features extracted, every metric computed). The
figure is the median over the repeats of setup + evaluate; each part is printed too. Without
--ckpt, G is gan train's default MLP with its initial weights: the same cost as a trained one.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# As `gan eval` does (gan_cli/commands/dispatch.py): sleeping, not spinning, OpenMP waits; before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from gan_cli import evaluation, models, sampling  # noqa: E402


def default_generator(data_name: str, data_root: str) -> tuple[torch.nn.Module, dict]:
    from hydra import compose, initialize_config_module

    from gan_cli.commands.config import register_schemas

    register_schemas()
    with initialize_config_module(config_module="gan_cli.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"data={data_name}", f"data.root={data_root}"])
    config = OmegaConf.to_container(cfg, resolve=True)
    from gan_cli.data.shapes import data_shape

    torch.manual_seed(0)
    generator, _ = models.build(OmegaConf.create(config["model"]), data_shape(config["data"]))
    return generator.eval(), config["data"]


def timed(work):
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", help="a checkpoint or run folder; default: an untrained MLP G")
    parser.add_argument("--data", default="fashion_mnist", help="data set without --ckpt")
    parser.add_argument("--data-root", default=os.environ.get("GAN_DATA_DIR", "data"))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--features", default="classifier")
    parser.add_argument("--batch-size", type=int, default=evaluation.DEFAULT_BATCH_SIZE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--process", action="store_true", help="also time the `gan eval` command")
    parser.add_argument(
        "--floor", action="store_true", help="also real-vs-real: train split images vs test split"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    if args.ckpt:
        loaded = sampling.load_generator(sampling.resolve_checkpoint(args.ckpt), "cpu")
        generator, data_cfg = loaded.generator, {**loaded.data, "root": args.data_root}
    else:
        generator, data_cfg = default_generator(args.data, args.data_root)

    def build():
        return evaluation.Evaluator(
            data_cfg, args.features, "test", args.n, "cpu", args.batch_size, note=print
        )

    first_setup, evaluator = timed(build)  # may train the classifier: not counted
    print(f"first setup (trains and caches what is missing): {first_setup:.1f} s", file=sys.stderr)
    runs = []
    for repeat in range(args.repeats):
        setup, evaluator = timed(build)
        evaluate, results = timed(lambda evaluator=evaluator: evaluator.evaluate(generator, seed=0))
        runs.append(
            {"setup_s": setup, "evaluate_s": evaluate, "total_s": setup + evaluate, **evaluator.timings}
        )
        print(
            f"run {repeat + 1}: setup {setup:.1f} s + evaluate {evaluate:.1f} s = {setup + evaluate:.1f} s",
            file=sys.stderr,
        )
    figures = {
        "data": data_cfg["name"],
        "n": args.n,
        "features": args.features,
        "threads": torch.get_num_threads(),
        "median_total_s": statistics.median(r["total_s"] for r in runs),
        "median_evaluate_s": statistics.median(r["evaluate_s"] for r in runs),
        "median_setup_s": statistics.median(r["setup_s"] for r in runs),
        "median_parts_s": {key: statistics.median(r[key] for r in runs) for key in evaluator.timings},
        "results": results,
        "extractor": evaluator.describe(),
    }

    if args.process:
        if args.ckpt is None:
            sys.exit("--process needs --ckpt: the command reads a checkpoint")
        walls = []
        with tempfile.TemporaryDirectory() as scratch:
            command = [sys.executable, "-m", "gan_cli", "eval", f"ckpt={args.ckpt}", f"n={args.n}"]
            command += [f"features={args.features}", f"data_root={args.data_root}", f"out={scratch}"]
            for _ in range(args.repeats):
                wall, result = timed(lambda: subprocess.run(command, capture_output=True, text=True))
                if result.returncode != 0:
                    sys.exit(result.stderr)
                walls.append(wall)
        figures["command_median_s"] = statistics.median(walls)

    if args.floor:
        from types import SimpleNamespace

        from gan_cli import data

        train = data.build(SimpleNamespace(**{**data_cfg, "split": "train"}), "cpu", 1)
        images = train.real_sample(min(args.n, train.num_examples))
        figures["real_vs_real"] = evaluator.evaluate_samples(images, seed=0)

    if args.json:
        print(json.dumps(figures, indent=2))
        return
    total, setup, evaluate = (figures[f"median_{part}_s"] for part in ("total", "setup", "evaluate"))
    print(
        f"gan eval, {figures['data']}, n={args.n}, features={args.features}, {figures['threads']} threads: "
        f"median of {args.repeats}: {total:.1f} s"
        f" (setup {setup:.1f} s + generate/extract/compute {evaluate:.1f} s)"
    )
    print("parts:", ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in figures["median_parts_s"].items()))
    if "command_median_s" in figures:
        print(f"the whole `gan eval` command (start-up included): median {figures['command_median_s']:.1f} s")
    print("metrics:", ", ".join(f"{k} {v:.4g}" for k, v in figures["results"].items()))
    if "real_vs_real" in figures:
        print(
            "real vs real (train split vs test split):",
            ", ".join(f"{k} {v:.4g}" for k, v in figures["real_vs_real"].items()),
        )


if __name__ == "__main__":
    main()
