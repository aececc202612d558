"""The offline feature extractor: a small CNN trained by gan_cli on the data set's own labeled
training split, the first time it is needed, then cached under <data.root>/gan_cli_cache/.

Its penultimate activations stand in for Inception features in FID, KID and precision/recall, and
its softmax gives the class coverage and the classifier score. Numbers computed with it compare
only with numbers from the same classifier file (its name carries a digest of the recipe); the
standard Inception features are what published numbers use.

Two conv layers and one hidden layer reach about 88% test accuracy on Fashion-MNIST (99% on MNIST)
after 2 epochs, which takes a minute or two on 2 CPU cores; the classic "classifier FID" papers
on MNIST use nets of this size.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_cli.data.batches import images_to_float
from gan_cli.errors import UserError
from gan_cli.metrics import cache

log = logging.getLogger("gan_cli.commands.eval")

# Bump when the architecture or the recipe changes: the cache key changes with it.
VERSION = 1
WIDTHS = (16, 32)
HIDDEN = 128
EPOCHS = 2
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
SEED = 0
# Folder sets have no test split: this share of the images, always the same ones, is held out to
# measure the accuracy.
HOLDOUT = 0.1
# Streaming (larger than memory) folders are trained on this many examples drawn from the stream.
STREAM_EXAMPLES = 60_000
# Data sets whose files have a test split (the others are folders: one set of images).
SPLIT_SETS = ("mnist", "fashion_mnist", "cifar10")


class SmallClassifier(nn.Module):
    """uint8 images (N, C, H, W) of any size -> (features (N, hidden), logits (N, classes))."""

    def __init__(self, channels: int, n_classes: int, widths: tuple[int, int] = WIDTHS, hidden: int = HIDDEN):
        super().__init__()
        first, second = widths
        self.body = nn.Sequential(
            nn.Conv2d(channels, first, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(first, second, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            # Any image size ends in the same 7x7 grid (28 -> 7 exactly), so one recipe fits all sets.
            nn.AdaptiveAvgPool2d(7),
            nn.Flatten(),
            nn.Linear(second * 49, hidden),
            nn.ReLU(),
        )
        self.head = nn.Linear(hidden, n_classes)
        self.num_features = hidden  # what torchmetrics looks for in an extractor
        self.n_classes = n_classes

    def features_and_logits(self, images_u8: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.body(images_to_float(images_u8))
        return hidden, self.head(hidden)

    def forward(self, images_u8: Tensor) -> Tensor:
        return self.features_and_logits(images_u8)[1]


def new_classifier(channels: int, n_classes: int, seed: int = SEED) -> SmallClassifier:
    """Initialized from `seed` under a forked RNG: building the extractor (to train it, or to load
    cached weights into it) must not move the training run's random streams, or a run's losses
    would depend on whether the cache existed before it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SmallClassifier(channels, n_classes)


@dataclass
class TrainedClassifier:
    model: SmallClassifier  # in eval mode, on the device
    accuracy: float
    accuracy_on: str  # "test split" or "10% held out"
    path: Path
    key: str
    weights_digest: str  # names the exact weights: the real-feature cache depends on them
    trained_now: bool


def recipe() -> dict[str, Any]:
    return {
        "version": VERSION,
        "widths": list(WIDTHS),
        "hidden": HIDDEN,
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "lr": LEARNING_RATE,
        "seed": SEED,
    }


def cache_path(data_cfg: Mapping[str, Any]) -> Path:
    key = cache.digest({"data": cache.data_identity(data_cfg), "recipe": recipe()})
    return cache.folder(data_cfg) / f"classifier-{data_cfg['name']}-{key}.pt"


def fit(
    images_u8: Tensor,
    labels: Tensor,
    n_classes: int,
    device: torch.device | str,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    on_batch: Callable[[], None] | None = None,
) -> SmallClassifier:
    """Train the classifier with Adam and cross-entropy; the same inputs give the same weights.
    epochs, batch_size, seed: None for the recipe's (EPOCHS, BATCH_SIZE, SEED).

    The global RNG is left as it was: a training run that evaluates draws the same batches as one
    that does not.
    """
    epochs = EPOCHS if epochs is None else epochs
    batch_size = BATCH_SIZE if batch_size is None else batch_size
    seed = SEED if seed is None else seed
    model = new_classifier(int(images_u8.shape[1]), n_classes, seed).to(device)
    return train_epochs(model, model, images_u8, labels, LEARNING_RATE, epochs, batch_size, seed, on_batch)


def train_epochs(
    model: nn.Module,
    logits: Callable[[Tensor], Tensor],
    inputs: Tensor,
    labels: Tensor,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    on_batch: Callable[[], None] | None = None,
    min_batch: int = 1,
) -> nn.Module:
    """Adam and cross-entropy over `inputs` in a seeded order, `epochs` times: the training of
    every extractor classifier (images here, log-mels in audio_classifier). `logits` maps a batch
    to class scores; batches smaller than `min_batch` are skipped."""
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        permutation = torch.randperm(inputs.shape[0], generator=order)
        for index in permutation.split(batch_size):
            if index.shape[0] < min_batch:
                continue
            index = index.to(inputs.device)
            loss = F.cross_entropy(logits(inputs[index].to(device)), labels[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if on_batch is not None:
                on_batch()
    return model.eval()


@torch.no_grad()
def accuracy_of(
    model: nn.Module, logits: Callable[[Tensor], Tensor], inputs: Tensor, labels: Tensor, batch_size: int
) -> float:
    """The share of `inputs` whose highest class score is their label."""
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, inputs.shape[0], batch_size):
        predicted = logits(inputs[start : start + batch_size].to(device)).argmax(dim=1).cpu()
        correct += int((predicted == labels[start : start + batch_size].cpu()).sum())
    return correct / max(int(inputs.shape[0]), 1)


def accuracy(model: SmallClassifier, images_u8: Tensor, labels: Tensor, batch_size: int = 1000) -> float:
    return accuracy_of(model, model, images_u8, labels, batch_size)


def labeled_examples(batches: Any) -> tuple[Tensor, Tensor | None]:
    """All of an in-memory set's uint8 images and labels; for a streaming set, a fixed draw of them."""
    if hasattr(batches, "images"):
        return batches.images, batches.labels
    images, labels = [], []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        drawn = 0
        while drawn < STREAM_EXAMPLES:
            x, y = batches.next()
            images.append(x.add(1).mul(127.5).round_().clamp_(0, 255).to(torch.uint8).cpu())
            labels.append(None if y is None else y.cpu())
            drawn += x.shape[0]
    return torch.cat(images), None if labels[0] is None else torch.cat(labels)


def _build_split(data_cfg: Mapping[str, Any], split: str, device: torch.device | str) -> Any:
    from gan_cli import data
    from gan_cli.data.config_fields import FULL_SET

    # the whole data set, whatever data.classes / data.limit a run trains on: the classifier's
    # cache key (cache.data_identity) names the data set, not a subset of it
    return data.build(SimpleNamespace(**{**data_cfg, **FULL_SET, "split": split}), device, BATCH_SIZE)


def _no_labels(data_cfg: Mapping[str, Any]) -> UserError:
    where = f" at {data_cfg.get('path')}" if data_cfg.get("path") else ""
    return UserError(
        f"features=classifier needs class labels and data={data_cfg['name']}{where} has none "
        "(no class subfolders); use features=inception"
    )


def _training_data(data_cfg: Mapping[str, Any], device: torch.device | str):
    """(train images, train labels, accuracy images, accuracy labels, n_classes, accuracy_on)."""
    train_set = _build_split(data_cfg, "train", device)
    if train_set.n_classes == 0:
        raise _no_labels(data_cfg)
    images, labels = labeled_examples(train_set)
    if data_cfg["name"] in SPLIT_SETS:
        test_images, test_labels = labeled_examples(_build_split(data_cfg, "test", device))
        return images, labels, test_images, test_labels, train_set.n_classes, "test split"
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(SEED))
    held = max(1, math.floor(HOLDOUT * images.shape[0])) if images.shape[0] > 1 else 0
    test_index, train_index = order[:held].to(images.device), order[held:].to(images.device)
    return (
        images[train_index],
        labels[train_index],
        images[test_index],
        labels[test_index],
        train_set.n_classes,
        f"{HOLDOUT:.0%} held out",
    )


def _weights_digest(model: nn.Module) -> str:
    blob = b"".join(t.detach().cpu().contiguous().numpy().tobytes() for t in model.state_dict().values())
    return cache.digest(blob)


def _from_payload(
    payload: dict[str, Any], path: Path, device: torch.device | str
) -> TrainedClassifier | None:
    try:
        model = new_classifier(int(payload["channels"]), int(payload["n_classes"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        log.warning("ignoring the cached classifier %s (%s)", path, str(error).splitlines()[0][:200])
        return None
    model = model.to(device).eval()
    return TrainedClassifier(
        model,
        float(payload["accuracy"]),
        str(payload.get("accuracy_on", "test split")),
        path,
        path.stem,
        _weights_digest(model),
        trained_now=False,
    )


def load_or_train(
    data_cfg: Mapping[str, Any],
    device: torch.device | str,
    note: Callable[[str], None] = log.info,
    bar: Any = None,
) -> TrainedClassifier:
    """The cached classifier of this data set, or a new one trained, measured and cached.

    bar: opens a progress bar, bar(description, total) -> gan_cli.outputs.progress.Bar, or None.
    """
    path = cache_path(data_cfg)
    payload = cache.load(path)
    if payload is not None:
        loaded = _from_payload(payload, path, device)
        if loaded is not None:
            return loaded

    train_images, train_labels, test_images, test_labels, n_classes, accuracy_on = _training_data(
        data_cfg, device
    )
    name = data_cfg["name"]
    note(
        f"training the evaluation classifier on {name} ({train_images.shape[0]:,} images, "
        f"{EPOCHS} epochs; once, then cached)"
    )
    started = time.perf_counter()
    if bar is None:
        model = fit(train_images, train_labels, n_classes, device)
    else:
        with bar("training the classifier", EPOCHS * math.ceil(train_images.shape[0] / BATCH_SIZE)) as shown:
            model = fit(train_images, train_labels, n_classes, device, on_batch=shown.advance)
    score = accuracy(model, test_images, test_labels) if test_images.shape[0] else float("nan")
    seconds = time.perf_counter() - started
    saved = cache.save(
        {
            "kind": "gan_cli evaluation classifier",
            "data": cache.data_identity(data_cfg),
            "recipe": recipe(),
            "channels": int(train_images.shape[1]),
            "n_classes": n_classes,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "accuracy": score,
            "accuracy_on": accuracy_on,
            "train_examples": int(train_images.shape[0]),
            "train_seconds": seconds,
        },
        path,
    )
    note(
        f"evaluation classifier: accuracy {score:.2%} on the {accuracy_on} ({seconds:.0f} s)"
        + (f"; cached in {saved}" if saved else "")
    )
    return TrainedClassifier(
        model, score, accuracy_on, path, path.stem, _weights_digest(model), trained_now=True
    )
