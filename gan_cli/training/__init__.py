"""Training: the loop every model shares (trainer), the recipes that do one step each, losses,
penalties, EMA and optimizers. Knows nothing of Hydra."""
