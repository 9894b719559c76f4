"""pandas' Periods in Parquet (a PeriodIndex saved by ``to_parquet``) read as times."""

import numpy as np
import pandas as pd
import pytest

from attnlib.datasets import read_source
from attnlib.datasets.times import read_times
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


@pytest.mark.filterwarnings("ignore::FutureWarning")  # pandas deprecates business-day periods
@pytest.mark.parametrize("freq", ["Q-NOV", "W-WED", "B", "15min", "2M"])
def test_anchored_and_multiple_frequencies_start_where_pandas_says(tmp_path, freq):
    frame = monthly(freq)
    frame.to_parquet(tmp_path / "p.parquet")
    out = read_source(tmp_path / "p.parquet")
    starts = [t.date() for t in frame.index.to_timestamp(how="start")]
    assert read_times(out["time"]).dt.date().to_list() == starts


def test_periods_are_told_by_their_type_when_pandas_metadata_is_gone(tmp_path):
    import polars as pl
    import pyarrow.parquet as pq

    frame = monthly().reset_index(names="month")
    frame.to_parquet(tmp_path / "p.parquet")
    pl.read_parquet(tmp_path / "p.parquet").write_parquet(tmp_path / "polars.parquet")
    table = pq.read_table(tmp_path / "p.parquet")
    pq.write_table(table.replace_schema_metadata(None), tmp_path / "bare.parquet")
    expected = read_source(tmp_path / "p.parquet")
    for name in ("polars.parquet", "bare.parquet"):
        assert pq.read_schema(tmp_path / name).pandas_metadata is None
        assert read_source(tmp_path / name).equals(expected), name


def integer_periods(tmp_path, freq: str):
    """A file as older tools leave it: the periods as plain integers, the frequency only
    in pandas' metadata (``freq`` as pandas < 2.2 spelled it)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    ordinals = pa.array(np.arange(20, 50), pa.int64())
    table = pa.table({"year": ordinals, "sales": np.arange(30.0)})
    meta = {"index_columns": [], "columns": [
        {"name": "year", "field_name": "year", "numpy_type": f"period[{freq}]"},
        {"name": "sales", "field_name": "sales", "numpy_type": "float64"}]}  # fmt: skip
    table = table.replace_schema_metadata({"pandas": json.dumps(meta)})
    pq.write_table(table, tmp_path / "old.parquet")
    return tmp_path / "old.parquet"


def test_pandas_old_frequency_codes_still_read(tmp_path):
    out = read_source(integer_periods(tmp_path, "A-DEC"))  # pandas 3 says Y-DEC
    assert out["time"][0].startswith("1990-01-01") and out["time"][29].startswith("2019")


def test_a_frequency_pandas_cannot_read_leaves_the_ordinals_with_a_warning(tmp_path, caplog):
    out = read_source(integer_periods(tmp_path, "XYZ"))
    assert out["time"].to_list()[:2] == ["20", "21"]
    assert "holds pandas Periods of frequency 'XYZ', which pandas" in caplog.text
