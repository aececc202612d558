"""What the model families' networks share: the generator and discriminator modules around a
family's layers, weight init, spectral norm, PacGAN packing, the minibatch-std layer, and the
class-conditioning layers (`model.cond`, gan_cli.models.conditioning): conditional BatchNorm,
the labels-passing Sequential, the projection embedding.

This module imports torch; a family's own file does not (it imports this one inside its builder),
so registering the families costs nothing at startup.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def init_dcgan_weights(module: nn.Module) -> None:
    """Radford et al. 2015, sec. 4: weights from N(0, 0.02). BN scales from N(1, 0.02)
    follow the DCGAN reference implementations (the paper does not say).

    Apply with ``model.apply(init_dcgan_weights)``. Class embeddings keep their own init: concat's
    N(0, 1) (the scale of z), conditional BatchNorm's gains 1 and biases 0, the projection's
    Glorot uniform; a BatchNorm without affine (conditional BatchNorm's) has nothing to set.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
        # N(1, 0.02) rather than N(0, 0.02): a near-zero scale would switch units off at start.
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018) on every Linear and Conv2d of ``module``,
    the output layer included: the paper bounds the Lipschitz constant of the whole D, which
    needs every layer's. A projection discriminator's class embedding (ClassProjection) is
    normalized too, as in Miyato & Koyama's code (SNEmbedID); concat's input embedding is not (D's
    input is not either). Unconditional models have no ClassProjection: unchanged. Returns ``module``.

    Call after the weights are initialized: the parametrization then normalizes the initial
    weights (and its power iteration starts from them). The parametrization API, unlike the
    older torch.nn.utils.spectral_norm hook, keeps the state_dict plain tensors
    (``...parametrizations.weight.original``, ``_u``, ``_v``), loadable with weights_only.
    """
    layers = [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d, ClassProjection))]
    for layer in layers:
        spectral_norm(layer)
    return module


def pack_samples(x, pack: int):
    """PacGAN (Lin et al. 2018, sec. 3): D judges ``pack`` samples at once, concatenated along the
    features of a vector or the channels of an image. Consecutive samples form one pack, so a
    batch of real then fake samples packs real with real and fake with fake when ``pack`` divides
    each part. (N, F) -> (N / pack, pack * F); (N, C, H, W) -> (N / pack, pack * C, H, W).
    A view, no copy, for a contiguous batch; pack=1 returns ``x`` itself."""
    if pack == 1:
        return x
    if x.shape[0] % pack:
        raise ValueError(f"a batch of {x.shape[0]} cannot be split into packs of {pack}")
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])


class MinibatchStd(nn.Module):
    """Karras et al. 2018 (ProGAN, sec. 3): the standard deviation of each feature (and pixel)
    over the batch, averaged to one number and appended as one more constant feature (map), so
    D can see a batch with too little variety. Over the whole batch (a group of all samples).

    D's batch must then hold one kind of sample: the trainer does not fuse real and fake in one
    D forward when D has this layer (``mixes_batch``), as with BatchNorm."""

    mixes_batch = True

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        # population variance (1/N), as in the paper's reference code; eps keeps the sqrt's
        # gradient finite for a batch of one or of identical samples
        std = (x.var(dim=0, unbiased=False) + self.eps).sqrt().mean()
        extra = std.expand(x.shape[0], 1, *x.shape[2:])
        return torch.cat((x, extra.to(x.dtype)), dim=1)


class ConditionalBatchNorm(nn.Module):
    """Conditional BatchNorm, as in Miyato & Koyama 2018 (sec. 4; after de Vries et al. 2017 and
    Dumoulin et al. 2017): BatchNorm without its own affine, then a per-class gain and bias,
    ``norm(x) * gain[y] + bias[y]``, over features (N, C) or maps (N, C, H, W) (``maps=True``).
    ``normalize=False`` keeps the per-class affine alone, for a hidden layer that has no BatchNorm.
    The gains and biases are embedding rows, initialised to 1 and 0 (the identity)."""

    takes_labels = True

    def __init__(self, features: int, n_classes: int, *, maps: bool = False, normalize: bool = True):
        super().__init__()
        norm = nn.BatchNorm2d if maps else nn.BatchNorm1d
        self.norm = norm(features, affine=False) if normalize else None
        self.gain = nn.Embedding(n_classes, features)
        self.bias = nn.Embedding(n_classes, features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)
        self._view = (-1, features, 1, 1) if maps else (-1, features)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = x if self.norm is None else self.norm(x)
        gain = self.gain(labels).view(self._view).to(h.dtype)
        return torch.addcmul(self.bias(labels).view(self._view).to(h.dtype), h, gain)


class LabeledSequential(nn.Sequential):
    """A Sequential whose label-reading layers also get the labels: forward(x, labels). A layer
    reads them when its ``takes_labels`` is true: ConditionalBatchNorm, or a block holding some
    (the resnet family's up-sampling blocks). Same state_dict keys as nn.Sequential."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, labels) if getattr(layer, "takes_labels", False) else layer(x)
        return x


class ClassProjection(nn.Embedding):
    """The projection discriminator's class embedding (Miyato & Koyama 2018, eq. 3): one row per
    class, of the size of the features phi D's last layer reads. Glorot-uniform init, as the
    paper's code (sngan_projection); apply_spectral_norm normalizes it."""

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)


def _conditional(cond: str) -> bool:
    return cond != "none"


def _checked_labels(labels, rows: int, cond: str, who: str):
    if labels is None:
        raise ValueError(f"this {who} has model.cond={cond}: it needs one label per sample, labels (N,)")
    if labels.dim() != 1 or labels.shape[0] != rows:
        shown = tuple(labels.shape)
        raise ValueError(f"{who} with model.cond={cond}: labels of shape {shown}, expected ({rows},)")
    return labels


class Generator(nn.Module):
    """latents (N, z_dim) -> samples (N, *shape) through a family's layers `net`, which take each
    latent as `latent_shape` ((z_dim,) for dense layers, (z_dim, 1, 1) for transposed convs).

    Unconditional (cond="none"): forward(z) (the generator contract, gan_cli.models.contract).
    Conditional (`takes_labels`): forward(z, labels), labels int64 (N,) on z's device:
    - concat / acgan: `embed` (nn.Embedding(n_classes, cond_dim)) joined to z, so `net` reads
      cat(z, embed(y)) as `latent_shape` ((z_dim + cond_dim,) or (z_dim + cond_dim, 1, 1));
    - projection: `net` is a LabeledSequential whose ConditionalBatchNorm layers read the labels.
    """

    takes_labels = False

    def __init__(
        self,
        net: nn.Module,
        shape: tuple[int, ...],
        z_dim: int,
        latent_shape: tuple[int, ...] = (),
        *,
        cond: str = "none",
        n_classes: int = 0,
        embed: nn.Module | None = None,
    ):
        super().__init__()
        self.shape = tuple(shape)
        self.z_dim = z_dim
        self.latent_shape = tuple(latent_shape) or (z_dim,)
        self.cond = cond
        self.takes_labels = _conditional(cond)
        self.n_classes = int(n_classes) if self.takes_labels else 0
        self.embed = embed
        self.net = net

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        n = z.shape[0]
        if not self.takes_labels:
            # reshape to a shape a tensor already has is a view of it, whatever its memory layout
            return self.net(z.reshape(n, *self.latent_shape)).reshape(n, *self.shape)
        labels = _checked_labels(labels, n, self.cond, "generator")
        if self.embed is not None:
            joined = torch.cat((z.reshape(n, self.z_dim), self.embed(labels).to(z.dtype)), dim=1)
            return self.net(joined.reshape(n, *self.latent_shape)).reshape(n, *self.shape)
        return self.net(z.reshape(n, *self.latent_shape), labels).reshape(n, *self.shape)


class Discriminator(nn.Module):
    """samples (N, *shape), or packs of `pack` samples (pack_samples), -> raw logits (N / pack,)
    through a family's layers `net`.

    `labels` are one per sample (N,), `pack` times x's rows; consecutive samples form a pack.
    - none: `net` ends in one output per example; forward(x).
    - concat: `embed` (nn.Embedding(n_classes, cond_dim)) of each sample's label is joined to that
      sample before packing: to its flattened features (vectors, `join_maps=False`, mlp) or as
      cond_dim constant maps beside its channels (`join_maps=True`, dcgan); then `net` as for none.
    - projection and acgan: `net` is D's trunk, ending at phi (the features D's last layer reads,
      a map for dcgan); `head` is that last layer (psi, one output per example).
      projection: logit = psi(phi) + <sum of the pack's embeddings `project`(y), flatten(phi)>
      (Miyato & Koyama 2018, eq. 3; pack=1: <embed(y), phi>).
      acgan: `class_head` reads phi too, pack * n_classes outputs per pack; forward(x, labels,
      with_classes=True) -> (logits, class logits (N, n_classes), raw, row i sample i's); the
      real/fake logit does not read the labels.
    """

    def __init__(
        self,
        net: nn.Module,
        shape: tuple[int, ...],
        pack: int = 1,
        *,
        cond: str = "none",
        n_classes: int = 0,
        embed: nn.Module | None = None,
        join_maps: bool = False,
        head: nn.Module | None = None,
        project: nn.Module | None = None,
        class_head: nn.Module | None = None,
    ):
        super().__init__()
        self.shape = tuple(shape)
        self.pack = pack
        self.cond = cond
        self.n_classes = int(n_classes) if _conditional(cond) else 0
        self.has_class_head = cond == "acgan"
        self._plain = not _conditional(cond)
        self.join_maps = join_maps
        self.embed = embed
        self.net = net
        self.head = head
        self.project = project
        self.class_head = class_head

    def forward(
        self, x: torch.Tensor, labels: torch.Tensor | None = None, with_classes: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self._plain and not with_classes:
            return self.net(x).reshape(x.shape[0])
        return self._conditional_forward(x, labels, with_classes)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (N / pack,), phi): forward(x)'s logits and phi, the trunk's output that D's last
        layer reads (a map for dcgan, a vector for mlp), from one pass through the trunk. For an
        unconditional D (cond=none), whose `net` is one Sequential ending in its head: the same
        layers forward(x) runs, so the logits are forward(x)'s, bit for bit. What a head beside D's
        (InfoGAN's Q, gan_cli.models.infogan) reads; the state_dict is untouched."""
        if not self._plain:
            raise ValueError(
                f"features() needs an unconditional D (model.cond=none); this D has cond={self.cond}"
            )
        *trunk, head = self.net
        phi = x
        for layer in trunk:
            phi = layer(phi)
        return head(phi).reshape(x.shape[0]), phi

    def _conditional_forward(self, x, labels, with_classes):
        rows = x.shape[0]
        if with_classes and not self.has_class_head:
            raise ValueError(
                f"with_classes=True needs a class head (model.cond=acgan); this D has cond={self.cond}"
            )
        if self.cond == "concat":
            labels = _checked_labels(labels, rows * self.pack, self.cond, "discriminator")
            return self.net(self._join(x, labels)).reshape(rows)
        phi = self.net(x)
        logits = self.head(phi).reshape(rows)
        if self.cond == "projection":
            labels = _checked_labels(labels, rows * self.pack, self.cond, "discriminator")
            embedded = self.project(labels)
            if self.pack > 1:
                embedded = embedded.view(rows, self.pack, -1).sum(dim=1)
            return logits + (embedded.to(phi.dtype) * phi.reshape(rows, -1)).sum(dim=1)
        if not with_classes:
            return logits
        classes = self.class_head(phi).reshape(rows * self.pack, self.n_classes)
        return logits, classes

    def _join(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """concat: each sample's label embedding beside it, then the samples packed again."""
        rows, pack = x.shape[0], self.pack
        embedded = self.embed(labels).to(x.dtype)
        if self.join_maps:  # (rows, pack * C, H, W) -> (rows, pack * (C + cond_dim), H, W)
            height, width = x.shape[-2:]
            samples = x.reshape(rows, pack, -1, height, width)
            maps = embedded.view(rows, pack, -1, 1, 1).expand(-1, -1, -1, height, width)
            return torch.cat((samples, maps), dim=2).reshape(rows, -1, height, width)
        # vectors: (rows, pack * F) (or packed images, flattened) -> (rows, pack * (F + cond_dim))
        samples = x.reshape(rows, pack, -1)
        return torch.cat((samples, embedded.view(rows, pack, -1)), dim=2).reshape(rows, -1)


def assemble_discriminator(
    layers: list[nn.Module],
    head: nn.Module,
    shape: tuple[int, ...],
    pack: int,
    *,
    cond: str,
    n_classes: int,
    cond_dim: int,
    phi_size: int,
    class_head: nn.Module | None = None,
    join_maps: bool = False,
) -> Discriminator:
    """A family's D from its trunk `layers` and final `head`, wired for `model.cond`: projection and
    acgan read phi (the trunk's output, `phi_size` numbers flattened) through the head, the class
    projection or `class_head` (acgan's); none and concat keep one Sequential, concat joining a
    cond_dim embedding to the input (as constant maps with `join_maps`)."""
    if cond in ("projection", "acgan"):
        return Discriminator(
            nn.Sequential(*layers),
            shape,
            pack,
            cond=cond,
            n_classes=n_classes,
            head=head,
            project=ClassProjection(n_classes, phi_size) if cond == "projection" else None,
            class_head=class_head if cond == "acgan" else None,
        )
    embed = nn.Embedding(n_classes, cond_dim) if cond == "concat" else None
    return Discriminator(
        nn.Sequential(*layers, head),
        shape,
        pack,
        cond=cond,
        n_classes=n_classes,
        embed=embed,
        join_maps=join_maps,
    )
