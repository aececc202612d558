"""Training recipes: one kind of model's networks, optimizers and training step each (base.py says
what a recipe is). Every module of this package but the helpers registers its recipe in
gan_cli.registry.RECIPES when imported, so adding a recipe is adding its file (and
configs/recipe/<name>.yaml). The registering modules do not import torch (startup stays light);
their builders import the step's module when a run starts.
"""

from gan_cli.registry import import_modules

HELPERS = frozenset({"base", "gan_step", "progan_step", "vae_step"})  # import torch; register nothing

import_modules(__name__, HELPERS)
