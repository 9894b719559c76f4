"""A long table's time column: one value that is not a date (or number) like the others is
an error at its line, never a reason to skip the time-order check."""

import pytest
from typer.testing import CliRunner

from attnlib.baselines.forecast import guess_season
from attnlib.cli import app
from attnlib.datasets import read_source
from attnlib.errors import DataError

runner = CliRunner()


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("bad", ["2020-0201", "2020-13-01", "2020-02-31", "hello"])
def test_an_odd_date_among_dates_names_its_line(tmp_path, bad):
    path = write(tmp_path / "d.csv", f"date,value\n2020-05-01,1\n2020-03-01,2\n{bad},3\n")
    out = tmp_path / "out" / "r.parquet"
    out.parent.mkdir()
    result = runner.invoke(app, ["ingest", str(path), "--out", str(out)])
    assert result.exit_code == 2 and list(out.parent.iterdir()) == []
    assert result.stderr.strip() == (
        f"error: {path}, line 4: time '{bad}' is not a date like the others (2020-05-01)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,v\nhello,1\n2020-03-01,2\n2020-04-01,3\n",
         r"line 2: time 'hello' is not a date like the others \(2020-03-01\)"),
        ("month,v\n2020-01,1\n2020-13,2\n2020-03,3\n", r"line 3: time '2020-13' is not a date"),
        ("quarter,v\n2020-Q1,1\n2020-Q5,2\n2020-Q3,3\n", r"line 3: time '2020-Q5' is not a date"),
        ("t,v\n0,1\n1,2\nx,3\n", r"line 4: time 'x' is not a number like the others \(0\)"),
        ("date,v\n2020-01-01,1\nnope,2\n2019-12-01,3\n", r"line 3: time 'nope' is not a date"),
    ],
)  # fmt: skip
def test_the_odd_value_is_found_wherever_it_is(tmp_path, text, message):
    with pytest.raises(DataError, match=r"l\.csv, " + message):
        read_source(write(tmp_path / "l.csv", text), "long")


def test_dates_that_all_parse_are_still_checked_for_order(tmp_path):
    path = write(tmp_path / "b.csv", "date,v\n2020-05-01,1\n2020-03-01,2\n2020-06-01,3\n")
    with pytest.raises(DataError, match=r"b\.csv, line 3: time goes backwards"):
        read_source(path, "long")


def test_times_that_are_mostly_names_stay_in_file_order(tmp_path):
    path = write(tmp_path / "n.csv", "period,v\nspring,1\nsummer,2\n2020-01-01,3\n")
    assert read_source(path, "long")["time"].to_list() == ["spring", "summer", "2020-01-01"]


def test_the_season_guess_still_needs_every_time_to_parse():
    assert guess_season(["2020-01", "2020-02", "2020-03", "2020-04"]) == 12
    assert guess_season(["2020-01", "2020-02", "2020-0x", "2020-04"], default=3) == 3


@pytest.mark.parametrize("days", [[1, 15], list(range(1, 21))])
def test_month_first_dates_are_read_and_still_checked_for_order(tmp_path, days):
    """US dates (polars infers day-first): read month-first, so 01/15 is a date, and a step
    back is still an error."""
    rows = [f"{m:02d}/{d:02d}/2020,{i}" for i, (m, d) in enumerate(
        (m, d) for m in (1, 2) for d in days)]  # fmt: skip
    frame = read_source(write(tmp_path / "us.csv", "date,v\n" + "\n".join(rows) + "\n"))
    assert frame.height == len(rows)
    back = [rows[0], rows[2], rows[1]]
    with pytest.raises(DataError, match="line 4: time goes backwards"):
        read_source(write(tmp_path / "b.csv", "date,v\n" + "\n".join(back) + "\n"))


def test_sub_second_steps_are_in_order(tmp_path):
    rows = [f"2020-01-01 00:00:0{s // 2}.{5 * (s % 2)},{s}" for s in range(6)]
    assert read_source(write(tmp_path / "f.csv", "time,v\n" + "\n".join(rows) + "\n")).height == 6


@pytest.mark.parametrize("month_first", [True, False])
def test_monthly_dates_whose_days_are_all_12_or_less_are_months(month_first):
    """A monthly series names the same day every month: read day-first, ``02/01/2000`` (US,
    1 Feb) would be 2 Jan, twelve days a year, and the season would be a week's. Either
    order is read as months, by the regular steps it gives."""
    stamp = "{m:02d}/01/{y}" if month_first else "01/{m:02d}/{y}"
    times = [stamp.format(m=m, y=y) for y in range(2000, 2003) for m in range(1, 13)]
    assert guess_season(times) == 12
    days = [f"01/{d:02d}/2000" if month_first else f"{d:02d}/01/2000" for d in range(1, 32)]
    assert guess_season(days) == 7  # a day above 12 settles the order: daily stays daily


def test_ties_between_readings_go_to_the_regular_grid_and_odd_seeds_still_seed():
    """Two readings that read as many values, with as many steps back (a file with one
    step back is still read before the order check names it): the grid wins. A seed that
    polars takes a format from but reads as null alone (a two-digit year) still seeds."""
    from datetime import datetime

    import polars as pl

    from attnlib.datasets.times import read_times

    us = [f"{m:02d}/01/{y}" for y in (2000, 2001) for m in range(1, 13)]
    us[14], us[15] = us[15], us[14]
    assert read_times(pl.Series(us)).to_list()[:2] == [datetime(2000, 1, 1), datetime(2000, 2, 1)]
    mixed = ["1990-03-01", "02/03/1990", "03/03/1990", "1990-03-04", "05/03/1990", "07/03/90"]
    assert read_times(pl.Series(mixed))[1] == datetime(1990, 3, 2)


@pytest.mark.parametrize(
    ("text", "times", "channels", "season"),
    [
        ("year,quarter,Dp,R\n1972.0,2.0,1,2\n1972.0,3.0,3,4\n1972.0,4.0,5,6\n1973.0,1.0,7,8\n",
         ["1972-Q2", "1972-Q3", "1972-Q4", "1973-Q1"], ["Dp", "R"], 4),
        ("Year,Month,sales\n2020,11,1\n2020,12,2\n2021,1,3\n",
         ["2020-11", "2020-12", "2021-01"], ["sales"], 12),
        ("year,month,day,load\n2021,2,27,1\n2021,2,28,2\n2021,3,1,3\n",
         ["2021-02-27", "2021-02-28", "2021-03-01"], ["load"], 7),
    ],
)  # fmt: skip
def test_a_year_that_repeats_is_joined_with_its_quarter_month_and_day(tmp_path, text, times,
                                                                    channels, season):  # fmt: skip
    got = read_source(write(tmp_path / "c.csv", text), "long")
    assert got["time"].to_list() == times and got.columns == ["time", *channels]
    assert guess_season(times) == season  # the joined stamps carry the calendar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("year,quarter,v\n1972,4,1\n1972,5,2\n",
         r"line 3: column 'quarter': '5' is not a whole number 1-4 \(the year repeats"),
        ("year,quarter,v\n1972,1,1\n1972,,2\n",
         r"line 3: column 'quarter': an empty cell is not a whole number 1-4"),
        ("year,month,day,v\n2021,2,29,1\n2021,2,30,2\n2021,2,31,3\n2021,3,1,4\n",
         r"line 2: 2021-02-29 is not a date"),  # a majority of bad dates too
        ("year,quarter,month,v\n2020,1,1,1\n2020,2,2,2\n",
         r"line 3: column 'quarter': quarter 2 but month 2"),
        ("year,month,v\n2020,Q1,1\n2020,Q2,2\n",
         r"line 2: column 'month': 'Q1' is not a whole number 1-12"),  # Q is a quarter's only
        ("year,month,day,v\n1900,2,28,1\n1900,2,29,2\n", r"line 3: 1900-02-29 is not a date"),
        ("year,quarter,v\n1972,1,1\n1972,1,2\n",
         r"line 3: time \('year' \+ 'quarter'\) '1972-Q1' repeats line 2"),
        ("year,quarter,v\n1972,2,1\n1972,1,2\n1972,3,3\n", r"line 3: time goes backwards"),
        ("year,month,v\n1,2,1\n1,1,2\n",
         r"line 2: column 'year': '1' is not a whole year 1000-9999 \(it repeats, so 'month'"),
        ("year,quarter,v\n1972,1,1\n1972x,2,2\n1972,3,3\n",
         r"line 3: column 'year': '1972x' is not a whole year"),
        ("year,quarter\n1972,1\n1972,2\n",
         r"no value column beside the time columns 'year' \+ 'quarter'"),
    ],
)  # fmt: skip
def test_calendar_columns_that_do_not_make_one_stamp_a_row_are_errors(tmp_path, text, message):
    with pytest.raises(DataError, match=r"q\.csv(, |: )" + message):
        read_source(write(tmp_path / "q.csv", text), "long")


def test_a_month_beats_a_quarter_beside_it_and_quarters_may_say_q(tmp_path):
    text = "year,quarter,month,v\n2020,1,3,1\n2020,2,4,2\n"
    got = read_source(write(tmp_path / "m.csv", text), "long")
    assert got["time"].to_list() == ["2020-03", "2020-04"] and got.columns == ["time", "v"]
    got = read_source(
        write(tmp_path / "s.csv", "year,quarter,v\n1972,Q4,1\n1973,q1,2\n1973,Q2,3\n"), "long"
    )
    assert got["time"].to_list() == ["1972-Q4", "1973-Q1", "1973-Q2"]


def test_a_year_that_does_not_repeat_keeps_its_month_column_as_a_value(tmp_path):
    got = read_source(write(tmp_path / "y.csv", "year,month\n2001,3\n2002,5\n2003,4\n"), "long")
    assert got["time"].to_list() == ["2001", "2002", "2003"] and got["month"].to_list() == [3, 5, 4]


def test_durations_read_as_seconds():
    import polars as pl

    from attnlib.datasets.times import read_times

    spans = ["-1 days +23:59:00", "0 days 00:30:00", "1 days 02:00:00.5", "PT0.5S", "-PT1M",
             "P1DT2H", "P"]  # fmt: skip
    assert read_times(pl.Series(spans)).to_list() == [-60.0, 1800.0, 93600.5, 0.5, -60.0,
                                                      93600.0, None]  # fmt: skip
