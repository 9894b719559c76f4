"""A forecast's combination with Holt-Winters (attnlib.combination): the weight's rule,
the combination itself, and Holt-Winters fitted per window as the baseline is."""

from __future__ import annotations

import numpy as np
import pytest

from attnlib.baselines.forecast import holt_winters, rolling
from attnlib.combination import EQUAL, MIN_WINDOWS, MIXES, choose_weight, combine
from attnlib.config import EvaluateConfig, validate
from attnlib.errors import ConfigError


def _windows(n: int, seed: int = 0):
    """(truth, a forecast near it, a forecast far from it), each (n, 4, 1)."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(n, 4, 1))
    return truth, truth + 0.1 * rng.normal(size=truth.shape), truth + rng.normal(size=truth.shape)


def test_validation_chooses_the_weight_of_the_better_forecast():
    truth, near, far = _windows(MIN_WINDOWS)
    scale = np.ones(1)
    w_hw, why = choose_weight("auto", far, near, truth, scale)  # Holt-Winters is near
    assert w_hw == max(MIXES) and f"over {MIN_WINDOWS} windows" in why
    w_net, _ = choose_weight("auto", near, far, truth, scale)  # the network is near
    assert w_net == 0.0


def test_the_chosen_weight_minimises_the_validation_error_among_the_mixes():
    truth, a, b = _windows(6, seed=3)
    b = truth + 0.3 * (a - truth) + 0.2  # errors of their own: an interior optimum
    w, _ = choose_weight("auto", a, b, truth, np.ones(1))
    # the error of a + w (b - a) is a parabola in w with its minimum at w*: the best weight
    # on the grid is the one nearest w*
    step = b - a
    w_star = float(np.sum((truth - a) * step) / np.sum(step**2))
    assert w == min(MIXES, key=lambda m: abs(m - w_star)) and 0 < w < max(MIXES)


def test_too_few_validation_windows_give_equal_weights():
    truth, near, far = _windows(MIN_WINDOWS - 1)
    w, why = choose_weight("auto", near, far, truth, np.ones(1))  # would choose 0 otherwise
    assert w == EQUAL and f"{MIN_WINDOWS - 1} validation window(s)" in why


def test_a_set_weight_is_kept_and_a_failed_fit_leaves_the_network_alone():
    truth, near, far = _windows(5)
    w, why = choose_weight(0.3, near, far, truth, np.ones(1))  # far would get 0 from auto
    assert w == 0.3 and "as set" in why
    # the default, 0: Holt-Winters is not fitted for it (the evaluate stage passes None)
    w, why = choose_weight(0.0, near, None, truth, np.ones(1))
    assert w == 0.0 and "as set" in why
    far[2, 1, 0] = np.nan
    w, why = choose_weight("auto", near, far, truth, np.ones(1))
    assert w == 0.0 and "did not fit" in why


def test_the_losses_are_in_each_targets_spread():
    """A target in large units does not decide alone: per-target scaling evens them."""
    truth, near, far = _windows(4)
    truth2 = np.concatenate([truth, 1000 * truth], axis=2)
    net = np.concatenate([near, 1000 * far], axis=2)  # the network: good on 0, bad on 1
    hw = np.concatenate([far, 1000 * near], axis=2)  # Holt-Winters: the reverse
    w, _ = choose_weight("auto", net, hw, truth2, np.array([1.0, 1000.0]))
    w_raw, _ = choose_weight("auto", net, hw, truth2, np.ones(2))
    assert w_raw == max(MIXES)  # unscaled, target 1's squared errors swamp target 0's
    assert 0 < w < max(MIXES)


def test_combine_mixes_linearly_and_keeps_the_network_where_holt_winters_failed():
    net, hw = np.array([[1.0, 2.0, 3.0]]), np.array([[3.0, np.nan, 5.0]])
    assert combine(net, hw, 0.0) is net
    np.testing.assert_allclose(combine(net, hw, 0.25), [[1.5, 2.0, 3.5]])


def test_rolling_holt_winters_fits_each_window_on_its_own_history():
    t = np.arange(80, dtype=float)
    series = (10 + 0.1 * t + np.sin(2 * np.pi * t / 8))[:, None]  # (80, 1)
    out = rolling(holt_winters, series, [60, 68], 4, 8)
    assert out.shape == (2, 4, 1)
    for row, start in zip(out, [60, 68], strict=True):
        np.testing.assert_allclose(row[:, 0], holt_winters(series[:start, 0], 4, 8))
    assert np.abs(out[0, :, 0] - series[60:64, 0]).max() < 0.2  # a clean season is learnt


@pytest.mark.parametrize("value", [1.5, -0.1, "equal"])
def test_evaluate_combine_must_be_a_weight_or_auto(value):
    with pytest.raises(ConfigError, match="params key 'evaluate.combine'"):
        validate(EvaluateConfig, {"combine": value}, section="evaluate")
    assert validate(EvaluateConfig, {"combine": 0.2}).combine == 0.2
    assert validate(EvaluateConfig, {}).combine == 0.0  # the network alone by default
    assert validate(EvaluateConfig, {"combine": "auto"}).combine == "auto"
