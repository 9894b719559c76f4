"""Spreadsheets (.xlsx, .ods, ...): the first sheet read as a typed table."""

import logging

import numpy as np
import pandas as pd
import polars as pl
import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.errors import DataError


def test_a_sheet_of_text_reads_as_its_csv_twin(tmp_path):
    frame = pl.DataFrame({"text": ["Great movie", "Bad plot"], "label": [1, 2]})
    frame.write_excel(tmp_path / "t.xlsx")
    frame.write_csv(tmp_path / "t.csv")
    sheet, how = read_and_describe(tmp_path / "t.xlsx")
    plain = read_source(tmp_path / "t.csv")
    assert sheet.drop("id").equals(plain.drop("id"))
    assert sheet["label"].to_list() == ["1", "2"]  # a whole number is a class, not 1.0
    assert how.endswith("format auto -> excel (sequences in its 'text' column)")


def test_a_frame_saved_with_to_excel_reads_as_a_long_table(tmp_path):
    index = pd.date_range("2020-01-01", periods=6, freq="MS")
    frame = pd.DataFrame({"sales": np.arange(6) * 1.5}, index=index)
    frame.to_excel(tmp_path / "s.xlsx")  # the index first, with no header
    frame.to_csv(tmp_path / "s.csv")
    sheet, how = read_and_describe(tmp_path / "s.xlsx")
    assert sheet["sales"].to_list() == read_source(tmp_path / "s.csv")["sales"].to_list()
    assert sheet["time"][1].startswith("2020-02-01")
    assert "a long table, the time in pandas' date index" in how


def test_a_wide_sheet_reads_one_series_per_row(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(4, 5)), columns=[f"t{i}" for i in range(5)])
    frame.insert(0, "label", [1, 2, 1, 2])
    frame.to_excel(tmp_path / "w.xlsx", index=False)
    out = read_source(tmp_path / "w.xlsx")
    assert out["label"].to_list() == ["1", "2", "1", "2"]
    values = np.asarray(out["values"].to_list())[..., 0]
    np.testing.assert_allclose(values, frame.iloc[:, 1:].to_numpy(), rtol=1e-6)


def test_only_the_first_sheet_is_read_and_the_others_are_named(tmp_path, caplog):
    with pd.ExcelWriter(tmp_path / "b.xlsx") as book:
        pd.DataFrame({"text": ["a b"], "label": ["x"]}).to_excel(
            book, sheet_name="first", index=False
        )
        pd.DataFrame({"text": ["c"], "label": ["y"]}).to_excel(
            book, sheet_name="notes", index=False
        )
    with caplog.at_level(logging.WARNING):
        out = read_source(tmp_path / "b.xlsx")
    assert out["label"].to_list() == ["x"]
    assert "read its first sheet, 'first'; the other 1 (notes) are not read" in caplog.text


def test_a_bad_cell_is_named_by_the_sheets_own_row_number(tmp_path):
    pl.DataFrame({"text": ["a b", None, "c"], "label": ["x", "y", "z"]}).write_excel(
        tmp_path / "e.xlsx"
    )
    with pytest.raises(DataError, match=r"e\.xlsx, row 3: empty sequence in column 'text'"):
        read_source(tmp_path / "e.xlsx")


def test_columns_can_be_named_and_a_broken_file_is_one_line(tmp_path):
    pl.DataFrame({"review": ["Great movie"], "sentiment": ["pos"]}).write_excel(tmp_path / "r.xlsx")
    out = read_source(tmp_path / "r.xlsx", columns={"text": "review", "label": "sentiment"})
    assert out["label"].to_list() == ["pos"]
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    with pytest.raises(DataError, match=r"bad\.xlsx: not a readable spreadsheet"):
        read_source(tmp_path / "bad.xlsx")


def test_every_row_is_typed_not_only_the_first_thousand(tmp_path):
    labels = ["1"] * 1200 + ["n/a"]  # a class name after a thousand numbers
    pd.DataFrame({"text": ["a b"] * 1201, "label": [1] * 1200 + ["n/a"]}).to_excel(
        tmp_path / "m.xlsx", index=False
    )
    out = read_source(tmp_path / "m.xlsx")
    assert out["label"].to_list() == labels


def test_stored_names_find_a_spreadsheets_columns_whatever_its_name(tmp_path):
    pl.DataFrame({"question": ["where is x"], "kind": ["a"]}).write_excel(tmp_path / "s.xlsx")
    (tmp_path / "sheet.dat").write_bytes((tmp_path / "s.xlsx").read_bytes())
    named = {"text": "question", "label": "kind"}
    for path, fmt in ((tmp_path / "s.xlsx", "auto"), (tmp_path / "sheet.dat", "excel")):
        out = read_source(path, fmt, columns=named, optional_columns=("text", "label"))
        assert out["label"].to_list() == ["a"], path


def test_a_spreadsheet_given_another_format_is_told_to_use_excel(tmp_path):
    from attnlib.errors import ConfigError

    pl.DataFrame({"date": ["2020-01-01"], "v": [1.0]}).write_excel(tmp_path / "l.xlsx")
    with pytest.raises(ConfigError, match=r"l\.xlsx: a spreadsheet; it is read with --format"):
        read_source(tmp_path / "l.xlsx", "long")
