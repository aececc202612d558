"""WaveGAN: Donahue, McAuley & Puckette 2019, "Adversarial Audio Synthesis" (ICLR 2019,
arXiv:1802.04208): DCGAN's layout flattened to one dimension, for raw waveforms.

G (the paper's Table 3, d = ``width``): z (100) -> dense to 16 x 16d, reshape, ReLU, then five
transposed 1-D convolutions of kernel 25 and stride 4 with ReLU between them, channels
16d -> 8d -> 4d -> 2d -> d -> 1, and tanh: 16 * 4**5 = 16384 samples (about 1 s at 16 kHz).
D (Table 4) mirrors it: five 1-D convolutions of kernel 25 and stride 4 (1 -> d -> ... -> 16d),
each followed by LeakyReLU 0.2, and after each LeakyReLU but the last a phase shuffle (sec. 3.3),
then a reshape to 256d numbers and a dense layer to one logit. No BatchNorm anywhere: the paper
trains with WGAN-GP, whose penalty must not see one sample's gradient depend on the others.

65536 samples (about 4 s): one more stride-4 layer at the deep end, so G's dense layer makes
16 x 32d and six transposed convolutions go 32d -> 16d -> ... -> d -> 1 (16 * 4**6 = 65536); D
gets a sixth convolution to 32d and its dense layer reads 16 x 32d. This keeps the paper's
first map (16 steps) and its channels near the output, which set what the short kernels hear,
and is the layout of the authors' released code for 65536-sample slices (a 32d deepest layer).

Lengths work out exactly with padding 11: a transposed conv of kernel 25, stride 4, padding 11 and
output padding 1 maps L to (L - 1) * 4 - 22 + 25 + 1 = 4L; a conv of kernel 25, stride 4 and
padding 11 maps L (a multiple of 4) to floor((L - 3) / 4) + 1 = L / 4.

Phase shuffle (sec. 3.3): D's activations of each example are shifted in time by its own random
whole number of steps k in [-n, n], the gap filled by reflection, so D cannot tell real from fake
by the phase of the periodic artefacts transposed convolutions leave. As in the paper it applies
while D trains; in eval mode (module.eval()) D is deterministic, like dropout.

Init: Glorot (Xavier) uniform weights and zero biases, the defaults of the TensorFlow layers the
paper's nets are written with.

Class conditioning (``cond``, gan_cli.models.conditioning), for labelled folders (class
subfolders): concat and acgan join a class embedding to z at G's dense layer; projection gives G a
per-class gain and bias after its dense layer and each hidden transposed conv (G has no BatchNorm
to make conditional, as dcgan with g_batchnorm=false) and D's logit psi(phi) + <embed(y), phi> on
the flattened features its dense layer reads; acgan's class head reads the same features; concat
joins each sample's embedding as cond_dim constant channels beside its waveform at D's input.

The schema, ranges and registration are read at startup; torch is imported by the builder (the
layers are defined on first use, ``layers()``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

from gan_cli.errors import UserError
from gan_cli.models import conditioning
from gan_cli.models.conditioning import DEFAULT_COND_DIM
from gan_cli.models.sizes import LATENT, SLOPE
from gan_cli.registry import MODELS, Range


@dataclass
class WaveGANConfig:
    name: str = "wavegan"
    z_dim: int = 100  # the paper's
    # d in the paper's tables: channels of G's last hidden layer and D's first; the deepest layer
    # has 16 d (32 d at 65536 samples). The paper's d = 64 is ~19M parameters per network and a
    # step of 16 clips takes seconds on 2 CPU cores (see the README's figures); 16 keeps the same
    # layout at 1/16 of the multiply-adds, so the default run fits a CPU. model.width=64 is the paper.
    width: int = 16
    phase_shuffle: int = 2  # n of sec. 3.3: D's layers shift each example by up to n steps; 0: off
    slope: float = 0.2  # LeakyReLU's negative slope in D
    cond: str = "none"  # class conditioning: none, concat, projection or acgan (needs labelled data)
    cond_dim: int = DEFAULT_COND_DIM  # class embedding joined to z (concat, acgan) and to D's input (concat)


KERNEL = 25
STRIDE = 4
PADDING = 11  # with output_padding 1 in G: exactly 4x per layer (see the module docstring)
BASE = 16  # steps of G's first map and of D's last
# Clip length -> layers (each a 4x change of length): 16384 is the paper's, 65536 one layer more.
LAYERS = {16_384: 5, 65_536: 6}
LENGTHS = tuple(LAYERS)
MAX_PHASE_SHUFFLE = 16  # D's shortest shuffled map has 64 steps; reflection needs n below that


def hidden_channels(length: int, width: int) -> list[int]:
    """Channels of G's maps from the dense layer's to the one before the output, deepest first:
    [16d, 8d, 4d, 2d, d] at 16384, [32d, ..., d] at 65536. D uses them in reverse."""
    n = LAYERS[length]
    return [width * 2 ** (n - 1 - i) for i in range(n)]


def _clip_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 2:
        raise UserError(
            f"model=wavegan needs audio data (channels, samples), got data of shape {shape}; "
            "use model=dcgan for images or model=mlp for points"
        )
    channels, length = shape
    if length not in LAYERS:
        raise UserError(
            f"model=wavegan makes clips of {' or '.join(map(str, LENGTHS))} samples, got {length}; "
            f"set data.length={LENGTHS[0]} (about 1 s at 16 kHz) or {LENGTHS[1]}"
        )
    return channels, length


def size(cfg: Any, elements: int | None) -> tuple[int, int]:
    """(parameters, numbers per example in one step) from the layout; the clip length is read from
    ``elements`` (one channel), 16384 otherwise."""
    length = elements if elements in LAYERS else LENGTHS[0]
    channels = hidden_channels(length, int(cfg.width))
    z_dim = int(cfg.z_dim)
    # the convolutions' weights (G's and D's mirror each other), G's dense layer from z, D's to 1
    convs = sum(a * b for a, b in zip(channels[:-1], channels[1:], strict=True)) + channels[-1]
    parameters = 2 * KERNEL * convs + (z_dim + 2) * BASE * channels[0]
    steps = [BASE * STRIDE**i for i in range(len(channels))]
    activations = sum(c * s for c, s in zip(channels, steps, strict=True)) + length
    return parameters, 3 * activations  # G's maps, and D's over real and fake


@MODELS.register(
    "wavegan",
    schema=WaveGANConfig,
    summary="1-D transposed-conv G, phase-shuffle D (Donahue et al. 2019); clips of 16384 or 65536 samples",
    ranges={
        "z_dim": LATENT,
        "width": Range(1, 512, note="16 x width channels at the deepest layer, 32 x width at 65536 samples"),
        "phase_shuffle": Range(0, MAX_PHASE_SHUFFLE, note="steps each way; 0 switches it off"),
        "slope": SLOPE,
        **conditioning.RANGES,
    },
    kinds=("audio",),
    size=size,
)
def build_wavegan(cfg, shape: tuple[int, ...], n_classes: int = 0, pack: int = 1):
    from torch import nn

    from gan_cli.models.common import Generator, LabeledSequential, assemble_discriminator

    clip_channels, length = clip_shape = _clip_shape(tuple(shape))
    c = MODELS.settings(cfg, "wavegan")
    conditioning.check_labels(c.cond, n_classes)
    cond, projection = c.cond, c.cond == "projection"
    parts = layers()
    channels = hidden_channels(length, c.width)

    def up(c_in: int, c_out: int, bias: bool = True) -> nn.ConvTranspose1d:
        return nn.ConvTranspose1d(c_in, c_out, KERNEL, STRIDE, PADDING, output_padding=1, bias=bias)

    def hidden(out_ch: int) -> list[nn.Module]:
        # projection: the per-class gain and bias before each ReLU (its bias makes the layer's redundant)
        return ([parts.ClassAffine(out_ch, n_classes)] if projection else []) + [nn.ReLU()]

    # G, z (N, z_dim) -> clips (N, C, length) in [-1, 1]
    latent = c.z_dim + (c.cond_dim if cond in conditioning.EMBEDS_IN_G else 0)
    g_layers: list[nn.Module] = [
        nn.Linear(latent, BASE * channels[0], bias=not projection),
        nn.Unflatten(1, (channels[0], BASE)),
        *hidden(channels[0]),
    ]
    for in_ch, out_ch in zip(channels[:-1], channels[1:], strict=True):
        g_layers += [up(in_ch, out_ch, bias=not projection), *hidden(out_ch)]
    g_layers += [up(channels[-1], clip_channels), nn.Tanh()]
    net = LabeledSequential(*g_layers) if projection else nn.Sequential(*g_layers)
    embed = nn.Embedding(n_classes, c.cond_dim) if cond in conditioning.EMBEDS_IN_G else None
    generator = Generator(
        net, clip_shape, c.z_dim, latent_shape=(latent,), cond=cond, n_classes=n_classes, embed=embed
    )
    generator.apply(parts.init_glorot)

    # D, clips (N, C, length) or packs of them stacked on the channels (PacGAN) -> raw logits (N,).
    # concat: Discriminator joins each sample's embedding to its flattened samples (its 1-D case);
    # JoinedChannels turns that back into the waveform's channels plus cond_dim constant ones.
    d_channels = channels[::-1]
    joined = c.cond_dim if cond == "concat" else 0
    d_layers: list[nn.Module] = [parts.JoinedChannels(clip_shape, joined, pack)] if joined else []
    in_ch = (clip_channels + joined) * pack
    for i, out_ch in enumerate(d_channels):
        d_layers += [nn.Conv1d(in_ch, out_ch, KERNEL, STRIDE, PADDING), nn.LeakyReLU(c.slope)]
        if i < len(d_channels) - 1 and c.phase_shuffle:  # none after the last conv (Table 4)
            d_layers.append(parts.PhaseShuffle(c.phase_shuffle))
        in_ch = out_ch
    d_layers.append(nn.Flatten())
    phi_size = BASE * d_channels[-1]  # the paper's reshape to 256d (512d at 65536)
    head = nn.Linear(phi_size, 1)
    classes = nn.Linear(phi_size, pack * n_classes) if cond == "acgan" else None
    discriminator = assemble_discriminator(
        d_layers, head, clip_shape, pack, cond=cond, n_classes=n_classes, cond_dim=c.cond_dim,
        phi_size=phi_size, class_head=classes,
    )  # fmt: skip
    discriminator.apply(parts.init_glorot)
    return generator, discriminator


def phase_shuffle(x: Any, n: int, generator: Any = None) -> Any:
    """Donahue et al. 2019, sec. 3.3: each example of ``x`` (N, C, L) shifted in time by its own
    random k, uniform on -n..n: out[..., t] = x[..., t - k], where t - k falls outside 0..L-1 the
    value reflected about the edge (x[-j] = x[j], x[L-1+j] = x[L-1-j]). n=0: ``x`` itself.
    ``generator``: a torch.Generator on x's device to draw the shifts from (default torch's)."""
    if n == 0:
        return x
    import torch
    from torch.nn import functional as F

    rows, channels, length = x.shape
    shifts = torch.randint(-n, n + 1, (rows, 1, 1), device=x.device, generator=generator)
    padded = F.pad(x, (n, n), mode="reflect")  # padded[i] = x[i - n], reflected
    index = torch.arange(length, device=x.device) + (n - shifts)  # padded[t + n - k] = x[t - k]
    return padded.gather(2, index.expand(rows, channels, length))


@functools.cache
def layers() -> Any:
    """The family's own torch modules, defined on first use so that importing this module, which
    registers the family at startup, does not import torch."""
    import torch
    from torch import nn

    class PhaseShuffle(nn.Module):
        """phase_shuffle(x, n) while training; the identity in eval mode."""

        def __init__(self, n: int):
            super().__init__()
            self.n = int(n)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return phase_shuffle(x, self.n) if self.training else x

        def extra_repr(self) -> str:
            return f"n={self.n}"

    class ClassAffine(nn.Module):
        """A per-class gain and bias on (N, C, L) maps, x * gain[y] + bias[y], initialised to the
        identity: conditional BatchNorm's affine without the normalization (projection's G)."""

        takes_labels = True

        def __init__(self, features: int, n_classes: int):
            super().__init__()
            self.gain = nn.Embedding(n_classes, features)
            self.bias = nn.Embedding(n_classes, features)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)
            self.features = features

        def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            view = (-1, self.features, 1)
            gain = self.gain(labels).view(view).to(x.dtype)
            return torch.addcmul(self.bias(labels).view(view).to(x.dtype), x, gain)

    class JoinedChannels(nn.Module):
        """concat's D input: rows of ``pack`` samples, each its C x L numbers then its cond_dim
        embedding (Discriminator._join's flat layout), -> (rows, pack * (C + cond_dim), L), each
        sample's waveform channels followed by its embedding held constant over time."""

        def __init__(self, shape: tuple[int, int], cond_dim: int, pack: int):
            super().__init__()
            self.channels, self.length = shape
            self.cond_dim, self.pack = cond_dim, pack

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rows, samples = x.shape[0], self.channels * self.length
            flat = x.view(rows, self.pack, samples + self.cond_dim)
            waves = flat[..., :samples].reshape(rows, self.pack, self.channels, self.length)
            maps = flat[..., samples:, None].expand(-1, -1, -1, self.length)
            return torch.cat((waves, maps), dim=2).reshape(rows, -1, self.length)

    def init_glorot(module: nn.Module) -> None:
        """Glorot uniform weights and zero biases on dense and (transposed) conv layers; class
        embeddings keep their own init."""
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.ConvTranspose1d)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    return _Layers(PhaseShuffle, ClassAffine, JoinedChannels, init_glorot)


class _Layers(NamedTuple):
    PhaseShuffle: Any
    ClassAffine: Any
    JoinedChannels: Any
    init_glorot: Any
