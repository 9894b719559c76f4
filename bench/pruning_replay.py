"""What any pruner could save on the unpruned study's own learning curves.

``bench/search_pruning.py`` runs real studies; its unpruned study stores every trial's
validation loss after each epoch. This replays those curves, in the order the sampler
proposed them, through Optuna pruners (the real classes, an in-memory study): a trial
stops where the pruner says so, and the study's best is the best trial that ran in full.
The sampler is left out (each trial's curve is fixed), so this isolates the pruning rule,
and adds the floor: the epochs of a rule that stops every trial after one epoch unless it
is the best so far there (the least a pruner can spend without losing a new best).

A trial's value is its best epoch (as the search's objective returns it); ``patience``
rows add ``search.patience``: a trial also stops at its first epoch without a lower loss.

    python bench/pruning_replay.py   # reads / writes bench/results/search_pruning*.json
    python bench/pruning_replay.py bench/results/search_pruning_trec6.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import optuna

RESULTS = Path(__file__).resolve().parent / "results"
P = optuna.pruners
PRUNERS: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
    "median (search.pruner: median)": lambda: P.MedianPruner(
        n_startup_trials=2, n_warmup_steps=1
    ),  # fmt: skip
    "successive halving, rate 3 (search.pruner: halving)": lambda: P.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3
    ),
    "successive halving, rate 3, bootstrap 1": lambda: P.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3, bootstrap_count=1
    ),
    "hyperband (search.pruner: hyperband)": lambda: P.HyperbandPruner(min_resource=1),
    "25th percentile": lambda: P.PercentilePruner(25.0, n_startup_trials=2, n_warmup_steps=0),
}


def replay(curves: list[list[float]], pruner: optuna.pruners.BasePruner, patience: int = 0) -> dict:
    """Epochs spent and best complete trial's loss when ``pruner`` watches these curves."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # a fixed name: Hyperband assigns trials to brackets by a hash of it (else random)
    study = optuna.create_study(pruner=pruner, study_name="replay")
    epochs, finals = [], []
    for curve in curves:
        trial, pruned, best, bad = study.ask(), False, float("inf"), 0
        for step, value in enumerate(curve, start=1):
            best, bad = (value, 0) if value < best else (best, bad + 1)
            trial.report(value, step)
            if patience and bad >= patience:
                break  # early stopping inside the trial: complete, valued at its best epoch
            if step < len(curve) and trial.should_prune():
                pruned = True
                break
        epochs.append(step)
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, best)
            finals.append(best)
    return {"epochs_per_trial": epochs, "total_epochs": sum(epochs),
            "best_val_loss": min(finals)}  # fmt: skip


def floor(curves: list[list[float]]) -> dict:
    """One epoch for every trial that is not the best so far after its first epoch."""
    best1, epochs, finals = float("inf"), [], []
    for curve in curves:
        if curve[0] < best1:
            best1 = curve[0]
            epochs.append(len(curve))
            finals.append(min(curve))
        else:
            epochs.append(1)
    return {"epochs_per_trial": epochs, "total_epochs": sum(epochs),
            "best_val_loss": min(finals)}  # fmt: skip


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--help`` prints the docstring; anything else unknown is an error."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "study",
        nargs="?",
        type=Path,
        default=RESULTS / "search_pruning.json",
        help="an unpruned study's results (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    path = _args(argv).study.resolve()
    source = json.loads(path.read_text())
    unpruned = next(r for r in source["results"] if r["pruner"] == "none")
    curves, full = unpruned["curves"], unpruned["total_epochs"]
    best = unpruned["best_val_loss"]
    rows = {name: replay(curves, make()) for name, make in PRUNERS.items()}
    halving = PRUNERS["successive halving, rate 3 (search.pruner: halving)"]
    median = PRUNERS["median (search.pruner: median)"]
    for label, make in (("none", P.NopPruner), ("median", median),
                        ("successive halving, rate 3", halving)):  # fmt: skip
        rows[f"{label} + patience 1"] = replay(curves, make(), patience=1)
    rows["floor: keep only each new best after epoch 1"] = floor(curves)
    for row in rows.values():
        row["epochs_pct"] = round(100 * row["total_epochs"] / full, 1)
        row["best_gap_pct"] = round(100 * (row["best_val_loss"] / best - 1), 2)
    out = {"source": f"{path.relative_to(RESULTS.parent.parent)} (the unpruned study's curves)",
           "trials": len(curves), "unpruned_epochs": full, "unpruned_best": best,
           "results": rows}  # fmt: skip
    dest = RESULTS / path.name.replace("search_pruning", "search_pruning_replay")
    dest.write_text(json.dumps(out, indent=2) + "\n")
    for name, row in rows.items():
        print(f"{name:55s} {row['total_epochs']:3d} epochs = {row['epochs_pct']:5.1f} %  "
              f"best {row['best_val_loss']:.4f} ({row['best_gap_pct']:+.2f} %)")  # fmt: skip


if __name__ == "__main__":
    main()
