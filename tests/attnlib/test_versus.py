"""eval.json's ``versus``: the model against every baseline, per metric, in one verdict."""

from __future__ import annotations

import pytest

from attnlib.versus import versus


def test_classifier_that_beats_every_baseline():
    report = {"model": {"accuracy": 0.9, "macro_f1": 0.8, "test_sequences": 500},
              "majority": {"accuracy": 0.2, "macro_f1": 0.05},
              "tfidf_svm": {"accuracy": 0.85, "macro_f1": 0.82}}  # fmt: skip
    out = versus(report, "accuracy")
    assert out["beats_all"] and out["best_baseline"] == "tfidf_svm"
    assert out["baseline"] == 0.85 and out["margin"] == pytest.approx(0.05)
    # macro F1 loses to the SVM; a count is no metric
    assert out["beats_all_by_metric"] == {"accuracy": True, "macro_f1": False}
    assert out["verdict"].startswith("beats every baseline on accuracy: 0.9 vs 0.85 (tfidf_svm")
    assert "not better on macro_f1 (tfidf_svm)" in out["verdict"]


def test_forecast_lower_is_better_and_a_loss_on_another_metric():
    # lynx-like: better MAPE than every baseline, worse MAE than the seasonal naive
    report = {"model": {"mape": 62.2, "mae": 1131.0, "season": 10, "test_windows": 1},
              "naive": {"mape": 65.7, "mae": 1428.0},
              "seasonal_naive": {"mape": 68.4, "mae": 871.0},
              "holt_winters": {"mape": 88.5, "mae": 1634.0}}  # fmt: skip
    out = versus(report, "mape")
    assert out["beats_all"] and out["best_baseline"] == "naive"
    assert out["margin"] == pytest.approx(65.7 - 62.2)  # positive: the model is better
    assert out["beats_all_by_metric"] == {"mape": True, "mae": False}
    assert "not better on mae (seasonal_naive)" in out["verdict"]
    # forecasting's own headline, MASE, ranks like MAE (one scale for model and baselines)
    for m in report.values():
        m["mase"] = m["mae"] / 900.0
    out = versus(report, "mase")
    assert not out["beats_all"] and out["best_baseline"] == "seasonal_naive"


def test_figures_that_are_not_numbers_are_left_out():
    nan = float("nan")
    report = {"model": {"mase": 0.5, "mae": nan},
              "naive": {"mase": nan, "mae": 1.0},  # e.g. a constant train part: no scale
              "holt_winters": {"mase": 0.8, "mae": None},
              "seasonal_naive": {"mase": None}}  # fmt: skip
    out = versus(report, "mase")
    assert out["best_baseline"] == "holt_winters" and out["beats_all"]
    assert out["beats_all_by_metric"] == {"mase": True}  # the model's NaN MAE: not compared
    assert versus({"model": {"mase": nan}, "naive": {"mase": 1.0}}, "mase") == {}
    assert versus({"model": {"mase": None}, "naive": {"mase": 1.0}}, "mase") == {}


def test_a_model_that_loses_has_a_negative_margin():
    report = {"model": {"perplexity": 40.0}, "kneser_ney": {"perplexity": 32.1, "order": 3}}
    out = versus(report, "perplexity")
    assert not out["beats_all"] and out["margin"] == pytest.approx(-7.9)
    assert out["verdict"].startswith("does not beat every baseline on perplexity")


def test_a_tie_is_not_a_win():
    report = {"model": {"accuracy": 0.5}, "majority": {"accuracy": 0.5}}
    assert versus(report, "accuracy")["beats_all"] is False


def test_nothing_to_compare():
    assert versus({"model": {"accuracy": 0.5}}, "accuracy") == {}
    assert versus({"model": {"mae": 1.0}, "naive": {"mape": 2.0}}, "mape") == {}


def test_a_forecasts_network_alone_is_part_of_the_model_not_a_baseline():
    """The reported forecast combines the network with Holt-Winters (attnlib.combination);
    the network alone beside it is not a baseline to beat."""
    report = {"model": {"mase": 0.8}, "network": {"mase": 0.7},
              "seasonal_naive": {"mase": 0.9}}  # fmt: skip
    out = versus(report, "mase")
    assert out["beats_all"] and out["best_baseline"] == "seasonal_naive"
    assert versus({"model": {"mase": 0.8}, "network": {"mase": 0.7}}, "mase") == {}
