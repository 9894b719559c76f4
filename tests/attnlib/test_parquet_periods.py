"""pandas' Periods in Parquet (a PeriodIndex saved by ``to_parquet``) read as times."""

import numpy as np
import pandas as pd
import pytest

from attnlib.datasets import read_source
from attnlib.datasets.series import read_times
from attnlib.errors import DataError


def monthly(freq: str = "M", n: int = 30) -> pd.DataFrame:
    index = pd.period_range("1990-01-01", periods=n, freq=freq)
    return pd.DataFrame({"sales": np.sin(np.arange(n)) + np.arange(n) / 10}, index=index)


@pytest.mark.parametrize("freq", ["M", "Q", "Y", "W", "D", "h"])
def test_a_period_index_reads_as_the_same_frame_saved_with_timestamps(tmp_path, freq):
    frame = monthly(freq)
    frame.to_parquet(tmp_path / "p.parquet")  # ordinals (1990-01 is 240) + the frequency
    frame.to_timestamp(how="start").to_parquet(tmp_path / "t.parquet")
    periods, stamps = read_source(tmp_path / "p.parquet"), read_source(tmp_path / "t.parquet")
    assert periods.equals(stamps)
    assert periods.height == 30 and periods["sales"].to_list() == frame["sales"].tolist()
    assert periods["time"][0].startswith("1990-01-01")  # not the ordinal 240, 80 or 20


def test_a_period_column_that_is_not_the_index_is_a_time_too(tmp_path):
    frame = monthly().reset_index(names="month")
    frame.to_parquet(tmp_path / "c.parquet")
    out = read_source(tmp_path / "c.parquet")
    assert out["time"][1].startswith("1990-02-01")
    assert out.columns == ["time", "sales"]


def test_a_missing_period_is_an_error_at_its_row(tmp_path):
    frame = monthly().reset_index(names="month")
    frame.loc[3, "month"] = pd.NaT
    frame.to_parquet(tmp_path / "n.parquet")
    with pytest.raises(DataError, match=r"n\.parquet, row 4: missing time in 'month'"):
        read_source(tmp_path / "n.parquet")


def test_pandas_weeks_as_text_read_as_their_first_day(tmp_path):
    frame = monthly("W")
    frame.to_csv(tmp_path / "w.csv")  # 1990-01-01/1990-01-07, ...
    out = read_source(tmp_path / "w.csv")
    days = read_times(out["time"])
    expected = [t.date() for t in frame.index.to_timestamp(how="start")]
    assert days.dt.date().to_list() == expected
