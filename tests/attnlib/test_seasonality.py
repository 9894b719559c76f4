import numpy as np
import pytest

from attnlib.datasets import load_builtin
from attnlib.seasonality import find_season, season_rule, wants_log
from attnlib.windows import assign_time_splits


def _cycle(n: int, period: int, seed: int = 0, amp: float = 8.0, noise: float = 1.5):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 50 + 0.3 * t + amp * np.sin(2 * np.pi * t / period) + rng.normal(0, noise, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_seven_year_cycle_is_found_in_yearly_data(seed):
    y = _cycle(96, 7, seed)
    assert find_season(y, max_lag=24)[0] == 7
    times = [str(1900 + i) for i in range(96)]  # yearly stamps: the calendar says 1
    assert season_rule(y, 24, times)[0] == 7


@pytest.mark.parametrize("name", ["airline", "co2"])
def test_monthly_builtins_keep_twelve(name):
    raw = load_builtin(name)
    values = raw.drop("time").to_numpy().astype(float)
    split = assign_time_splits(raw.height, val=0.1, test=0.1, lookback=24, horizon=12)
    assert find_season(values[split == "train"], max_lag=24)[0] == 12


@pytest.mark.parametrize("seed", range(5))
def test_noise_and_random_walks_have_no_season(seed):
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=120)
    assert find_season(noise, 24)[0] == 1
    assert find_season(np.cumsum(noise), 24)[0] == 1


def test_a_period_longer_than_the_lookback_is_found_for_the_baselines():
    import polars as pl
    from sktime.datasets import load_solar

    from attnlib.seasonality import series_rules
    from attnlib.tasks.forecast import delta_lag

    solar = load_solar(api_version=None)  # six days of half-hourly UK solar output (shipped)
    raw = pl.DataFrame({"time": [str(t) for t in solar.index], "solar": solar.to_numpy()})
    rules = series_rules(raw, lookback=24, horizon=12, val=0.1, test=0.1)
    assert rules.season == 48 and not rules.drifts, rules.reasons
    assert rules.within_lookback == 1  # no period the residual target can use: levels
    assert delta_lag("season", rules.within_lookback, 24, rules.drifts)[0] == 0
    # local_level set by hand needs residuals: the rule gives it the last value's, and the
    # encode stage says why instead of refusing a delta the user never set
    lag, why = delta_lag("season", rules.within_lookback, 24, rules.drifts, local=True)
    assert lag == 1 and "local_level is set" in why
    from attnlib.encoding import EncodeOptions
    from attnlib.tasks import get_task

    opt = EncodeOptions(delta="season", log="auto", local_level=True)
    _, meta = get_task("forecast").encode(raw, "long", opt, source="solar")
    assert meta["forecast"]["delta"] == 1 and meta["model_fields"]["local_level"] is True


def _hourly(n: int) -> list[str]:
    from datetime import datetime, timedelta

    return [
        (datetime(2024, 1, 1) + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M") for i in range(n)
    ]


@pytest.mark.parametrize("period", [23, 25])
def test_a_peak_one_or_two_lags_off_the_calendar_is_the_calendar_period(period):
    t = np.arange(600)
    y = np.sin(2 * np.pi * t / period) + np.random.default_rng(0).normal(0, 0.1, 600)
    assert find_season(y, 600)[0] == period  # what the ACF says ...
    assert season_rule(y, 600, _hourly(600))[0] == 24  # ... a lag off the hourly day: 24
    assert season_rule(y, 600, [str(i) for i in t])[0] == period  # no calendar: as found
    far = np.sin(2 * np.pi * t / 27) + np.random.default_rng(0).normal(0, 0.1, 600)
    assert season_rule(far, 600, _hourly(600))[0] == 27  # three lags off: a period of its own
    # a real period 5 in quarterly data is not the calendar's 4 (a lag is a quarter of it)
    quarters = [f"{1900 + i // 4}-Q{i % 4 + 1}" for i in range(160)]
    assert season_rule(_cycle(160, 5, 0), 160, quarters)[0] == 5


def test_the_residual_target_takes_the_calendar_period_inside_a_longer_one():
    from attnlib.seasonality import calendar_within

    assert calendar_within(168, 24, _hourly(5)) == 24  # the week holds days: the day
    assert calendar_within(167, 24, _hourly(5)) == calendar_within(169, 24, _hourly(5)) == 24
    assert calendar_within(180, 24, _hourly(5)) == 1  # half a day off: not days
    assert calendar_within(168, 12, _hourly(5)) == 1  # the day does not fit in the lookback
    assert (
        calendar_within(48, 24, [f"2024-01-01 {h // 2:02d}:{h % 2 * 30:02d}" for h in range(5)])
        == 1
    )
    assert calendar_within(30, 24, [str(1900 + i) for i in range(5)]) == 1  # yearly: none


@pytest.mark.parametrize("seed", range(3))
def test_hourly_days_inside_weeks_keep_a_daily_residual_target(seed):
    import polars as pl

    from attnlib.seasonality import series_rules

    t = np.arange(24 * 7 * 6)
    noise = np.random.default_rng(seed).normal(0, 0.5, len(t))
    weekend = (t // 24) % 7 >= 5

    def rules(dip: float, lookback: int):
        y = 10 + 3 * np.sin(2 * np.pi * t / 24) - dip * weekend + noise
        return series_rules(pl.DataFrame({"time": _hourly(len(t)), "v": y}), lookback=lookback,
                            horizon=12, val=0.1, test=0.1)  # fmt: skip

    weekly = rules(4.0, 24)  # a deep weekend dip: the week is the series' period
    assert (weekly.season, weekly.within_lookback) == (168, 24)  # the target: the day
    daily = rules(2.0, 23)  # the day is the period, and it does not fit in 23 steps
    assert (daily.season, daily.within_lookback) == (24, 1)  # none (a detection over
    # lags 2..23 found a false 2 or 3 in this smooth, noisy series)


@pytest.mark.parametrize("seed", range(3))
def test_a_smooth_daily_curve_with_a_little_noise_is_not_period_two(seed):
    # differencing a smooth curve plus noise lifts lag 2 over lag 1: no cycle, since the
    # ACF never went below zero before it (it did find 2 before that check)
    t = np.arange(288)
    day = np.clip(np.sin(2 * np.pi * (t % 48 - 12) / 48), 0, None)
    y = day + np.random.default_rng(seed).normal(0, 0.05, 288)
    assert find_season(y, max_lag=288)[0] in (47, 48)  # the peak, not yet the calendar's
    alternating = np.where(t % 2, 1.0, -1.0) + np.random.default_rng(seed).normal(0, 0.3, 288)
    assert find_season(alternating, max_lag=288)[0] == 2  # a real period 2 is kept


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("period", [30, 45])
def test_a_long_noisy_cycle_of_a_stationary_series_is_read_off_its_level(period, seed):

    # daily, no trend: differenced, this cycle shrinks to 2 sin(pi / 45) of itself under
    # doubled noise, and the differences found 2, 3, 43, 90 or nothing on these seeds
    y = _cycle(580, period, seed) - 0.3 * np.arange(580)
    assert find_season(y, 580) == (period, "the train part")
    assert find_season(y, 580, drifts=True) == (period, "the detrended train part")
    from datetime import date, timedelta

    days = [(date(2020, 1, 1) + timedelta(days=i)).isoformat() for i in range(580)]
    season, why = season_rule(y, 580, days)  # the calendar's week (7) does not override it
    assert season == period and "lags 2..193 of the train part" in why


def test_a_long_noisy_cycle_under_a_trend_is_read_off_the_detrended_level():
    from attnlib.seasonality import acf_peak, level_drifts, testable

    t = np.arange(730)
    found, differences = [], []
    for seed in range(10):
        noise = np.random.default_rng(seed).normal(0, 1.5, 730)
        y = 50 + 0.05 * t + 8 * np.sin(2 * np.pi * t / 45) + noise
        assert level_drifts(y)[0]  # KPSS: the level drifts
        found.append(find_season(y, 730))
        differences.append(acf_peak(np.diff(y), testable(730, 730)))
    assert found == [(45, "the detrended train part")] * 10, found
    assert sum(d == 45 for d in differences) <= 3, differences  # the differences alone: 2


@pytest.mark.parametrize(("phi", "n"), [(0.5, 300), (0.9, 300), (0.7, 1000)])
def test_a_stationary_series_without_a_cycle_has_no_season(phi, n):
    # its level is read as it is: an AR(1)'s slow decay is no cycle, nor are the long
    # lags its ACF wanders to (against the plain floor, 1,000 steps of phi = 0.7 had
    # false periods of 135-312 in 8 of 40 series)
    found = []
    for seed in range(10):
        e = np.random.default_rng(seed).normal(size=n)
        x = np.zeros(n)
        for i in range(1, n):
            x[i] = phi * x[i - 1] + e[i]
        found.append(find_season(x, n)[0])
    assert found == [1] * 10, found


@pytest.mark.parametrize("n", [300, 1000, 3000])
def test_long_noise_has_no_season_when_every_lag_is_tested(n):
    # more lags, higher noise peaks: the floor grows with them (10 seeds, at most 1 false)
    found = [find_season(np.random.default_rng(s).normal(size=n), max_lag=n)[0] for s in range(10)]
    assert sum(f not in (1, None) for f in found) <= 1, found


def test_too_short_a_series_falls_back_to_the_time_column():
    y = _cycle(20, 12)
    assert find_season(y, 24)[0] == 1  # lags 2..6 tested: none is a peak
    assert find_season(y[:6], 24)[0] is None  # nothing testable
    times = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(20)]
    season, why = season_rule(y, 24, times)
    assert season == 12 and "time column" in why  # 12 is beyond what 20 steps can test
    assert season_rule(y, 24, [str(1990 + i) for i in range(20)])[0] == 1  # yearly: 1


def test_channels_are_judged_together():
    y = np.stack([_cycle(96, 7, 0), _cycle(96, 7, 1) * 10], axis=1)  # (N, 2)
    assert find_season(y, 24)[0] == 7


def _level(n=144, seed=0):
    t = np.arange(n)
    return t, 100 * np.exp(0.01 * t), np.random.default_rng(seed)


@pytest.mark.parametrize("seed", range(3))
def test_log_for_multiplicative_not_for_additive_seasonality(seed):
    t, level, rng = _level(seed=seed)
    season = np.sin(2 * np.pi * t / 12)
    mult = level * (1 + 0.2 * season) * np.exp(rng.normal(0, 0.02, t.size))
    add = level + 20 * season + rng.normal(0, 2, t.size)
    assert wants_log(mult, 12)[0] is True
    assert wants_log(add, 12)[0] is False


def test_log_needs_positive_values_and_a_season():
    t, level, rng = _level()
    mult = level * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    on, why = wants_log(mult - 200, 12)
    assert not on and "<= 0" in why
    assert wants_log(mult, 1)[0] is False
    assert wants_log(mult[:40], 12)[0] is False  # 2 full periods: too few to judge


def test_airline_gets_log():
    raw = load_builtin("airline")
    y = raw["passengers"].to_numpy()[:110]
    assert wants_log(y, 12)[0] is True


def test_series_rules_read_the_train_part_of_a_long_table():
    import polars as pl

    from attnlib.seasonality import series_rules

    y = _cycle(150, 7)
    y[-24:] += 500  # val / test (12 steps each): never read (a jump in train breaks the ACF)
    raw = pl.DataFrame({"time": [str(1850 + i) for i in range(150)], "value": y})
    rules = series_rules(raw, lookback=24, horizon=12, val=0.1, test=0.1)
    assert (rules.season, rules.log) == (7, False)
    assert "ACF peak" in rules.reasons[0] and rules.reasons[1].startswith("log off")
    forced = series_rules(raw, lookback=24, horizon=12, val=0.1, test=0.1, log=True)
    assert forced.log is True and forced.reasons[1] == "log on: as set"


def test_multi_year_cycles_of_real_yearly_series():
    import polars as pl
    import statsmodels.api as sm
    from sktime.datasets import load_lynx

    from attnlib.seasonality import series_rules

    lynx = load_lynx()  # Canadian lynx trappings: a ~10-year cycle
    sun = sm.datasets.sunspots.load_pandas().data  # yearly sunspot numbers: ~11 years
    cases = (([str(p) for p in lynx.index], lynx.to_numpy(), 10),
             ([str(int(y)) for y in sun["YEAR"]], sun["SUNACTIVITY"], 11))  # fmt: skip
    for times, values, period in cases:
        raw = pl.DataFrame({"time": times, "value": np.asarray(values, dtype=float)})
        rules = series_rules(raw, lookback=24, horizon=12, val=0.1, test=0.1)
        assert rules.season == period
        assert rules.drifts is False, rules.reasons  # a stationary cycle: the level stays


def test_level_drift_is_detected_on_the_train_part():
    from attnlib.seasonality import level_drifts

    rng = np.random.default_rng(0)
    t = np.arange(200)
    cycle = np.sin(2 * np.pi * t / 12) + 0.3 * rng.standard_normal(200)
    assert level_drifts(cycle)[0] is False  # a stationary cycle
    assert level_drifts(cycle + 0.05 * t)[0] is True  # a trend
    walk = np.cumsum(rng.standard_normal(200))
    drifts, why = level_drifts(np.stack([cycle, walk], 1))  # any channel that wanders
    assert drifts is True and "KPSS" in why
    assert level_drifts(cycle[:10])[0] is False  # too short to judge


def test_local_level_rule_and_its_guard():
    from attnlib.errors import DataError
    from attnlib.tasks.forecast import local_level

    assert local_level("auto", True, 12)[0] is True
    off, why = local_level("auto", True, 0)
    assert off is False and why == "local_level off: delta 0: the targets are levels"
    assert local_level("auto", False, 12)[0] is False
    assert local_level(False, True, 12) == (False, "local_level off: as set")
    with pytest.raises(DataError, match="encode.local_level"):
        local_level(True, False, 0)


def test_airline_drifts_and_is_read_relative_to_its_level():
    from attnlib.datasets import load_builtin
    from attnlib.encoding import EncodeOptions
    from attnlib.tasks import get_task

    raw = load_builtin("airline")
    opt = EncodeOptions(delta="season", log="auto", local_level="auto")
    _, meta = get_task("forecast").encode(raw, "long", opt, source="airline")
    assert meta["model_fields"]["local_level"] is True
    assert any(r.startswith("local_level on") for r in meta["rules"])
