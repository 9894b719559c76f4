"""Classification and forecasting baselines, and train-only scaling statistics."""

import numpy as np
import pytest

from attnlib.baselines.classic import majority, nn1_euclidean, resample, tfidf_svm
from attnlib.baselines.forecast import guess_season, holt_winters, seasonal_naive
from attnlib.errors import DataError
from attnlib.scaling import Standardizer


def test_majority_breaks_ties_by_the_smallest_id():
    assert majority([2, 1, 1, 2, 0], 3).tolist() == [1, 1, 1]


def test_tfidf_svm_learns_a_word_rule():
    texts = ["good film", "great good", "bad film", "awful bad", "good plot", "bad plot"] * 3
    labels = [1, 1, 0, 0, 1, 0] * 3
    assert tfidf_svm(texts, labels, ["a good one", "so bad"]).tolist() == [1, 0]


def test_nn1_euclidean_resamples_unequal_lengths():
    up = [np.linspace(0, 1, 10)[:, None], np.linspace(0, 1, 7)[:, None]]
    down = [np.linspace(1, 0, 8)[:, None]]
    pred = nn1_euclidean(up + down, [0, 0, 1], [np.linspace(1, 0, 5)[:, None]])
    assert pred.tolist() == [1]
    assert resample(np.arange(3.0)[:, None], 5)[:, 0].tolist() == [0, 0.5, 1, 1.5, 2]


def test_seasonal_naive_repeats_the_last_season():
    history = np.arange(1, 9, dtype=float)  # season 4: last season is 5 6 7 8
    assert seasonal_naive(history, 6, 4).tolist() == [5, 6, 7, 8, 5, 6]
    assert seasonal_naive(history, 2, 1).tolist() == [8, 8]


def test_holt_winters_follows_trend_and_season():
    t = np.arange(72, dtype=float)
    y = 50 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12)
    pred = holt_winters(y[:60], 12, 12)
    assert np.abs(pred - y[60:]).max() < 2.5  # the naive forecast is off by ~6


def test_guess_season_from_time_stamps():
    assert guess_season(["2000-01", "2000-02", "2000-03"]) == 12
    assert guess_season(["2000-01-01", "2000-04-01", "2000-07-01"]) == 4
    assert guess_season(["2000-01-01", "2000-01-02", "2000-01-03"]) == 7
    assert guess_season(["a", "b", "c"], default=3) == 3
    # quarters as pandas (1970Q1) and R / statsmodels users write them
    assert guess_season(["1970-Q1", "1970-Q2", "1970-Q3", "1970-Q4", "1971-Q1"]) == 4
    assert guess_season(["1970Q3", "1970Q4", "1971Q1"]) == 4
    halves = ["2021-05-01 00:00", "2021-05-01 00:30", "2021-05-01 01:00"]
    assert guess_season(halves) == 48 and guess_season(halves[::2] + ["2021-05-01 02:00"]) == 24


def test_standardizer_round_trip_and_log():
    train = [np.array([[1.0, 10.0], [3.0, 10.0]])]
    s = Standardizer.fit(train)
    assert s.mean == (2.0, 10.0) and s.std == (1.0, 1.0)  # constant channel: std 1
    z = s.transform(np.array([[4.0, 12.0]]))
    assert z.tolist() == [[2.0, 2.0]]
    assert np.allclose(s.inverse(z), [[4.0, 12.0]])
    lg = Standardizer.fit([np.array([[1.0], [100.0]])], log=True)
    assert np.allclose(lg.inverse(lg.transform(np.array([[50.0]]))), 50.0)
    assert Standardizer.from_dict(lg.to_dict()) == lg
    assert s.select([1]).mean == (10.0,)
    with pytest.raises(DataError, match="expected 2 channel"):
        s.transform(np.zeros((3, 1)))
