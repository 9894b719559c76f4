"""Excel's CSV where the decimal mark is a comma: fields split by semicolons, numbers
written 1,5. Such a file reads as the same table with commas and points does."""

import pytest

from attnlib.datasets import read_and_describe, read_source


def test_a_text_table_split_by_semicolons_reads_as_its_comma_twin(tmp_path):
    (tmp_path / "s.csv").write_text("text;label\nhello world, again;a\nbye now;b\n")
    (tmp_path / "c.csv").write_text('text,label\n"hello world, again",a\nbye now,b\n')
    semi, how = read_and_describe(tmp_path / "s.csv")
    assert semi.equals(read_source(tmp_path / "c.csv"))  # the comma in the text stays
    assert how.endswith("; fields split by semicolons (a number may have a decimal comma)")


def test_a_long_tables_decimal_commas_are_numbers(tmp_path):
    (tmp_path / "de.csv").write_text("date;Umsatz;Menge\n2020-01-01;1,5;3\n2020-02-01;2,25;4\n"
                                     "2020-03-01;-0,5;5\n2020-04-01;,75;1e3\n")  # fmt: skip
    out = read_source(tmp_path / "de.csv")
    assert out["Umsatz"].to_list() == [1.5, 2.25, -0.5, 0.75]
    assert out["Menge"].to_list() == [3.0, 4.0, 5.0, 1000.0]


@pytest.mark.parametrize("cells", [["3,14 apples", "2"], ["1,5", "n/a"]])
def test_a_column_that_is_not_all_numbers_keeps_its_commas(cells):
    import polars as pl

    from attnlib.datasets.rows import decimal_commas

    frame = pl.DataFrame({"c": cells, "n": ["1,5", "2"]})
    out = decimal_commas(frame)
    assert out["c"].to_list() == cells and out["n"].to_list() == ["1.5", "2"]


def test_a_header_with_commas_keeps_commas_as_the_separator(tmp_path):
    (tmp_path / "c.csv").write_text("text,label;x\nhi there,a;1\n")
    out = read_source(tmp_path / "c.csv")  # two fields by commas: 'text' and 'label;x'
    assert out["tokens"].to_list() == [["hi", "there"]]
