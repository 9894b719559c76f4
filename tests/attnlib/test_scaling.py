"""Standardizer: global statistics, and per-series scaling for series whose scales spread."""

import numpy as np
import pytest

from attnlib.errors import DataError
from attnlib.scaling import Standardizer, level_features, scales_spread


def spread_series(n=12, length=30, channels=2, seed=0):
    """Sines whose amplitudes span six orders of magnitude, one per series."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)[:, None]
    return [10.0 ** (i % 7 - 3) * np.sin(t / (2 + i % 3) + np.arange(channels))
            + rng.normal(0, 1e-9, (length, channels)) for i in range(n)]  # fmt: skip


def test_global_scaling_is_unchanged_and_round_trips():
    x = [np.random.default_rng(i).normal(i, 2, (10 + i, 3)) for i in range(5)]
    s = Standardizer.fit(x)
    assert not s.per_series and s.channels == s.features == 3
    assert "reference" not in s.to_dict()
    both = np.concatenate(x)
    z = s.transform(both)
    assert np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), 1, atol=1e-5)
    assert np.allclose(s.inverse(z), both, atol=1e-4)
    assert Standardizer.from_dict(s.to_dict()) == s


def test_per_series_scaling_keeps_each_shape_and_its_scale():
    x = spread_series()
    s = Standardizer.fit(x, per_series=True)
    assert s.per_series and s.channels == 2 and s.features == 6
    out = [s.transform(a) for a in x]
    for a, z in zip(x, out, strict=True):
        assert z.shape == (len(a), 6) and z.dtype == np.float32
        # the values: each series by its own mean and deviation, so its shape survives
        assert np.allclose(z[:, :2].mean(0), 0, atol=1e-5)
        assert np.allclose(z[:, :2].std(0), 1, atol=1e-4)
        assert np.allclose(z[:, 2:], z[0, 2:])  # level channels: constant along the series
    # series 0 and 6 share a shape 10^6 apart: equal values, different level channels
    assert np.allclose(out[0][:, :2], out[6][:, :2], atol=1e-3)
    assert out[6][0, 2] - out[0][0, 2] > 2  # log deviation, standardised over train
    levels = np.stack([z[0, 2:] for z in out])
    assert np.allclose(levels.mean(0), 0, atol=1e-5) and np.allclose(levels.std(0), 1, atol=1e-4)
    assert Standardizer.from_dict(s.to_dict()) == s


def test_per_series_level_features_and_their_errors():
    ref = np.array([2.0])
    a = np.array([[1.0], [3.0]])  # mean 2, deviation 1
    assert np.allclose(level_features(a, ref), [np.log(0.5), np.arcsinh(1.0)])
    flat = level_features(np.full((4, 1), 5.0), ref)  # no deviation: floored, not -inf
    assert np.isfinite(flat).all()
    s = Standardizer.fit(spread_series(), per_series=True)
    with pytest.raises(DataError, match="expected 2 channel"):
        s.transform(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="no inverse"):
        s.inverse(np.zeros((5, 6)))
    bad = {**s.to_dict(), "reference": [1.0]}
    with pytest.raises(DataError, match="2 level statistics per reference channel"):
        Standardizer.from_dict(bad)
    for reference, message in ((["x", 1.0], "reference must be a list of numbers"),
                               ([1.0, 0.0], "reference deviations must be > 0")):  # fmt: skip
        with pytest.raises(DataError, match=message):
            Standardizer.from_dict({**s.to_dict(), "reference": reference})


def test_scales_spread():
    assert scales_spread(spread_series()) > 1e4
    z = [np.random.default_rng(i).normal(0, 1, (50, 2)) for i in range(20)]
    assert scales_spread(z) < 2
    assert scales_spread([np.zeros((5, 1))] * 4) == 1.0  # constant series: no spread


def test_constant_series_neither_spread_the_scales_nor_give_extreme_levels():
    z = [np.random.default_rng(i).normal(0, 1, (50, 1)) for i in range(20)]
    consts = [np.zeros((50, 1))] * 4 + [np.full((50, 1), 0.1)] * 3  # std 0, and ~1e-17
    assert scales_spread(z + consts) < 2  # constant series are no difference of scale
    s = Standardizer.fit(z + consts, per_series=True)
    for row in (np.full((30, 1), 1e10 / 3), np.array([[4.0]]), np.full((5, 1), 0.1)):
        out = s.transform(row)  # constant (rounding only) or a single step
        assert np.isfinite(out).all() and (out[:, 0] == 0).all()
        assert (np.abs(out[:, 1:]) <= 10).all()  # the level channels are clipped
    tiny = Standardizer.fit([a * 1e-12 for a in z], per_series=True)  # small, not constant
    assert np.allclose(tiny.transform(z[0] * 1e-12)[:, 0].std(), 1, atol=1e-4)


def test_log_scaling_rejects_values_it_cannot_take_in_every_split():
    x = [np.abs(np.random.default_rng(i).normal(0, 1, (20, 1))) for i in range(6)]
    for per_series in (False, True):
        s = Standardizer.fit(x, log=True, per_series=per_series)
        assert np.isfinite(s.transform(x[0])).all()
        with pytest.raises(DataError, match=r"encode.log: log1p scaling needs values > -1"):
            s.transform(x[0] - 3)  # a val / test / predicted row, not only train
    with pytest.raises(DataError, match="encode.log"):
        Standardizer.fit([a - 3 for a in x], log=True)
