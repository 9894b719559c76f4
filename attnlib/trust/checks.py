"""The trust checks of one evaluation, as the tasks' report extensions call them.

Validation is the calibration split (temperature and conformal threshold / widths are fitted
on it; it also served early stopping), test is the one reported. What prediction needs later
(the temperature, the set threshold, the interval half-widths) is returned as ``saved``: the
evaluate stage writes it to ``models/calibration.json``, export puts it into the bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from attnlib.errors import ModelFileError
from attnlib.trust.calibration import calibrate, to_probs
from attnlib.trust.conformal import (
    SET_RULES,
    evaluate_intervals,
    evaluate_sets,
    key_uniform,
    set_members,
    sets_at,
)
from attnlib.trust.faithfulness import faithfulness_report, scorer
from attnlib.trust.plots import forecast_band, reliability_diagram


def class_checks(model, test, z_val, y_val, z_test, y_test, *, options, seed: int,
                 plots: Path) -> tuple[dict, dict]:  # fmt: skip
    """Calibration, conformal sets and faithfulness of a model that predicts classes.

    Args:
        test: the test :class:`~attnlib.data.SequenceData` (faithfulness erases its steps).
        z_val, y_val, z_test, y_test: flat (N, K) or (N,) binary logits and (N,) labels
            (next-state: real positions only).
        options: the evaluate config (``alpha``, ``sets``, ``faith_items``, ``faith_ig_items``).
    Returns:
        (eval.json entries ``calibration`` / ``conformal`` / ``faithfulness``,
        saved ``{"alpha", "temperature", "set_threshold", "set_rule"}``).
    """
    cal = calibrate(z_val, y_val, z_test, y_test)
    t = cal["temperature"]
    conf, _ = evaluate_sets(to_probs(z_val, t), y_val, to_probs(z_test, t), y_test,
                            options.alpha, seed=seed, **SET_RULES[options.sets])  # fmt: skip
    conf["rule"] = options.sets
    reliability_diagram(z_test, y_test, t, plots / "reliability.png")
    entries = {"calibration": cal, "conformal": conf}
    if options.faith_items:
        entries["faithfulness"] = faithfulness_report(
            scorer(model), test.x, test.lengths, n_items=options.faith_items,
            ig_items=options.faith_ig_items, seed=seed,
        )  # fmt: skip
    saved = {"alpha": options.alpha, "temperature": t, "set_threshold": conf["threshold"],
             "set_rule": options.sets}  # fmt: skip
    return entries, saved


def interval_checks(pred_val, act_val, pred_test, act_test, history, *, alpha: float,
                    plots: Path, title: str) -> tuple[dict, dict]:  # fmt: skip
    """Per-step conformal intervals of a forecast, and the forecast plot with its band.

    Args:
        pred_val, act_val, pred_test, act_test: (N, H, K) forecasts and truths, raw units.
        history: (L,) the first target's steps before the last test window (the plot).
    Returns:
        (``{"conformal": ...}``, saved ``{"alpha", "half_width" (H, K) nested lists}``).
    """
    conf, iv = evaluate_intervals(pred_val, act_val, pred_test, act_test, alpha)
    forecast_band(history, act_test[-1, :, 0], pred_test[-1, :, 0], iv.lower[-1, :, 0],
                  iv.upper[-1, :, 0], plots / "forecast.png", alpha=alpha, title=title)  # fmt: skip
    width = [
        [float(v) if np.isfinite(v) else None for v in row]
        for row in np.reshape(iv.width, (len(iv.width), -1))
    ]  # (H, K); None: too few windows
    return {"conformal": conf}, {"alpha": alpha, "half_width": width}


class SavedSets(NamedTuple):
    """The conformal sets evaluate fitted, as prediction rebuilds them."""

    threshold: float | None  # the APS threshold (None: too few calibration items)
    rule: str  # evaluate.sets: "exact" (randomised, may be empty) or "nonempty"

    @classmethod
    def of(cls, trust: dict) -> SavedSets:
        """From a bundle's ``extra.trust`` (bundles older than the rule kept the top label)."""
        rule = trust.get("set_rule", "nonempty")
        if rule not in SET_RULES:
            raise ModelFileError(f"model.json extra.trust.set_rule: expected one of "
                                 f"{sorted(SET_RULES)}, got {rule!r}")  # fmt: skip
        return cls(trust.get("set_threshold"), rule)

    def sets(self, probs: np.ndarray, keys) -> np.ndarray:
        """The sets (M, K) bool of ``probs`` (M, K); ``keys`` (M,) name the rows (an exact
        rule draws each row's U from its key). None threshold: every set is every label."""
        p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
        if self.threshold is None:
            return np.ones_like(p, dtype=bool)
        rule = SET_RULES[self.rule]
        u = key_uniform(keys) if rule["randomized"] else None
        return sets_at(p, self.threshold, u, allow_empty=rule["allow_empty"])

    def members(self, probs: np.ndarray, names: list[str], key) -> list[str]:
        """One row's set as label names, most probable first."""
        return set_members(self.sets(probs, [key]), np.atleast_2d(probs), names)[0]


def calibrated(model: torch.nn.Module, saved: dict | None) -> torch.nn.Module:
    """``model`` with its logits divided by the saved temperature (unchanged without one)."""
    from attnlib.trust.calibration import TemperatureScaled

    t = (saved or {}).get("temperature")
    return TemperatureScaled(model, t) if t else model
