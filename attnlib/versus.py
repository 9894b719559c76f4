"""The model against its baselines: ``eval.json``'s ``versus`` entry.

A user's first question of a trained model is whether it beats the simple forecaster or
classifier beside it. The task's evaluation already scores the model and every baseline on
the same test split with the same metrics; :func:`versus` compares them, per metric, so
that ``dvc exp show`` has one yes / no and a margin per experiment, and the log, the model
card and ``report.html`` one sentence. Only metrics whose direction is known
(:data:`HIGHER` / :data:`LOWER`) and that the model and a baseline both report are compared;
counts (test windows, the n-gram order) are not metrics.
"""

from __future__ import annotations

import math

HIGHER = frozenset({"accuracy", "macro_f1", "top5_accuracy"})  # higher is better
LOWER = frozenset({"perplexity", "nll", "mae", "mape", "smape", "rmse", "mase"})
# the model and its parts (a forecast's network alone, attnlib.combination): not baselines
NOT_BASELINES = frozenset({"model", "network"})


def _better(metric: str, a: float, b: float) -> bool:
    """``a`` is strictly better than ``b`` on ``metric``."""
    return a > b if metric in HIGHER else a < b


def _best(metric: str, scores: dict[str, float]) -> tuple[str, float]:
    """The baseline with the best score on ``metric`` (first listed on a tie)."""
    pick = max if metric in HIGHER else min
    name = pick(scores, key=scores.__getitem__)
    return name, scores[name]


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _scores(report: dict, metric: str) -> dict[str, float]:
    """Each baseline's ``metric`` (baselines that report a finite one: a MASE over a
    constant train part, for one, is not a number)."""
    return {
        name: float(m[metric])
        for name, m in report.items()
        if name not in NOT_BASELINES and isinstance(m, dict) and _finite(m.get(metric))
    }


def versus(report: dict, headline: str) -> dict:
    """Compare ``report["model"]`` with the baselines: every other entry of ``report``
    except :data:`NOT_BASELINES` (the network alone, beside a combined forecast).

    Args:
        report: eval.json as the task scored it, ``{"model": {...}, baseline: {...}}``.
        headline: the task's main metric (``accuracy``, ``perplexity``, ``mase``).

    Returns: ``{}`` when the model or no baseline has a finite headline figure, else
    ``metric``, ``model``, ``best_baseline`` and its ``baseline`` score, ``margin`` (how
    much better the model is, in the metric's units: negative when worse), ``beats_all``
    (strictly better than every baseline on the headline), ``beats_all_by_metric`` (the
    same for every shared metric)
    and ``verdict`` (one sentence).
    """
    model = report.get("model") or {}
    baselines = _scores(report, headline)
    if not _finite(model.get(headline)) or not baselines:
        return {}
    by_metric: dict[str, bool] = {}
    losses: dict[str, str] = {}  # metric -> the best baseline that the model does not beat
    for metric in [k for k in model if k in HIGHER | LOWER and _finite(model[k])]:
        scores = _scores(report, metric)
        if scores:
            value = float(model[metric])
            by_metric[metric] = all(_better(metric, value, s) for s in scores.values())
            if not by_metric[metric]:
                losses[metric] = _best(metric, scores)[0]
    value = float(model[headline])
    name, base = _best(headline, baselines)
    margin = value - base if headline in HIGHER else base - value
    won = by_metric[headline]
    verdict = (f"{'beats' if won else 'does not beat'} every baseline on {headline}: "
               f"{value:.4g} vs {base:.4g} ({name}, the best of "
               f"{len(baselines)})")  # fmt: skip
    others = [m for m in by_metric if m != headline]
    if others:
        better = [m for m in others if by_metric[m]]
        worse = [f"{m} ({losses[m]})" for m in others if not by_metric[m]]
        verdict += "; " + "; ".join(
            part for part in (f"better than all on {', '.join(better)}" if better else "",
                              f"not better on {', '.join(worse)}" if worse else "")
            if part
        )  # fmt: skip
    return {"metric": headline, "model": value, "best_baseline": name, "baseline": base,
            "margin": margin, "beats_all": won, "beats_all_by_metric": by_metric,
            "verdict": verdict}  # fmt: skip


def sentence(report: dict) -> str:
    """eval.json's ``versus`` verdict as the sentence the log, the model card and the
    report print ("" without one)."""
    verdict = (report.get("versus") or {}).get("verdict")
    return f"The model {verdict}." if verdict else ""
