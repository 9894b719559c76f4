"""What a search reports, read from its study: the best parameters, one row per trial,
the optimisation history and parameter importances (data, and figures for DVC)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import optuna
import polars as pl
from optuna.trial import TrialState

from attnlib.io import atomic_path

log = logging.getLogger(__name__)


def best_params(study: optuna.Study) -> dict:
    """The best COMPLETE trial's parameters (the ``train`` overrides); {} when there is none."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return {}
    return dict(min(done, key=lambda t: (t.value, t.number)).params)


def trials_frame(study: optuna.Study, space_keys: list[str] | None = None) -> pl.DataFrame:
    """One row per trial: number, state, value, epochs, seconds, worker, retry_of, params_*."""
    trials = study.get_trials(deepcopy=False)
    keys = space_keys if space_keys is not None else sorted({k for t in trials for k in t.params})
    cols: dict[str, pl.Series] = {
        "number": pl.Series([t.number for t in trials], dtype=pl.Int64),
        "state": pl.Series([t.state.name for t in trials], dtype=pl.Utf8),
        "value": pl.Series([t.value for t in trials], dtype=pl.Float64),
        "epochs": pl.Series([t.user_attrs.get("epochs") for t in trials], dtype=pl.Int64),
        "seconds": pl.Series([t.user_attrs.get("seconds") for t in trials], dtype=pl.Float64),
        "worker": pl.Series([t.user_attrs.get("worker") for t in trials], dtype=pl.Int64),
        "retry_of": pl.Series([t.system_attrs.get("failed_trial") for t in trials], dtype=pl.Int64),
    }
    for k in keys:
        values = [t.params.get(k) for t in trials]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int}:
            cols[f"params_{k}"] = pl.Series(values, dtype=pl.Int64)
        elif kinds <= {int, float}:
            cols[f"params_{k}"] = pl.Series(values, dtype=pl.Float64)
        else:
            cols[f"params_{k}"] = pl.Series([None if v is None else str(v) for v in values])
    return pl.DataFrame(cols)


def history(study: optuna.Study) -> list[dict]:
    """COMPLETE trials in order: ``{"trial", "value", "best_so_far"}`` (a DVC plot)."""
    out, best = [], float("inf")
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    for t in sorted(done, key=lambda t: t.number):
        best = min(best, t.value)
        out.append({"trial": t.number, "value": t.value, "best_so_far": best})
    return out


def history_figure(study: optuna.Study | None):
    """Value per trial (pruned: their last reported value) and the best so far."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    trials = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)) if study else []
    pruned = [
        (t.number, t.intermediate_values[max(t.intermediate_values)])
        for t in trials
        if t.intermediate_values
    ]
    if pruned:
        ax.scatter(*zip(*pruned, strict=True), marker="x", c="0.6", label="pruned (last value)")
    hist = history(study) if study else []
    if hist:
        xs = [h["trial"] for h in hist]
        ax.scatter(xs, [h["value"] for h in hist], c="C0", label="complete")
        ax.step(xs, [h["best_so_far"] for h in hist], where="post", c="C1", label="best so far")
    else:
        ax.text(0.5, 0.5, "no completed trial", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="trial", ylabel="validation loss", title="Optimisation history")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if pruned or hist:
        ax.legend()
    fig.tight_layout()
    return fig


def importances(study: optuna.Study) -> dict[str, float]:
    """Parameter importances, or {} when fewer than 2 trials completed (or none vary)."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2 or not any(t.params for t in done):
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        log.warning("search: parameter importances unavailable: %s", exc)
        return {}


def importance_figure(study: optuna.Study | None):
    """A bar per parameter; a note instead when importances cannot be computed yet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    imp = importances(study) if study else {}
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    if imp:
        names = list(imp)[::-1]
        ax.barh(names, [imp[k] for k in names], color="C0")
        ax.set(xlabel="importance (normalised to sum 1)")
    else:
        ax.text(0.5, 0.5, "needs 2 or more completed trials", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
    ax.set_title("Parameter importances")
    fig.tight_layout()
    return fig


def save_figures(study: optuna.Study | None, directory: Path) -> list[Path]:
    """``history.png`` and ``importance.png`` in ``directory`` (notes when there is no study)."""
    import matplotlib.pyplot as plt

    paths = []
    for name, make in (("history.png", history_figure), ("importance.png", importance_figure)):
        fig = make(study)
        with atomic_path(directory / name, suffix=".png") as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        paths.append(directory / name)
    return paths
