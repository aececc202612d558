"""Feature extractors: uint8 images (int16 clips for audio) in, (features, class probabilities) out.

- classifier: gan_cli's own small CNN trained on the data set (classifier.py). Works offline.
  For audio data, a CNN on log-mel spectrograms trained on the folder's classes
  (audio_classifier.py), cached the same way; inception does not apply to audio.
- inception: the Inception-v3 weights every published FID uses (the TensorFlow graph of
  2015-12-05, ported to PyTorch; torch-fidelity's copy of them), fetched on first use into torch's
  hub cache. Its 2048-d pool features and its softmax over the 1008 logits (Inception Score).

Every result names the extractor it was computed with: numbers from different extractors do not
compare. Each extractor registers its builder in gan_cli.registry.EXTRACTORS (what features=
accepts); this module imports torch only inside its functions, so reading the registry is cheap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_cli.errors import UserError
from gan_cli.registry import EXTRACTORS

if TYPE_CHECKING:
    import torch
    from torch import Tensor

log = logging.getLogger("gan_cli.commands.eval")

INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
# A mirror for machines that cannot reach the URL above: any URL urllib opens, file:// included.
URL_VARIABLE = "GAN_INCEPTION_URL"
# urllib waits without limit by default; behind a firewall that drops packets that is minutes.
FETCH_TIMEOUT_S = 15.0


class Extractor:
    """What the metrics need from an extractor. Subclasses set the attributes and `_forward`."""

    name: str  # "classifier" or "inception": the name results carry
    ident: str  # names the exact weights, for cache keys
    num_features: int
    n_classes: int  # > 0 when the probabilities are over the data set's own classes (coverage)
    has_probs: bool  # class probabilities are available (score)
    batch_size: int  # images per forward pass, at most
    info: dict[str, Any]  # facts for the results (e.g. the classifier's accuracy)

    def __call__(self, images_u8: Tensor) -> tuple[Tensor, Tensor | None]:
        """uint8 (N, C, H, W) -> float32 features (N, num_features) and probabilities, on the CPU."""
        import torch

        features, probs = [], []
        with torch.no_grad():
            for chunk in images_u8.split(self.batch_size):
                f, p = self._forward(chunk)
                features.append(f.float().cpu())
                probs.append(None if p is None else p.float().cpu())
        return torch.cat(features), None if probs[0] is None else torch.cat(probs)

    def _forward(self, images_u8: Tensor) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def encode(self, samples: Tensor) -> Tensor:
        """Samples in [-1, 1] -> what __call__ takes (uint8 images here; int16 clips for audio)."""
        from gan_cli.outputs.images import to_uint8

        return to_uint8(samples)


class ClassifierExtractor(Extractor):
    name = "classifier"
    has_probs = True
    batch_size = 1000

    def __init__(self, trained) -> None:
        self.model = trained.model
        self.device = next(self.model.parameters()).device
        self.num_features = self.model.num_features
        self.n_classes = self.model.n_classes
        self.ident = f"{trained.key}-{trained.weights_digest}"
        self.info = {
            "classifier": str(trained.path),
            "classifier_accuracy": trained.accuracy,
            "classifier_accuracy_on": trained.accuracy_on,
        }

    def _forward(self, images_u8: Tensor) -> tuple[Tensor, Tensor]:
        features, logits = self.model.features_and_logits(images_u8.to(self.device))
        return features, logits.softmax(dim=1)


class AudioClassifierExtractor(ClassifierExtractor):
    """The audio classifier (audio_classifier.py): int16 clips (N, 1, L) in, the way the audio
    folder stores them. Fewer clips per pass: a 65536-sample clip's spectrogram work is 4 images'."""

    batch_size = 250

    def encode(self, samples: Tensor) -> Tensor:
        from gan_cli.metrics.audio_classifier import to_int16

        return to_int16(samples)


class InceptionExtractor(Extractor):
    name = "inception"
    ident = "inception-2015-12-05"
    num_features = 2048
    n_classes = 0  # ImageNet's classes, not the data set's: no class coverage
    has_probs = True
    batch_size = 100

    def __init__(self, device: torch.device | str, weights: Path | None = None) -> None:
        import torch

        weights = inception_weights() if weights is None else weights
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError:
            raise UserError(
                "features=inception needs the torch-fidelity package (pip install torch-fidelity); "
                "or use features=classifier"
            ) from None
        # torch-fidelity reads the file with weights_only=False; reading it once with True first
        # makes sure the file holds only tensors.
        try:
            torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as error:
            raise UserError(
                f"{weights} is not a readable Inception weights file ({_short(error)}); "
                "delete it to fetch it again, or use features=classifier"
            ) from None
        self.model = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(weights)
        ).to(device)
        self.device = torch.device(device)
        self.info = {"inception_weights": str(weights)}

    def _forward(self, images_u8: Tensor) -> tuple[Tensor, Tensor]:
        x = images_u8.to(self.device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grayscale as RGB, as the Inception net was trained
        features, logits = self.model(x)
        return features, logits.softmax(dim=1)


def _short(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[-1].strip("<>") if lines else type(error).__name__
    return reason if len(reason) <= 160 else reason[:157] + "..."


@contextlib.contextmanager
def _bounded_sockets(timeout: float) -> Iterator[None]:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def inception_weights_path() -> Path:
    """Where torch's hub cache keeps the weights (also where torch-fidelity itself looks)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_URL.rsplit("/", 1)[1]


def inception_url() -> str:
    return os.environ.get(URL_VARIABLE) or INCEPTION_URL


def inception_weights() -> Path:
    """The cached weights file, fetched first when absent; one-line UserError when it cannot be."""
    import torch

    from gan_cli.outputs import atomic

    path = inception_weights_path()
    if path.is_file():
        return path
    url = inception_url()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log.info("fetching the FID Inception weights from %s", url)
        with _bounded_sockets(FETCH_TIMEOUT_S), atomic.replacing(path) as partial:
            torch.hub.download_url_to_file(url, str(partial), progress=False)
    except Exception as error:  # no network, DNS failure, timeout, HTTP error, full disk
        raise UserError(
            f"features=inception: cannot fetch the FID Inception weights from {url} "
            f"({_short(error)}); use features=classifier offline, or copy the file to {path}"
        ) from None
    return path


@EXTRACTORS.register("classifier", summary="gan_cli's own CNN trained on the data set (offline)")
def _classifier(
    data_cfg: Mapping[str, Any], device: Any, note: Callable[[str], None], bar: Callable | None
) -> Extractor:
    from gan_cli.metrics import audio_classifier, classifier

    if audio_classifier.is_audio_data(data_cfg):  # clips: the log-mel CNN, trained the same way
        return AudioClassifierExtractor(audio_classifier.load_or_train(data_cfg, device, note, bar))
    return ClassifierExtractor(classifier.load_or_train(data_cfg, device, note, bar))


@EXTRACTORS.register("inception", summary="the Inception-v3 of published FIDs (fetched once)")
def _inception(
    data_cfg: Mapping[str, Any], device: Any, note: Callable[[str], None], bar: Callable | None
) -> Extractor:
    check_applies("inception", data_cfg)
    return InceptionExtractor(device)


def check_applies(name: str, data_cfg: Mapping[str, Any], audio: bool | None = None) -> None:
    """One line where extractor `name` cannot read the data set's examples: Inception sees only
    images. audio: whether the data holds audio, where the caller knows already."""
    if name != "inception":
        return
    if audio is None:
        from gan_cli.metrics import audio_classifier

        audio = audio_classifier.is_audio_data(data_cfg)
    if audio:
        raise UserError(
            f"features=inception is for images and data={data_cfg.get('name')} holds audio clips; "
            "use features=classifier (a log-mel CNN trained on the folder's classes)"
        )


NAMES = tuple(EXTRACTORS.names())  # what features= accepts, registered above


def build(
    name: str,
    data_cfg: Mapping[str, Any],
    device: torch.device | str,
    note: Callable[[str], None] = log.info,
    bar: Callable | None = None,
) -> Extractor:
    """The extractor registered as `name`. bar: opens a progress bar, bar(description, total)
    (gan_cli.outputs.progress.Bar), for the work an extractor may do first (training a classifier)."""
    if name not in EXTRACTORS:
        raise UserError(f"features={name} is not valid; valid: {', '.join(EXTRACTORS.names())}")
    return EXTRACTORS.get(name).builder(data_cfg, device, note, bar)
