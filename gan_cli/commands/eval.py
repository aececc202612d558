"""`gan eval`: scores of a checkpoint, as a table on the console and in eval.json.

Thin on purpose: the work is gan_cli.evaluation.run, which tests call without Hydra. torch is
imported there, after the config has been checked, so `gan eval --help` answers fast.
"""

from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from gan_cli.commands.config import register_schemas, validate_eval
from gan_cli.commands.errors_report import exit_on_user_error
from gan_cli.outputs.run_folder import discard_if_unused, shown

register_schemas()

# The results go beside the checkpoint: the folder Hydra makes for the job only ever holds its own
# bookkeeping, and is removed.
HYDRA_BOOKKEEPING = {".hydra", "eval.log"}


def _value(key: str, value: float) -> str:
    from gan_cli.evaluation import count_keys

    if key in count_keys():  # counts (classes covered, modes captured): no decimals
        return f"{value:.0f}"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"


def print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)
    step = f"step {report['step']:,}, " if isinstance(report.get("step"), int) else ""
    weights = "EMA weights" if report.get("weights") == "ema_generator" else "G weights"
    console.print(f"gan eval: {shown(Path(report['checkpoint']))} ({step}{weights})", highlight=False)
    table = Table()
    for column in ("metric", "value", "extractor", "n", "split"):
        table.add_column(column, justify="right" if column in ("value", "n") else "left")
    for row in report["results"]:
        key = row["metric"]
        table.add_row(key, _value(key, row["value"]), row["extractor"], f"{row['n']:,}", row["split"])
    console.print(table)
    if "classifier_accuracy" in report:
        console.print(
            f"classifier: accuracy {report['classifier_accuracy']:.2%} on the "
            f"{report['classifier_accuracy_on']} ({shown(Path(report['classifier']))}); "
            f"real {report.get('real_described', 'images')}: {report['n_real']:,}",
            highlight=False,
        )


def _note(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message)


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.configs", config_name="eval")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        validate_eval(cfg)
        from gan_cli import evaluation

        result = evaluation.run(cfg, note=_note)
    finally:
        discard_if_unused(run_dir, HYDRA_BOOKKEEPING)
    print_table(result.report)
    print(f"wrote {shown(result.path)}")
