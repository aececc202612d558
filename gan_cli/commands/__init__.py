"""The commands: the only code that imports Hydra. Each composes objects from its config, calls the
library under it and prints what happened."""
