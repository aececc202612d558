"""The offline feature extractor for audio: a small CNN on log-mel spectrograms, trained by
gan_cli on the folder's own labels (its class subfolders) the first time it is needed, then cached
under <data.root>/gan_cli_cache/ exactly like the image classifier (gan_cli.metrics.classifier).

Clips (N, 1, L), int16 as the audio folder stores them (or float in [-1, 1]), become log-mel
spectrograms (64 mel bands, 1024-sample window, hop 256: 65 frames for L = 16384), standardized per
band with the training clips' statistics, then pass three conv blocks and one hidden layer. The 128
hidden activations stand in for Inception features in FID, KID and precision/recall (as the
"classifier FID" of the WaveGAN paper, Donahue et al. 2019, used a speech classifier for SC09);
the softmax over the folder's classes gives the class coverage and the classifier score. Numbers
computed with it compare only with numbers from the same classifier file.

The spectrograms of the training clips are computed once, so each epoch costs only the small
network: a few seconds per thousand one-second clips on 2 CPU cores.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gan_cli.data.spectrogram import log_mel  # the audio kind's view reads the same spectrogram
from gan_cli.errors import UserError
from gan_cli.metrics import cache, classifier

log = logging.getLogger("gan_cli.commands.eval")

# Bump when the architecture, the spectrogram or the recipe changes: the cache key changes with it.
VERSION = 1
N_MELS = 64
N_FFT = 1024
HOP = 256
WIDTHS = (16, 32, 64)
HIDDEN = 128
EPOCHS = 4
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
SEED = 0
HOLDOUT = classifier.HOLDOUT
# Streaming (larger than memory) folders are trained on this many clips drawn from the stream.
STREAM_EXAMPLES = 20_000
# Clips turned into spectrograms at a time (the STFT of 256 one-second clips is ~35 MB).
MEL_CHUNK = 256
INT16_SCALE = 32767.0  # the audio folder's storage scale (gan_cli.data.audio_folder)


def is_audio_shape(shape: Any) -> bool:
    """Audio examples are (channels, samples); images are (C, H, W) and 2D points (2,)."""
    return len(tuple(shape)) == 2


def is_audio_data(data_cfg: Mapping[str, Any]) -> bool:
    """Whether a data config holds audio: its registration's kind, else its example shape."""
    from gan_cli.data.shapes import data_shape
    from gan_cli.registry import DATA

    name = data_cfg.get("name")
    if name in DATA and DATA.get(name).facts.get("kind") == "audio":
        return True
    try:
        return is_audio_shape(data_shape(dict(data_cfg), look=False))
    except Exception:  # an unregistered set (an old checkpoint's plugin): not audio as far as known
        return False


def to_int16(clips: Tensor) -> Tensor:
    """Float clips in [-1, 1] -> int16, as the audio folder stores them (clamped; round half to
    even like numpy's rint, so a decoded clip and its stored copy give the same integers)."""
    return clips.clamp(-1, 1).mul(INT16_SCALE).round_().to(torch.int16)


def _as_float(clips: Tensor) -> Tensor:
    if clips.dtype == torch.int16:
        return clips.to(torch.float32).div_(INT16_SCALE).clamp_(-1.0, 1.0)
    return clips.to(torch.float32)


class AudioClassifier(nn.Module):
    """Clips (N, 1, L), int16 or float in [-1, 1] -> (features (N, hidden), logits (N, classes)).
    Any L ends in the same 4x4 grid after the conv blocks, so one recipe fits 16384 and 65536."""

    def __init__(
        self,
        n_classes: int,
        sample_rate: int,
        n_mels: int = N_MELS,
        widths: tuple[int, ...] | None = None,
        hidden: int | None = None,
    ) -> None:
        """widths, hidden: None for the recipe's (WIDTHS, HIDDEN), read when it is built."""
        super().__init__()
        widths = WIDTHS if widths is None else widths
        hidden = HIDDEN if hidden is None else hidden
        layers: list[nn.Module] = []
        channels = 1
        for index, width in enumerate(widths):
            # The first block halves the spectrogram with its stride instead of a pool: the
            # full-size activations were most of the training time on a CPU.
            if index == 0:
                layers += [
                    nn.Conv2d(channels, width, 3, stride=2, padding=1),
                    nn.BatchNorm2d(width),
                    nn.ReLU(),
                ]
            else:
                conv = nn.Conv2d(channels, width, 3, padding=1)
                layers += [conv, nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        self.body = nn.Sequential(
            *layers,
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(channels * 16, hidden),
            nn.ReLU(),
        )
        self.head = nn.Linear(hidden, n_classes)
        # per-band statistics of the training clips' log-mels (set by fit; saved with the weights)
        self.register_buffer("mel_mean", torch.zeros(n_mels, 1))
        self.register_buffer("mel_std", torch.ones(n_mels, 1))
        self.num_features = hidden  # what torchmetrics looks for in an extractor
        self.n_classes = n_classes
        self.sample_rate = int(sample_rate)
        self.n_mels = n_mels

    def mels(self, clips: Tensor) -> Tensor:
        return log_mel(_as_float(clips), self.sample_rate, n_mels=self.n_mels, n_fft=N_FFT, hop=HOP)

    def features_from_mels(self, mels: Tensor) -> Tensor:
        return self.body(((mels - self.mel_mean) / self.mel_std).unsqueeze(1))

    def features_and_logits(self, clips: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.features_from_mels(self.mels(clips))
        return hidden, self.head(hidden)

    def forward(self, clips: Tensor) -> Tensor:
        return self.features_and_logits(clips)[1]


def new_classifier(n_classes: int, sample_rate: int, seed: int = SEED) -> AudioClassifier:
    """Initialized from `seed` under a forked RNG, so building it (to train, or to load cached
    weights into) leaves a training run's random streams where they were."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AudioClassifier(n_classes, sample_rate)


def recipe() -> dict[str, Any]:
    return {
        "version": VERSION,
        "n_mels": N_MELS,
        "n_fft": N_FFT,
        "hop": HOP,
        "widths": list(WIDTHS),
        "hidden": HIDDEN,
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "lr": LEARNING_RATE,
        "seed": SEED,
    }


def _clip_facts(data_cfg: Mapping[str, Any]) -> dict[str, Any]:
    from gan_cli.data.shapes import data_shape

    return {
        "kind": "audio",
        "shape": list(data_shape(dict(data_cfg), look=False)),
        "sample_rate": int(data_cfg.get("sample_rate") or 16000),
    }


def cache_path(data_cfg: Mapping[str, Any]) -> Path:
    """classifier-<data>-<digest>.pt, the image classifier's scheme, with the clips' kind, shape
    and sample rate in the digest as well."""
    key = cache.digest({"data": cache.data_identity(data_cfg), **_clip_facts(data_cfg), "recipe": recipe()})
    return cache.folder(data_cfg) / f"classifier-{data_cfg['name']}-{key}.pt"


@torch.no_grad()
def log_mels(clips: Tensor, sample_rate: int, device: torch.device | str = "cpu") -> Tensor:
    """(N, n_mels, frames) float32 on `device`, computed MEL_CHUNK clips at a time."""
    chunks = [
        log_mel(_as_float(chunk.to(device)), sample_rate, n_mels=N_MELS, n_fft=N_FFT, hop=HOP)
        for chunk in clips.split(MEL_CHUNK)
    ]
    return torch.cat(chunks)


def fit(
    mels: Tensor,
    labels: Tensor,
    n_classes: int,
    sample_rate: int,
    device: torch.device | str,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    on_batch: Callable[[], None] | None = None,
) -> AudioClassifier:
    """Train on precomputed log-mels (log_mels) with Adam and cross-entropy; the same inputs give
    the same weights, and the global RNG is left as it was."""
    epochs = EPOCHS if epochs is None else epochs
    batch_size = BATCH_SIZE if batch_size is None else batch_size
    seed = SEED if seed is None else seed
    model = new_classifier(n_classes, sample_rate, seed).to(device)
    mels = mels.to(device)
    labels = labels.to(device)
    model.mel_mean.copy_(mels.mean(dim=(0, 2)).unsqueeze(1))
    model.mel_std.copy_(mels.std(dim=(0, 2)).clamp_min(1e-3).unsqueeze(1))
    # BatchNorm needs two examples: a single one left over at an epoch's end is skipped
    scores = _mel_logits(model)
    classifier.train_epochs(model, scores, mels, labels, LEARNING_RATE, epochs, batch_size, seed, on_batch, 2)
    return model


def _mel_logits(model: AudioClassifier) -> Callable[[Tensor], Tensor]:
    return lambda batch: model.head(model.features_from_mels(batch))


def accuracy_on_mels(model: AudioClassifier, mels: Tensor, labels: Tensor, batch_size: int = 500) -> float:
    return classifier.accuracy_of(model, _mel_logits(model), mels, labels, batch_size)


def _no_labels(data_cfg: Mapping[str, Any]) -> UserError:
    where = f" at {data_cfg.get('path')}" if data_cfg.get("path") else ""
    return UserError(
        f"features=classifier needs class labels and data={data_cfg['name']}{where} has none: "
        "put the clips in one subfolder per class (audio has no other extractor)"
    )


def labeled_mels(batches: Any, sample_rate: int, device: torch.device | str) -> tuple[Tensor, Tensor]:
    """The log-mels and labels of all of an in-memory set's clips; for a streaming set, of a fixed
    draw of STREAM_EXAMPLES clips (spectrograms made as they arrive: the clips are not kept)."""
    if hasattr(batches, "clips"):
        return log_mels(batches.clips, sample_rate, device), batches.labels
    mels, labels = [], []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        drawn = 0
        while drawn < min(STREAM_EXAMPLES, 10 * batches.num_examples):
            x, y = batches.next()
            mels.append(log_mels(x, sample_rate, device))
            labels.append(y)
            drawn += x.shape[0]
    return torch.cat(mels), torch.cat(labels)


def _training_data(data_cfg: Mapping[str, Any], device: torch.device | str):
    """(train mels, train labels, held-out mels, held-out labels, n_classes, sample_rate)."""
    train_set = classifier._build_split(data_cfg, "train", device)
    if train_set.n_classes == 0:
        raise _no_labels(data_cfg)
    sample_rate = int(getattr(train_set, "sample_rate", None) or data_cfg.get("sample_rate") or 16000)
    mels, labels = labeled_mels(train_set, sample_rate, device)
    order = torch.randperm(mels.shape[0], generator=torch.Generator().manual_seed(SEED))
    held = max(1, math.floor(HOLDOUT * mels.shape[0])) if mels.shape[0] > 1 else 0
    test_index, train_index = order[:held].to(mels.device), order[held:].to(mels.device)
    return (
        mels[train_index],
        labels[train_index],
        mels[test_index],
        labels[test_index],
        train_set.n_classes,
        sample_rate,
    )


def _from_payload(
    payload: dict[str, Any], path: Path, device: torch.device | str
) -> classifier.TrainedClassifier | None:
    try:
        model = new_classifier(int(payload["n_classes"]), int(payload["sample_rate"]))
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        log.warning("ignoring the cached classifier %s (%s)", path, str(error).splitlines()[0][:200])
        return None
    model = model.to(device).eval()
    return classifier.TrainedClassifier(
        model,
        float(payload["accuracy"]),
        str(payload.get("accuracy_on", f"{HOLDOUT:.0%} held out")),
        path,
        path.stem,
        classifier._weights_digest(model),
        trained_now=False,
    )


def load_or_train(
    data_cfg: Mapping[str, Any],
    device: torch.device | str,
    note: Callable[[str], None] = log.info,
    bar: Any = None,
) -> classifier.TrainedClassifier:
    """The cached audio classifier of this folder, or a new one trained, measured and cached.

    bar: opens a progress bar, bar(description, total) -> gan_cli.outputs.progress.Bar, or None.
    """
    path = cache_path(data_cfg)
    payload = cache.load(path)
    if payload is not None:
        loaded = _from_payload(payload, path, device)
        if loaded is not None:
            return loaded

    started = time.perf_counter()
    train_mels, train_labels, test_mels, test_labels, n_classes, sample_rate = _training_data(
        data_cfg, device
    )
    name = data_cfg["name"]
    note(
        f"training the evaluation classifier on {name} ({train_mels.shape[0]:,} clips as log-mel "
        f"spectrograms, {EPOCHS} epochs; once, then cached)"
    )
    if bar is None:
        model = fit(train_mels, train_labels, n_classes, sample_rate, device)
    else:
        with bar("training the classifier", EPOCHS * math.ceil(train_mels.shape[0] / BATCH_SIZE)) as shown:
            model = fit(train_mels, train_labels, n_classes, sample_rate, device, on_batch=shown.advance)
    score = accuracy_on_mels(model, test_mels, test_labels) if test_mels.shape[0] else float("nan")
    seconds = time.perf_counter() - started
    accuracy_on = f"{HOLDOUT:.0%} held out"
    saved = cache.save(
        {
            "kind": "gan_cli audio evaluation classifier",
            "data": cache.data_identity(data_cfg),
            **_clip_facts(data_cfg),
            "recipe": recipe(),
            "n_classes": n_classes,
            "sample_rate": sample_rate,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "accuracy": score,
            "accuracy_on": accuracy_on,
            "train_examples": int(train_mels.shape[0]),
            "train_seconds": seconds,
        },
        path,
    )
    note(
        f"evaluation classifier: accuracy {score:.2%} on the {accuracy_on} ({seconds:.0f} s)"
        + (f"; cached in {saved}" if saved else "")
    )
    return classifier.TrainedClassifier(
        model, score, accuracy_on, path, path.stem, classifier._weights_digest(model), trained_now=True
    )
