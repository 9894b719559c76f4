"""Columns named for a role (ingest.text_column / label_column / time_column / id_column):
a table whose columns hold the text, the label, the time or the id under other names reads
as it would under the role's names; nothing is guessed."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.errors import ConfigError, DataError

REVIEWS = [("Great movie, loved it", "pos"), ("Terrible plot", "neg"), ("Fine but slow", "pos")]


def reviews(names=("review", "sentiment")) -> pd.DataFrame:
    return pd.DataFrame(REVIEWS, columns=list(names))


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_a_table_with_other_names_reads_as_it_would_under_the_roles_names(tmp_path, suffix):
    def save(frame, name):
        path = tmp_path / f"{name}{suffix}"
        if suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
        return path

    named = save(reviews(), "named")
    plain = read_source(save(reviews(("text", "label")), "plain"))
    out = read_source(named, columns={"text": "review", "label": "sentiment"})
    assert out.equals(plain)
    assert out["label"].to_list() == ["pos", "neg", "pos"]
    assert out["tokens"][1].to_list() == ["Terrible", "plot"]


def test_the_read_line_says_which_column_holds_which_role(tmp_path):
    reviews().to_csv(tmp_path / "r.csv", index=False)
    _, how = read_and_describe(tmp_path / "r.csv", columns={"text": "review", "label": "sentiment"})
    assert how.endswith("; the text in column 'review', the label in 'sentiment'")


def test_a_time_column_with_another_name_makes_a_long_table(tmp_path):
    (tmp_path / "v.csv").write_text("Fecha,Ventas\n2020-01-01,3\n2020-02-01,4\n2020-03-01,5\n")
    with pytest.raises(DataError, match="'Fecha', 'Ventas'"):
        read_source(tmp_path / "v.csv")  # by name alone it is no table the reader knows
    out = read_source(tmp_path / "v.csv", columns={"time": "Fecha"})
    assert out.columns == ["time", "Ventas"] and out["Ventas"].to_list() == [3.0, 4.0, 5.0]
    assert out["time"].to_list() == ["2020-01-01", "2020-02-01", "2020-03-01"]


def test_a_wide_tables_class_column_can_be_named(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(4, 5)), columns=[f"t{i}" for i in range(5)])
    frame.insert(0, "species", ["a", "b", "a", "b"])
    frame.to_parquet(tmp_path / "w.parquet")
    out = read_source(tmp_path / "w.parquet", "wide", columns={"label": "species"})
    assert out["label"].to_list() == ["a", "b", "a", "b"]
    assert out["values"].list.len().to_list() == [5] * 4  # the class is not a step


def test_both_files_of_an_archive_pair_are_read_with_the_named_columns(tmp_path):
    reviews().to_csv(tmp_path / "Set_TRAIN.csv", index=False)
    reviews().iloc[:2].to_csv(tmp_path / "Set_TEST.csv", index=False)
    out = read_source(tmp_path / "Set_TRAIN.csv", archive_split=True,
                      columns={"text": "review", "label": "sentiment"})  # fmt: skip
    assert out["split"].to_list() == ["train"] * 3 + ["test"] * 2
    assert out["label"].to_list() == ["pos", "neg", "pos", "pos", "neg"]


def test_a_named_column_the_file_lacks_is_an_error_that_lists_the_columns(tmp_path):
    reviews().to_csv(tmp_path / "r.csv", index=False)
    expected = (r"r\.csv: no column 'revue' \(ingest\.text_column / --text-column\); the "
                r"columns are \['review', 'sentiment'\]")  # fmt: skip
    with pytest.raises(DataError, match=expected):
        read_source(tmp_path / "r.csv", columns={"text": "revue"})


@pytest.mark.parametrize("other", ["text", "Tokens", "values"])
def test_a_second_column_holding_the_role_under_its_own_name_is_an_error(tmp_path, other):
    frame = reviews()
    frame[other] = ["x y", "y", "z"]
    frame.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(DataError, match=f"names 'review' as the text, but column '{other}'"):
        read_source(tmp_path / "r.csv", columns={"text": "review"})


def test_a_label_beside_a_named_label_column_is_an_error(tmp_path):
    frame = reviews()
    frame["Label"] = ["1", "0", "1"]
    frame.to_parquet(tmp_path / "r.parquet")
    with pytest.raises(DataError, match="names 'sentiment' as the label, but column 'Label'"):
        read_source(tmp_path / "r.parquet", columns={"text": "review", "label": "sentiment"})


def test_one_column_for_two_roles_or_an_unknown_role_is_a_config_error(tmp_path):
    reviews().to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(
        ConfigError,
        match="text_column / --text-column and ingest.label_column / --label-column both name",
    ):
        read_source(tmp_path / "r.csv", columns={"text": "review", "label": "review"})
    with pytest.raises(ConfigError, match="unknown column role 'class'"):
        read_source(tmp_path / "r.csv", columns={"class": "review"})


def test_named_columns_on_a_source_without_named_columns_are_refused(tmp_path):
    (tmp_path / "s.txt").write_text("a b c\nb c\n")
    expected = (r"s\.txt: ingest\.text_column / --text-column names a column of a CSV / TSV / "
                "Parquet table, but it is read as seqlab_txt")  # fmt: skip
    with pytest.raises(ConfigError, match=expected):
        read_source(tmp_path / "s.txt", columns={"text": "x"})
    with pytest.raises(ConfigError, match="read as a built-in data set"):
        read_source("builtin:trec6", columns={"label": "x"})
    with pytest.raises(ConfigError, match="read as ucr"):
        read_source(tmp_path / "s.txt", "ucr", columns={"label": "x"})


def test_empty_names_change_nothing(tmp_path):
    reviews(("text", "label")).to_csv(tmp_path / "r.csv", index=False)
    plain = read_source(tmp_path / "r.csv")
    assert read_source(tmp_path / "r.csv", columns={"text": "", "label": "", "time": ""}).equals(
        plain
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_without_known_names_gets_a_hint_naming_the_wordiest_column(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    reviews().to_parquet(path) if suffix == ".parquet" else reviews().to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        read_source(path)
    message = str(info.value)
    assert "name a column that holds them under another name with ingest.text_column" in message
    assert message.endswith("'review' holds the most words")


def test_a_named_column_of_json_lists_is_read_as_tokens(tmp_path):
    """attnlib writes tokens to CSV as JSON lists; named as the text they stay tokens."""
    (tmp_path / "t.csv").write_text('toks,kind\n"[""D-major triad"", ""G7""]",a\n"[""C""]",b\n')
    out = read_source(tmp_path / "t.csv", columns={"text": "toks", "label": "kind"})
    assert out["tokens"].to_list() == [["D-major triad", "G7"], ["C"]]
    assert "text" not in out.columns  # tokens as given: no tokeniser runs on them


def test_names_are_matched_with_the_spaces_around_them_ignored(tmp_path):
    (tmp_path / "r.csv").write_text("review, sentiment\nGreat movie,pos\nBad plot,neg\n")
    out = read_source(tmp_path / "r.csv", columns={"text": "review", "label": "sentiment"})
    assert out["label"].to_list() == ["pos", "neg"]


def test_a_named_year_keeps_its_join_with_the_month(tmp_path):
    (tmp_path / "y.csv").write_text("Year,month,sales\n2020,1,3\n2020,2,4\n2020,3,5\n")
    out = read_source(tmp_path / "y.csv", columns={"time": "Year"})
    assert out["time"].to_list() == read_source(tmp_path / "y.csv")["time"].to_list()
    assert out.columns == ["time", "sales"]


@pytest.mark.parametrize("other", ["date", "Timestamp"])
def test_a_second_whole_time_beside_the_named_time_is_an_error(tmp_path, other):
    (tmp_path / "t.csv").write_text(f"Fecha,{other},v\n2020-01-01,2020-01-01,3\n")
    with pytest.raises(DataError, match=f"names 'Fecha' as the time, but column '{other}'"):
        read_source(tmp_path / "t.csv", columns={"time": "Fecha"})


def test_errors_after_the_renaming_name_the_column_as_the_file_does(tmp_path):
    (tmp_path / "r.csv").write_text("review,sentiment\nGreat movie,pos\n,neg\n")
    with pytest.raises(DataError, match=r"r\.csv, line 3: empty sequence in column 'review'"):
        read_source(tmp_path / "r.csv", columns={"text": "review", "label": "sentiment"})


def test_a_named_step_wins_over_time_parts_beside_it(tmp_path):
    rows = "".join(f"{i},{i % 12 + 1},{i * 1.5}\n" for i in range(14))
    (tmp_path / "s.csv").write_text("step,month,sales\n" + rows)
    with pytest.raises(DataError, match="month '1' repeats"):  # by name the month is the time
        read_source(tmp_path / "s.csv")
    out = read_source(tmp_path / "s.csv", columns={"time": "step"})
    assert out.columns == ["time", "month", "sales"]  # the month of the year is a value
    assert out["time"].to_list() == [str(i) for i in range(14)]


def test_a_cell_that_says_a_roles_name_is_quoted_as_it_is(tmp_path):
    (tmp_path / "w.csv").write_text("when,value\n2020-01-01,1\n2020-01-02,time\n")
    with pytest.raises(DataError, match=r"line 3: column 'value': 'time' is not a number"):
        read_source(tmp_path / "w.csv", columns={"time": "when"})


@pytest.mark.parametrize("label", ["'pos'", "3"])
def test_a_label_named_for_a_long_table_is_refused_before_its_cells_are_read(tmp_path, label):
    (tmp_path / "v.csv").write_text(f"date,sentiment,value\n2020-01-01,{label},1\n")
    with pytest.raises(ConfigError, match="names 'sentiment', but the file reads as a long"):
        read_source(tmp_path / "v.csv", columns={"label": "sentiment"})
    pl.DataFrame({"date": ["2020-01-01"], "sentiment": ["pos"], "value": [1.0]}).write_parquet(
        tmp_path / "v.parquet"
    )
    with pytest.raises(ConfigError, match="reads as a long table"):
        read_source(tmp_path / "v.parquet", columns={"label": "sentiment"})


def test_a_sequences_id_column_can_be_named(tmp_path):
    (tmp_path / "r.csv").write_text("review_id,review,sentiment\nr7,Great movie,pos\n"
                                    "r9,Terrible plot,neg\n")  # fmt: skip
    named = {"text": "review", "label": "sentiment"}
    assert read_source(tmp_path / "r.csv", columns=named)["id"].to_list() != ["r7", "r9"]
    out = read_source(tmp_path / "r.csv", columns={**named, "id": "review_id"})
    assert out["id"].to_list() == ["r7", "r9"] and out["label"].to_list() == ["pos", "neg"]


def test_a_role_named_onto_the_label_or_text_by_its_name_is_an_error(tmp_path, caplog):
    (tmp_path / "r.csv").write_text("review_id,text,label\nr1,good film,pos\n")
    with pytest.raises(DataError, match="names 'label' as the id, but it is the label by its "
                                        "name; .* ingest.label_column"):  # fmt: skip
        read_source(tmp_path / "r.csv", columns={"id": "label"})
    out = read_source(tmp_path / "r.csv", columns={"id": "label", "label": "review_id"})
    assert out["id"].to_list() == ["pos"] and out["label"].to_list() == ["r1"]  # both named
    read_source(tmp_path / "r.csv")  # the unread id is named with the key that reads it
    assert "ids under another name, as in 'review_id': ingest.id_column" in caplog.text
    caplog.clear()
    (tmp_path / "i.csv").write_text("id,review_id,text,label\n1,r1,good film,pos\n")
    read_source(tmp_path / "i.csv")  # it has its ids: no hint
    assert "'review_id'" in caplog.text and "ingest.id_column" not in caplog.text
    (tmp_path / "t.csv").write_text("review,text\ngood film,pos\n")  # claimed: no clash
    out = read_source(tmp_path / "t.csv", columns={"text": "review", "label": "text"})
    assert out["label"].to_list() == ["pos"] and out["tokens"][0].to_list() == ["good", "film"]
    (tmp_path / "v.jsonl").write_text('{"values":[1,2,3],"text":"pos"}\n')  # a series' class
    out = read_source(tmp_path / "v.jsonl", columns={"label": "text"})
    assert out["label"].to_list() == ["pos"] and out["values"][0].to_list() == [[1], [2], [3]]


def test_errors_list_the_columns_as_the_file_names_them(tmp_path):
    (tmp_path / "s.csv").write_text("subject,tick,x\na,0,1\n")
    with pytest.raises(DataError, match=r"found \['subject', 'tick', 'x'\]"):
        read_source(tmp_path / "s.csv", columns={"id": "subject"})


def test_a_time_named_for_a_table_of_sequences_is_refused(tmp_path):
    (tmp_path / "t.csv").write_text("text,posted,label\nhi there,2020-01-01,a\n")
    with pytest.raises(ConfigError, match="names 'posted', but the file reads as a table of"):
        read_source(tmp_path / "t.csv", columns={"time": "posted"})


def test_a_named_column_with_some_cells_like_json_lists_stays_text(tmp_path):
    (tmp_path / "r.csv").write_text('review,kind\n"[""Spoiler""] it ends well",a\nplain,b\n')
    out = read_source(tmp_path / "r.csv", columns={"text": "review", "label": "kind"})
    assert out["text"].to_list() == ['["Spoiler"] it ends well', "plain"]


def test_unread_columns_of_a_table_of_sequences_are_named_in_a_warning(tmp_path, caplog):
    (tmp_path / "t.csv").write_text("text,sentiment\nhi there,pos\n")
    read_source(tmp_path / "t.csv")
    assert "column(s) ['sentiment'] not read" in caplog.text
    assert "a class under another name: ingest.label_column" in caplog.text
    caplog.clear()
    (tmp_path / "k.csv").write_text("id,text,label,split\nq1,hi there,pos,train\n")
    read_source(tmp_path / "k.csv")
    assert "not read" not in caplog.text


def test_pandas_index_columns_are_not_named_as_unread(tmp_path, caplog):
    pd.DataFrame({"text": ["hi there"], "label": ["a"]}, index=["q1"]).to_csv(tmp_path / "p.csv")
    read_source(tmp_path / "p.csv")
    assert "not read" not in caplog.text


def test_attnlibs_own_output_reads_back_without_an_unread_warning(tmp_path, caplog):
    (tmp_path / "r.csv").write_text("text,label\nhi there,a\n")
    read_source(tmp_path / "r.csv").write_parquet(tmp_path / "raw.parquet")  # tokens + text
    read_source(tmp_path / "raw.parquet")
    assert "not read" not in caplog.text
