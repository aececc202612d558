"""Moved: the Reporter is gan_cli/outputs/reporter.py, its sinks gan_cli/outputs/sinks/. This
name stays importable for code written before the split."""

from gan_cli.outputs.reporter import Reporter, build_reporter

__all__ = ["Reporter", "build_reporter"]
