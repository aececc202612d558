"""InfoGAN's latent codes (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by
Information Maximizing Generative Adversarial Nets", arXiv:1606.03657): the layout of G's latent,
the code sampler, Q's head and the two mutual-information terms.

G's latent is one vector of model.z_dim numbers, laid out as

    [ noise (z_dim - sum(categorical) - continuous) | one-hot of code cat0 (categorical[0]) | ...
      | one-hot of the last categorical code | continuous codes (continuous) ]

so any family's G takes it unchanged (its state_dict too): the noise is N(0, 1), each categorical
code uniform over its categories (one-hot), each continuous code uniform in [-1, 1] (sec. 5).
`attach` gives a generator this distribution as its own latent sampler (the generator contract,
gan_cli.models.contract.sample_latent), without touching its modules: `gan sample`, `gan eval`,
the EMA and the trainer's grids then draw codes as training does.

Q (sec. 4-5) shares D's trunk: it reads phi, the features D's last layer reads
(common.Discriminator.features), through one hidden layer (FC 128, BatchNorm, LeakyReLU 0.2, the
paper's MNIST Q, appendix C.1) to the logits of every categorical code and the mean (and, with
learn_std, the log standard deviation) of every continuous code.

The mutual-information lower bound L_I (eq. 4-5) is maximized through the log-likelihood of the
codes under Q: for categorical codes the cross-entropy of Q's logits (categorical_nll), for
continuous ones the Gaussian negative log-likelihood (gaussian_nll; "we simply treat Q(c|x) as a
factored Gaussian", sec. 6; the paper's MNIST code fixes the standard deviation at 1).

Nothing here imports torch at the top (the models package imports every module at startup).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gan_cli.errors import UserError

Q_HIDDEN = 128  # Q's hidden layer (Chen et al. 2016, appendix C.1: FC.128-BN-lReLU)
Q_SLOPE = 0.2
SWEEP = 2.0  # vary=cont<i> sweeps a continuous code over [-SWEEP, SWEEP] (the paper's Fig. 2: -2..2)


@dataclass(frozen=True)
class CodeLayout:
    """Where InfoGAN's codes sit in a latent of z_dim numbers (the module's docstring)."""

    z_dim: int
    categorical: tuple[int, ...] = (10,)
    continuous: int = 2

    @property
    def noise(self) -> int:
        return self.z_dim - self.code_size

    @property
    def code_size(self) -> int:
        return sum(self.categorical) + self.continuous

    def categorical_slices(self) -> list[slice]:
        """The one-hot block of each categorical code in the latent."""
        slices, start = [], self.noise
        for count in self.categorical:
            slices.append(slice(start, start + count))
            start += count
        return slices

    def continuous_slice(self) -> slice:
        return slice(self.z_dim - self.continuous, self.z_dim)

    def q_outputs(self, learn_std: bool) -> int:
        """Q's outputs: every categorical code's logits, every continuous code's mean (and log-std)."""
        return sum(self.categorical) + self.continuous * (2 if learn_std else 1)

    def describe(self) -> str:
        cats = " ".join(f"cat{i} {k}" for i, k in enumerate(self.categorical))
        return f"noise {self.noise}, {cats or 'no categorical'}, {self.continuous} continuous"

    def to_dict(self) -> dict[str, Any]:
        return {"z_dim": self.z_dim, "categorical": list(self.categorical), "continuous": self.continuous}


def layout(z_dim: int, categorical: Sequence[int] = (10,), continuous: int = 2) -> CodeLayout:
    """A checked CodeLayout: one line naming the key for a layout that cannot be."""
    counts = tuple(int(k) for k in categorical)
    if any(k < 2 for k in counts):
        raise UserError(
            f"recipe.categorical={list(counts)}: each categorical code needs at least 2 categories"
        )
    if int(continuous) < 0:
        raise UserError(f"recipe.continuous={continuous} is out of range: an integer >= 0")
    if not counts and not continuous:
        raise UserError(
            "recipe=infogan needs at least one code: recipe.categorical=[10] or recipe.continuous=2"
        )
    found = CodeLayout(int(z_dim), counts, int(continuous))
    if found.noise < 1:
        raise UserError(
            f"model.z_dim={z_dim} leaves no noise beside InfoGAN's {found.code_size} code numbers "
            f"(recipe.categorical={list(counts)}, recipe.continuous={continuous}): "
            f"use model.z_dim>={found.code_size + 1}, or recipe=gan for a GAN without codes"
        )
    return found


# ---- drawing latents ----------------------------------------------------------------------------
def draw_codes(codes: CodeLayout, n: int, rng: Any = None, device: Any = None):
    """(categories int64 (n, len(categorical)), continuous (n, continuous) uniform in [-1, 1])."""
    import torch

    categories = [torch.randint(k, (n,), generator=rng, device=device) for k in codes.categorical]
    cats = (
        torch.stack(categories, dim=1) if categories else torch.zeros(n, 0, dtype=torch.int64, device=device)
    )
    cont = torch.rand(n, codes.continuous, generator=rng, device=device) * 2 - 1
    return cats, cont


def assemble(codes: CodeLayout, noise, categories, continuous):
    """The latent (n, z_dim): noise, the one-hot of each categorical code, the continuous codes."""
    import torch
    import torch.nn.functional as F

    parts = [noise]
    for index, count in enumerate(codes.categorical):
        parts.append(F.one_hot(categories[:, index], count).to(noise.dtype))
    parts.append(continuous.to(noise.dtype))
    return torch.cat(parts, dim=1)


def draw(codes: CodeLayout, n: int, rng: Any = None, device: Any = None):
    """(latent (n, z_dim), categories, continuous): noise first, then the codes, from one stream."""
    import torch

    noise = torch.randn(n, codes.noise, generator=rng, device=device)
    categories, continuous = draw_codes(codes, n, rng, device)
    return assemble(codes, noise, categories, continuous), categories, continuous


def categories_of(codes: CodeLayout, z):
    """The categorical codes written in latents z: int64 (n, len(categorical)) (argmax of each block)."""
    import torch

    found = [z[:, block].argmax(dim=1) for block in codes.categorical_slices()]
    return torch.stack(found, dim=1) if found else torch.zeros(z.shape[0], 0, dtype=torch.int64)


class LatentSampler:
    """A generator's own latent distribution under the contract: sample_latent(n, generator, device)."""

    def __init__(self, codes: CodeLayout):
        self.codes = codes

    def __call__(self, n: int, generator: Any = None, device: Any = None):
        z = draw(self.codes, n, rng=generator)[0]
        return z if device is None else z.to(device)


def attach(generator: Any, codes: CodeLayout) -> Any:
    """Give `generator` InfoGAN's latent distribution (sample_latent) and its layout (`info_codes`,
    read by contract.latent_codes): plain attributes, so its modules and state_dict are untouched."""
    if int(generator.z_dim) != codes.z_dim:
        raise ValueError(f"the generator takes latents of {generator.z_dim}, the layout is of {codes.z_dim}")
    generator.info_codes = codes
    generator.sample_latent = LatentSampler(codes)
    return generator


def layout_from_config(config: Any) -> CodeLayout | None:
    """The code layout a run's config (a checkpoint's, a dict or DictConfig) trained with; None for a
    run of another recipe."""
    recipe = config.get("recipe") or {}
    if recipe.get("name") != "infogan":
        return None
    return layout(config["model"]["z_dim"], recipe.get("categorical", (10,)), recipe.get("continuous", 2))


def attach_from_config(generator: Any, config: Any) -> Any:
    """attach() for a generator rebuilt from a checkpoint whose config is an InfoGAN run's; any other
    generator as it is."""
    codes = layout_from_config(config)
    return generator if codes is None else attach(generator, codes)


# ---- Q and the mutual-information terms ---------------------------------------------------------
def build_q_head(phi_size: int, codes: CodeLayout, learn_std: bool = False, hidden: int = Q_HIDDEN):
    """Q's head on D's trunk features phi (flattened, phi_size numbers): FC hidden, BN, LeakyReLU,
    FC to codes.q_outputs(learn_std)."""
    from torch import nn

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(phi_size, hidden),
        nn.BatchNorm1d(hidden),
        nn.LeakyReLU(Q_SLOPE),
        nn.Linear(hidden, codes.q_outputs(learn_std)),
    )


def split_q(codes: CodeLayout, q_out, learn_std: bool = False):
    """Q's outputs (n, q_outputs) -> (a list of logits (n, k) per categorical code, means (n, m),
    log standard deviations (n, m), or None where the standard deviation is fixed at 1)."""
    logits, start = [], 0
    for count in codes.categorical:
        logits.append(q_out[:, start : start + count])
        start += count
    mean = q_out[:, start : start + codes.continuous]
    log_std = q_out[:, start + codes.continuous :] if learn_std else None
    return logits, mean, log_std


def categorical_nll(logits: Sequence[Any], categories):
    """Sum over categorical codes of the mean cross-entropy -log softmax(logits_i)[c_i]: minus the
    categorical part of E log Q(c|x) (Chen et al. 2016, eq. 4). categories int64 (n, codes)."""
    import torch.nn.functional as F

    total = None
    for index, code_logits in enumerate(logits):
        term = F.cross_entropy(code_logits.float(), categories[:, index])
        total = term if total is None else total + term
    return total


def gaussian_nll(values, mean, log_std=None):
    """Mean over samples of the summed negative log-likelihood of each continuous code under a
    factored Gaussian N(mean, exp(log_std)^2): log_std + (c - mean)^2 / (2 exp(2 log_std)) +
    log(2 pi) / 2 per code (Chen et al. 2016, sec. 6); log_std None: a standard deviation of 1."""
    import torch

    values, mean = values.float(), mean.float()
    if log_std is None:
        per_code = 0.5 * (values - mean) ** 2
    else:
        log_std = log_std.float()
        per_code = log_std + 0.5 * ((values - mean) * torch.exp(-log_std)) ** 2
    return (per_code + 0.5 * math.log(2 * math.pi)).sum(dim=1).mean()
