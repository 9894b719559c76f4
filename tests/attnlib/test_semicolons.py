"""Excel's CSV where the decimal mark is a comma: fields split by semicolons, numbers
written 1,5. Such a file reads as the same table with commas and points does."""

import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.errors import DataError


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


def test_ids_labels_and_text_keep_their_commas(tmp_path):
    (tmp_path / "t.csv").write_text("id;text;label\n1,2;hello world, again;1,5\n")
    out = read_source(tmp_path / "t.csv")
    assert (out["id"][0], out["text"][0], out["label"][0]) == ("1,2", "hello world, again", "1,5")
    (tmp_path / "w.csv").write_text("id;label;t0;t1;t2\n1,2;1,5;0,5;1,5;2,5\n3,4;2,5;1,0;2,0;3,0\n")
    wide = read_source(tmp_path / "w.csv")  # the values are converted, the id and label not
    assert wide["id"].to_list() == ["1,2", "3,4"] and wide["label"].to_list() == ["1,5", "2,5"]
    assert wide["values"][0].to_list() == [[0.5], [1.5], [2.5]]


def test_a_header_alone_or_a_short_row_is_a_one_line_error(tmp_path):
    (tmp_path / "h.csv").write_text("date;v\n")
    with pytest.raises(DataError, match=r"h\.csv: no rows"):
        read_source(tmp_path / "h.csv")
    (tmp_path / "s.csv").write_text("date;v;w\n2020-01-01;1,5\n")
    with pytest.raises(DataError, match=r"s\.csv, line 2: 2 field\(s\), the header has 3"):
        read_source(tmp_path / "s.csv")


def test_a_quoted_line_break_in_the_first_row_reads(tmp_path):
    (tmp_path / "q.csv").write_text('text;label\n"first line\nsecond line";a\nbye;b\n')
    out = read_source(tmp_path / "q.csv")
    assert out["label"].to_list() == ["a", "b"]
    assert out["tokens"][0].to_list() == ["first", "line", "second", "line"]


def test_a_point_groups_thousands_in_a_column_with_decimal_commas(tmp_path, caplog):
    rows = "2020-01-01;1.234,5;3;1.5\n2020-02-01;0,5;1.000;1.125\n"
    (tmp_path / "g.csv").write_text("date;Umsatz (EUR, netto);Menge;ratio\n" + rows)
    out = read_source(tmp_path / "g.csv")  # a comma inside a name: still split by semicolons
    assert out["Umsatz (EUR, netto)"].to_list() == [1234.5, 0.5]
    assert out["ratio"].to_list() == [1.5, 1.125]  # no comma in it: points are decimal points
    assert out["Menge"].to_list() == [3.0, 1.0]  # '1.000' could be 1000: said in a warning
    assert "column(s) ['Menge', 'ratio']: a point read as a decimal point" in caplog.text
    (tmp_path / "p.csv").write_text("date;v\n2020-01-01;1.5\n2020-01-02;2.25\n")
    assert read_source(tmp_path / "p.csv")["v"].to_list() == [1.5, 2.25]  # no comma: points


def test_a_wide_table_with_decimal_commas_is_detected(tmp_path):
    (tmp_path / "w.csv").write_text("label;t0;t1;t2\na;1,5;2,5;3,5\nb;0,5;-2,0;1,0\n")
    out, how = read_and_describe(tmp_path / "w.csv")
    assert "format auto -> wide" in how
    assert out["values"].to_list() == [[[1.5], [2.5], [3.5]], [[0.5], [-2.0], [1.0]]]


def test_standard_input_split_by_semicolons_reads_as_csv(tmp_path):
    from typer.testing import CliRunner

    from attnlib.cli import app

    result = CliRunner().invoke(app, ["ingest", "-", "-o", str(tmp_path / "o.parquet")],
                                input="text;label\nhi there;a\nbye now;b\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "format auto -> csv" in result.output and "split by semicolons" in result.output


def test_format_detection_warns_only_once_and_names_the_file(tmp_path, caplog):
    (tmp_path / "d.csv").write_text("date;price;qty\n2020-01-01;1,5;1.000\n2020-01-02;2,5;3\n")
    out = read_source(tmp_path / "d.csv")
    assert out["price"].to_list() == [1.5, 2.5] and out["qty"].to_list() == [1.0, 3.0]
    warnings = [r.getMessage() for r in caplog.records if "decimal point" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith(f"{tmp_path / 'd.csv'}: column(s) ['qty']")


def test_numbers_split_by_semicolons_without_a_header_are_refused(tmp_path):
    (tmp_path / "n.csv").write_text("".join(f"{i % 2};2.183;-0.675;1.5\n" for i in range(5)))
    with pytest.raises(DataError, match=r"n\.csv, line 1: numbers split by semicolons and no"):
        read_source(tmp_path / "n.csv")


def test_tokens_with_semicolons_on_standard_input_stay_seqlab():
    from attnlib.files import _sniff

    assert _sniff(b"int x = 0 ;\nreturn x ;\nx = 1 ;\n") == ".txt"
    assert _sniff(b"text;label\nhi there;a\n") == ".csv"
