"""Generators and discriminators, one module per family, built by name from a config.

Usage:
    G, D = build(cfg.model, shape=(1, 28, 28))
    G(torch.randn(n, G.z_dim))  # -> (n, 1, 28, 28) in [-1, 1]
    D(images)                   # -> (n,) raw logits
    # model.cond=concat|projection|acgan (gan_cli.models.conditioning), on labelled data:
    G, D = build(cfg.model, shape=(1, 28, 28), n_classes=10)
    G(z, labels); D(images, labels)  # labels int64 (n,)

A family is one module here (its schema, ranges, data kinds and builder, registered in
gan_cli.registry.MODELS) and one YAML file under configs/model/. Every module of this package
but the helpers below is imported, so a new file registers itself; none imports torch at its top.
"""

from gan_cli.errors import UserError
from gan_cli.models import conditioning
from gan_cli.registry import MODELS, import_modules

# Modules of this package that are not families: shared networks (torch), the generator contract,
# shared bounds, the class-conditioning choices, the autoencoders' and progressive GAN's torch modules.
HELPERS = frozenset({"autoencoder", "common", "conditioning", "contract", "progan_nets", "sizes"})

import_modules(__name__, HELPERS)

register = MODELS.register


def available() -> list[str]:
    """Names a config's ``model.name`` may take, sorted."""
    return MODELS.names()


def build(cfg, shape, n_classes: int = 0, pack: int = 1, data_name: str | None = None):
    """Build (generator, discriminator) for data of ``shape`` from a model config.

    ``cfg`` only needs attribute access (an OmegaConf DictConfig, a namespace, ...).
    ``n_classes``: the data's classes (0: unlabelled). ``model.cond`` other than none needs them
    (UserError naming ``data_name`` otherwise); an unconditional model ignores them.
    ``pack`` (trainer.pack, PacGAN): D takes ``pack`` samples at once, so its input has ``pack``
    times the features (vectors) or channels (images); G does not change.
    """
    entry = MODELS.get(getattr(cfg, "name", None))
    shape = _checked_shape(shape, entry)
    if entry.schema is not None:
        cond = getattr(MODELS.settings(cfg, entry.name), "cond", conditioning.NONE)
        conditioning.check_labels(cond, int(n_classes), data_name)
    return entry.builder(cfg, shape, int(n_classes), pack=int(pack))


def _checked_shape(shape, entry=None) -> tuple[int, ...]:
    """The shape as ints, refused in one line where it is no sample of a kind the family takes
    (each data kind says how many dimensions its samples have: points 1, clips 2, images 3); the
    line names the families that take such samples."""
    from gan_cli.data import kinds

    dims = tuple(int(d) for d in shape)
    of_rank = [kind for kind in kinds.KINDS.values() if kind.sample_dims == len(dims)]
    if not of_rank or any(d <= 0 for d in dims):
        known = sorted(kinds.KINDS.values(), key=lambda kind: kind.sample_dims)
        what = ", ".join(f"{kind.describe} {kind.shape_text}" for kind in known)
        raise UserError(f"data shape {dims} is not supported: models take {what}")
    taken = [kinds.KINDS[name] for name in getattr(entry, "kinds", ()) if name in kinds.KINDS]
    if taken and not any(kind in taken for kind in of_rank):
        needs = " or ".join(f"{kind.name} data {kind.shape_text}" for kind in taken)
        hints = []
        for kind in of_rank:
            names = [other.name for other in MODELS if kind.name in getattr(other, "kinds", ())]
            if names:
                listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
                hints.append(f"for {kind.name} data use model={listed}")
        raise UserError(
            f"model={entry.name} needs {needs}, got data of shape {dims}" + "".join(f"; {h}" for h in hints)
        )
    return dims


__all__ = ["available", "build", "register"]
