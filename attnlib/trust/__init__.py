"""Trust tools the tasks call: calibration, conformal sets / intervals, attention faithfulness.

Task-agnostic: every function takes flat arrays ((N, K) logits or probabilities, (N,) labels,
(N, H[, C]) forecasts) or a :class:`~attnlib.trust.faithfulness.Scorer`; the task module
decides which split and which positions go in.
"""

from attnlib.trust.calibration import (
    TemperatureScaled,
    calibrate,
    calibration_report,
    ece_floor,
    fit_temperature,
    real_positions,
    to_probs,
)
from attnlib.trust.conformal import (
    conformal_intervals,
    conformal_sets,
    evaluate_intervals,
    evaluate_sets,
    set_members,
)
from attnlib.trust.faithfulness import faithfulness_report, scorer

__all__ = [
    "TemperatureScaled",
    "calibrate",
    "calibration_report",
    "conformal_intervals",
    "conformal_sets",
    "ece_floor",
    "evaluate_intervals",
    "evaluate_sets",
    "faithfulness_report",
    "fit_temperature",
    "real_positions",
    "scorer",
    "set_members",
    "to_probs",
]
