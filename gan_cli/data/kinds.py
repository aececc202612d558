"""What kind of samples a data set holds, and everything that follows from it: how samples are
shown, which metrics apply by default, what the trainer watches between evaluations.

A data source's batches carry their kind (`batches.kind`, a name); `kind_named(name)` gives the
object. Code outside this module asks the kind instead of testing `kind == "points"`. A new kind
registers with `register_kind`; audio clips live in gan_cli/data/audio_kind.py, imported at the end
of this module so that the registry always holds it. torch is imported inside the methods.
"""

from __future__ import annotations

from typing import Any

# Points drawn for a 2D scatter and the mode metrics of each log interval: enough to see every mode.
POINTS_SHOWN = 2500
SAMPLE_FORMATS = ("grid", "png", "npy")  # what format= means for images and points


def feature_metrics(n_classes: int, features: str = "classifier") -> list[str]:
    """The default metrics of kinds compared through a feature extractor (images, audio)."""
    # class coverage is over the data set's own classes, so it needs the classifier
    if n_classes <= 0:
        return ["fid", "kid", "pr"]
    if features == "classifier":
        return ["fid", "kid", "pr", "coverage", "score"]
    return ["fid", "kid", "pr", "score"]


def _refuse_format(kind: DataKind, fmt: str) -> None:
    from gan_cli.errors import UserError

    if fmt not in SAMPLE_FORMATS:
        raise UserError(
            f"format={fmt} does not apply: this checkpoint's samples are {kind.describe}; "
            f"use format={', '.join(SAMPLE_FORMATS)}"
        )


class DataKind:
    """The behaviour every kind provides. `source` is the real data (a Batches, or a set rebuilt
    from a checkpoint's data config): what a view or a metric compares the generated samples with."""

    name = ""
    describe = ""  # how the console names it: "images", "2D points"
    conv_layout = False  # True where channels_last can apply (image tensors)
    interpolates = False  # latent walks make sense (gan sample interpolate=true)
    # gan eval: True compares real and generated samples through a feature extractor (images);
    # False scores the samples themselves against the known source (the 2D mixtures' modes).
    compared_by_features = False
    view_needs_source = False  # `view` draws the real data too: the caller must build the source
    sample_dims = 0  # dimensions of one sample: points (D,) 1, clips (C, L) 2, images (C, H, W) 3
    shape_text = ""  # how a model error writes such a shape: "(C, H, W)"

    def shown(self, n_samples: int) -> int:
        """How many samples a training view shows (trainer.n_samples for grids)."""
        return n_samples

    def view(self, generated: Any, source: Any, nrow: int | None = None) -> Any:
        """A (3, H, W) picture in [0, 1] of `generated` (a grid, a scatter over the real data, ...)."""
        raise NotImplementedError

    def clip(self, generated: Any) -> Any:
        """Samples as written and scored: kinds with a fixed range clamp to it (in place)."""
        return generated

    def sample_rate(self, source: Any) -> int | None:
        """Samples per second where the samples are sounds (what they are played at), else None."""
        return None

    def write_samples(self, generated: Any, folder: Any, source: Any = None, labels: Any = None) -> list:
        """Beside the view, the samples themselves as files in `folder` (audio: one WAV per clip),
        returning the paths; kinds whose view is the sample (images, points) write nothing."""
        return []

    def interval_metrics(self, generated: Any, source: Any) -> dict[str, float]:
        """Cheap metrics the trainer adds to every log line (none for most kinds)."""
        return {}

    def scored_offline(self, n_classes: int) -> bool:
        """Whether metrics need nothing fetched: kinds compared through features need the
        classifier extractor, which trains on the data set's labels; the others score the samples."""
        return not self.compared_by_features or n_classes > 0

    @property
    def has_interval_metrics(self) -> bool:
        return type(self).interval_metrics is not DataKind.interval_metrics

    def default_metrics(self, n_classes: int, features: str = "classifier") -> list[str]:
        """What `gan eval` (and evaluation during training) computes when metrics= is not given."""
        raise NotImplementedError

    def output_roles(self, fmt: str, interpolate: bool = False, gif: bool = False) -> tuple[str, ...]:
        """What `gan sample` writes, main output first: "grid" or "scatter" (the view, a PNG),
        "folder" (one PNG per sample), "wav" (a folder, one sound file per sample), "npy" (the
        samples as an array), "gif" (an animated walk). fmt is the sample config's format= (grid,
        png, npy, wav); one the kind cannot write is a UserError."""
        raise NotImplementedError


class ImageKind(DataKind):
    name = "image"
    describe = "images"
    conv_layout = True
    interpolates = True
    compared_by_features = True
    sample_dims = 3
    shape_text = "(C, H, W)"

    def view(self, generated, source=None, nrow=None):
        from gan_cli.outputs import plots

        return plots.image_grid(generated, nrow=nrow)

    def clip(self, generated):
        return generated.clamp_(-1, 1)  # pixels: [-1, 1] is black to white

    def default_metrics(self, n_classes, features="classifier"):
        return feature_metrics(n_classes, features)

    def output_roles(self, fmt, interpolate=False, gif=False):
        _refuse_format(self, fmt)
        if interpolate:
            return ("grid", "gif") if gif else ("grid",)
        return {"grid": ("grid",), "png": ("folder",), "npy": ("npy",)}[fmt]


class PointsKind(DataKind):
    """2D mixtures (ring8, grid25): `source.modes` and `source.mode_std` describe the mixture."""

    name = "points"
    describe = "2D points"
    view_needs_source = True
    sample_dims = 1
    shape_text = "(D,)"

    def shown(self, n_samples):
        return POINTS_SHOWN

    def view(self, generated, source, nrow=None):
        from gan_cli.outputs import plots

        real = source.real_sample(min(generated.shape[0], source.num_examples))
        extent = float(source.modes.abs().max()) * 1.5  # every plot of a run uses the same frame
        return plots.scatter(real, generated, extent=extent)

    def interval_metrics(self, generated, source):
        from gan_cli.metrics.toy2d import mode_metrics

        return mode_metrics(generated, source.modes, source.mode_std)

    def default_metrics(self, n_classes, features="classifier"):
        return ["modes"]

    def output_roles(self, fmt, interpolate=False, gif=False):
        # a scatter shows the points over the real mixture; the .npy holds them (format=npy: only that)
        _refuse_format(self, fmt)
        return ("npy",) if fmt == "npy" else ("scatter", "npy")


KINDS: dict[str, DataKind] = {}


def register_kind(kind: DataKind) -> DataKind:
    if kind.name in KINDS:
        raise ValueError(f"data kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


register_kind(ImageKind())
register_kind(PointsKind())


def kind_named(name: str) -> DataKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown data kind {name!r}; known: {', '.join(KINDS)}") from None


def kind_of_shape(shape) -> DataKind:
    """The kind of a sample shape where only the shape is known (old checkpoints): vectors are
    points, (C, L) audio clips, (C, H, W) images."""
    dims = len(tuple(shape))
    return next((kind for kind in KINDS.values() if kind.sample_dims == dims), KINDS["image"])


def kind_of_data(data_cfg: Any, shape) -> DataKind:
    """The kind a data config records (`kind`, where a data source writes it), else the one its
    sample shape implies: what `gan sample` and `gan eval` ask about a checkpoint's data."""
    recorded = data_cfg.get("kind") if hasattr(data_cfg, "get") else getattr(data_cfg, "kind", None)
    return kind_named(str(recorded)) if recorded else kind_of_shape(shape)


# Last: audio_kind imports DataKind, feature_metrics and register_kind from here and registers itself.
import gan_cli.data.audio_kind  # noqa: E402, F401
