"""`gan sample` as plain Python: a checkpoint in, image files (or 2D points) out.

    paths = run(cfg, run_dir)   # cfg: the sample config (a DictConfig or any attribute object)

One module per step, in the order `run` takes them:

    loading.py       which checkpoint (a run folder means its best.pt, else last.pt) and the
                     generator rebuilt from it
    latents.py       the latents: one stream per seed, latent i the same for any n or batch size;
                     slerp walks for interpolation
    labels.py        class labels for conditional generators: class= / classes=, the class-row
                     grid, walks within one class (no random draw)
    generation.py    the generator over batches of latents, through gan_cli.models.contract
    destinations.py  what is written where (out=, the run folder), checked before any sampling
    writers.py       grid / scatter PNG, PNG folder, .npy, GIF
    command.py       `run`: the steps above as `gan sample` takes them

The same checkpoint and seed give byte-identical files whatever n or batch_size is (on one
device); latents.py and generation.py say how. torch is imported inside the functions: the
command's help and config errors stay fast.
"""

from gan_cli.sampling.command import run
from gan_cli.sampling.destinations import SUFFIX, plan_outputs
from gan_cli.sampling.generation import forward, generate, interpolate
from gan_cli.sampling.labels import GRID_CLASSES, ClassRequest, check_request, classes_for, request_of
from gan_cli.sampling.latents import (
    FORWARD_ROWS,
    NOISE_CHUNK,
    SAMPLE_STREAM_TAG,
    class_labels,
    interpolation_latents,
    latent_batches,
    latents,
    sample_seed,
    slerp,
    step_size,
)
from gan_cli.sampling.loading import CHECKPOINT_NAMES, Loaded, load_generator, real_source, resolve_checkpoint
from gan_cli.sampling.writers import (
    GIF_FRAME_MS,
    labels_path,
    write_gif,
    write_grid,
    write_labels,
    write_npy,
    write_png_folder,
    write_view,
)

__all__ = [
    "CHECKPOINT_NAMES", "FORWARD_ROWS", "GIF_FRAME_MS", "GRID_CLASSES", "NOISE_CHUNK",
    "SAMPLE_STREAM_TAG", "SUFFIX", "ClassRequest", "Loaded", "check_request", "class_labels",
    "classes_for", "forward", "generate", "interpolate", "interpolation_latents", "labels_path",
    "latent_batches", "latents", "load_generator", "plan_outputs", "real_source", "request_of",
    "resolve_checkpoint", "run", "sample_seed", "slerp", "step_size", "write_gif", "write_grid",
    "write_labels", "write_npy", "write_png_folder", "write_view",
]  # fmt: skip
