"""Temperature scaling and the calibration metrics."""

import numpy as np
import pytest

from attnlib.errors import DataError
from attnlib.trust.calibration import (
    brier,
    calibration_report,
    ece,
    ece_floor,
    fit_temperature,
    nll,
    reliability_bins,
    to_probs,
)


def _overconfident(n, k, seed, scale=4.0):
    """Labels drawn from softmax(z); the 'model' reports scale * z: over-confident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, k))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (p.cumsum(1) < rng.uniform(size=(n, 1))).sum(1)  # one draw from each row of p
    return scale * z, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_temperature_lowers_held_out_nll_of_an_overconfident_model(seed):
    val_logits, val_y = _overconfident(3000, 5, seed)
    test_logits, test_y = _overconfident(10000, 5, seed + 100)
    t = fit_temperature(val_logits, val_y)
    assert 3.0 < t < 5.5  # the true temperature is 4
    rep = calibration_report(test_logits, test_y, t)
    assert rep["nll_after"] < rep["nll_before"] - 0.1
    assert rep["ece_after"] < rep["ece_before"]
    assert rep["ece_after"] < 0.03
    assert rep["brier_after"] < rep["brier_before"]


def test_a_validation_split_without_errors_keeps_the_model_as_it_is():
    # a small UCR-style validation split that the model gets all right: the NLL keeps
    # falling as T -> 0, and a T at the lower bound made test errors near-certain
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    z = rng.normal(0, 1, (40, 3))
    z[np.arange(40), y] += 2.0 + np.abs(z).max()  # every item right, by a margin
    assert fit_temperature(z, y) == 1.0
    z[0] = np.roll(z[0], 1)  # one error: a finite optimum again
    assert fit_temperature(z, y) != 1.0


def test_binary_single_logits_are_a_two_class_softmax():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, size=4000)
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-z))).astype(int)
    t = fit_temperature(3 * z, y)
    assert 2.5 < t < 3.6
    p = to_probs(3 * z, t)
    assert p.shape == (4000, 2)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-3 * z / t)), rtol=1e-9)
    # an under-confident model gets T < 1
    assert fit_temperature(0.3 * z, y) < 0.5


def test_temperature_keeps_the_decisions():
    logits, y = _overconfident(500, 4, 3)
    t = fit_temperature(logits, y)
    assert (to_probs(logits, t).argmax(1) == logits.argmax(1)).all()


def test_metrics_on_a_hand_checked_example():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]])
    y = np.array([0, 1, 1, 1])
    # bins (15 equal): 0.9 -> bin 13, 0.6 -> bin 8, 0.8 -> bin 11, 0.55 -> bin 8
    # bin 8: conf (0.6 + 0.55) / 2 = 0.575, acc 0.5; bin 11: 0.8 vs 1; bin 13: 0.9 vs 1
    expected_ece = 0.5 * 0.075 + 0.25 * 0.2 + 0.25 * 0.1
    assert ece(probs, y) == pytest.approx(expected_ece)
    expected_brier = np.mean([0.02, 0.72, 0.08, 2 * 0.45**2])
    assert brier(probs, y) == pytest.approx(expected_brier)
    assert nll(probs, y) == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.8, 0.55])))
    bins = reliability_bins(probs, y)
    assert bins["count"].sum() == 4 and bins["count"][8] == 2


def test_perfectly_calibrated_probabilities_have_small_ece():
    rng = np.random.default_rng(5)
    conf = rng.uniform(0.5, 1.0, size=20000)
    correct = rng.uniform(size=20000) < conf
    y = np.where(correct, 1, 0)
    probs = np.stack([1 - conf, conf], 1)
    assert ece(probs, y) < 0.015


@pytest.mark.parametrize(
    "logits, labels, match",
    [
        (np.zeros((3, 2)), np.array([0, 1]), "got"),
        (np.array([[np.nan, 0.0]]), np.array([0]), "NaN"),
        (np.zeros((2, 3)), np.array([0, 3]), r"\[0, 3\)"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "empty"),
    ],
)
def test_bad_input_is_a_data_error(logits, labels, match):
    with pytest.raises(DataError, match=match):
        fit_temperature(logits, labels)


def test_temperature_scaled_model_exports_to_onnx_with_the_temperature_inside(tmp_path):
    import torch

    from attnlib.config import ModelConfig
    from attnlib.export import export_onnx, parity_check
    from attnlib.models import build_model
    from attnlib.trust.calibration import TemperatureScaled

    torch.manual_seed(0)
    model = build_model(ModelConfig(task="classify", vocab_size=12, embedding_dim=8,
                                    hidden_dim=8, num_classes=4))  # fmt: skip
    x = torch.randint(2, 12, (6, 7))
    lengths = torch.tensor([7, 5, 3, 7, 1, 2])
    scaled = TemperatureScaled(model, 2.5).eval()
    y, w = scaled(x, lengths, return_attention=True)
    y0, w0 = model.eval()(x, lengths, return_attention=True)
    torch.testing.assert_close(y, y0 / 2.5)
    torch.testing.assert_close(w, w0)
    path = export_onnx(scaled, tmp_path / "m.onnx", example=(x, lengths))
    assert parity_check(scaled, path, [(x, lengths, None)]) < 1e-4
    assert parity_check(model, path, [(x, lengths, None)]) > 1e-3  # the graph is calibrated
    assert set(scaled.state_dict()) == {"temperature"} | {f"model.{k}" for k in model.state_dict()}
    with pytest.raises(ValueError, match="> 0"):
        TemperatureScaled(model, 0.0)


def test_calibrate_fits_on_validation_and_scores_test():
    from attnlib.trust import calibrate

    val_logits, val_y = _overconfident(2000, 3, 8)
    test_logits, test_y = _overconfident(2000, 3, 9)
    rep = calibrate(val_logits, val_y, test_logits, test_y)
    assert rep["temperature"] == pytest.approx(fit_temperature(val_logits, val_y))
    assert rep["n"] == 2000 and rep["nll_after"] < rep["nll_before"]
    # the accuracy of the predictions the temperature was fitted on, not of test's
    assert rep["accuracy_fitted_on"] == pytest.approx((val_logits.argmax(1) == val_y).mean())
    assert rep["accuracy_fitted_on"] != pytest.approx((test_logits.argmax(1) == test_y).mean())
    binary = calibrate(np.array([2.0, -1.0, 0.5]), np.array([1, 0, 0]),
                       np.array([-3.0, 1.0]), np.array([0, 1]))  # fmt: skip
    assert binary["accuracy_fitted_on"] == pytest.approx(2 / 3)  # one logit each: z > 0 is 1


def test_real_positions_drops_padding_targets():
    from attnlib.trust.calibration import real_positions

    logits = [np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4), np.ones((1, 2, 4))]
    targets = [np.array([[1, 2, 0], [3, 0, 0]]), np.array([[0, 2]])]
    z, y = real_positions(logits, targets)
    assert y.tolist() == [1, 2, 3, 2]
    np.testing.assert_array_equal(z[:3], logits[0].reshape(-1, 4)[[0, 1, 3]])
    assert z.shape == (4, 4)


def _calibrated(n, k, seed):
    """Probabilities and labels drawn from them: a perfectly calibrated model."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, k))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return p, (p.cumsum(1) < rng.uniform(size=(n, 1))).sum(1)


def test_the_ece_floor_is_the_noise_of_a_perfectly_calibrated_model():
    # 60 perfectly calibrated test splits of 500 items: their ECE is the floor's noise, so
    # about 90 % of them fall below its 90th percentile
    below = []
    for seed in range(60):
        p, y = _calibrated(500, 3, seed)
        floor = ece_floor(p, seed=seed)
        assert 0 < floor["mean"] < floor["p90"]
        below.append(ece(p, y) <= floor["p90"])
    assert 0.75 <= np.mean(below) <= 0.98
    # an over-confident model of the same size is above it
    logits, y = _overconfident(500, 3, 0, scale=3.0)
    p = to_probs(logits)
    assert ece(p, y) > ece_floor(p)["p90"] + 0.05


def test_the_ece_floor_falls_with_the_number_of_items():
    small, large = _calibrated(500, 3, 0)[0], _calibrated(50_000, 3, 0)[0]
    f_small, f_large = ece_floor(small)["mean"], ece_floor(large)["mean"]
    assert f_small > 0.02  # 500 items in 15 bins: a few points of noise
    assert f_large < f_small / 5  # about 1 / sqrt(n): 10x fewer points at 100x the items
    assert ece_floor(small) == ece_floor(small)  # seeded: the same figure every run


def test_the_report_gives_the_floor_of_the_calibrated_probabilities():
    logits, y = _overconfident(2000, 4, 0)
    rep = calibration_report(logits, y, 4.0)
    floor = ece_floor(to_probs(logits, 4.0))
    assert rep["ece_floor_after"] == floor["mean"]
    assert rep["ece_floor_p90_after"] == floor["p90"]
