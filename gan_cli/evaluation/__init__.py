"""How good a generator is, measured against real data: the library under `gan eval`, and what
training calls between steps.

    evaluator = Evaluator(data_cfg, features="classifier", split="test", n=10000, device="cpu")
    evaluator.evaluate(G, ["fid", "kid"], seed=0)   # -> {"fid": ..., "kid": ..., "kid_std": ...}
    evaluate_generator(G, data_cfg, ["fid"])       # the same through an in-memory cache of evaluators

One module per concern:

    metrics.py    the metrics, registered in gan_cli.registry.METRICS: name, result keys and which
                  way they get better, what they need, the data kinds they apply to, the compute
                  function. A new metric is one decorated function there.
    features.py   feature sets of real and generated images; the real set's, cached on disk
    evaluator.py  the Evaluator (set up once, then evaluate any number of generators), and the
                  per-process cache of evaluators training uses
    results.py    eval.json: where it goes, how new scores are added to the earlier ones
    command.py    `run`: what `gan eval` does

The feature extractors and the math are in gan_cli.metrics. Nothing here imports torch at import
time: `gan eval --help` and config errors stay fast.
"""

from gan_cli.evaluation.command import EvalRun, run
from gan_cli.evaluation.evaluator import (
    _EVALUATORS,  # noqa: F401 - the per-process cache, cleared by the tests
    DEFAULT_BATCH_SIZE,
    DEFAULT_N,
    FEATURES,
    MAX_CACHED_EVALUATORS,
    SPLITS,
    Evaluator,
    evaluate_generator,
    get_evaluator,
    plain_data_config,
)
from gan_cli.evaluation.features import FeatureSet
from gan_cli.evaluation.metrics import (
    Context,
    count_keys,
    default_metrics,
    metric,
    metric_names,
    primary_metric_direction,
    ranking,
)
from gan_cli.evaluation.results import RESULT_KEY, merge_results, output_path, previous_results, write_results

__all__ = [
    "DEFAULT_BATCH_SIZE", "DEFAULT_N", "FEATURES", "MAX_CACHED_EVALUATORS", "RESULT_KEY",
    "SPLITS", "Context", "EvalRun", "count_keys", "Evaluator", "FeatureSet", "default_metrics",
    "evaluate_generator", "get_evaluator", "merge_results", "metric", "metric_names", "output_path",
    "plain_data_config", "previous_results", "primary_metric_direction", "ranking", "run",
    "write_results",
]  # fmt: skip
