"""Training recipes: one kind of model's networks, optimizers and training step each (base.py says
what a recipe is). Every module of this package but the helpers registers its recipe in
gan_cli.registry.RECIPES when imported, so adding a recipe is adding its file (and
configs/recipe/<name>.yaml). The registering modules do not import torch (startup stays light);
their builders import the step's module when a run starts.
"""

import importlib
import pkgutil

HELPERS = {"base", "gan_step"}  # import torch; register nothing

for _found in pkgutil.iter_modules(__path__):
    if _found.name not in HELPERS and not _found.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_found.name}")
