"""Token cells a reader must not mis-read: a bad JSON-list cell among JSON lists, and the
reserved ``<pad>`` token (at ingest, and in what a model is given to predict)."""

import polars as pl
import pytest
from typer.testing import CliRunner

import attnlib
from attnlib.cli import app
from attnlib.datasets import read_source
from attnlib.errors import DataError
from attnlib.vocab import PAD_ID, UNK_ID, Vocabulary
from tests.attnlib.test_api import token_bundle

runner = CliRunner()


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def ingest_fails(src, tmp_path) -> str:
    """``attnlib ingest src``: exit code 2, one error line, nothing written."""
    out = tmp_path / "out" / "raw.parquet"
    out.parent.mkdir()
    result = runner.invoke(app, ["ingest", str(src), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert list(out.parent.iterdir()) == []
    return result.stderr.strip()


# -- JSON-list cells --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ['"[""x"", 1]"', '"[bad json"', '"{""a"": ""b""}"', "x y", '"[""\\q""]"', '"[""a\tb""]"']
)  # not JSON's escapes / spaces
def test_a_bad_cell_among_json_lists_names_its_line(tmp_path, bad):
    path = write(tmp_path / "t.csv", f'id,tokens\na,"[""x"", ""y""]"\nb,{bad}\nc,"[""z""]"\n')
    message = ingest_fails(path, tmp_path)
    assert "t.csv, line 3: a 'tokens' cell must be a JSON list of strings" in message
    assert message.endswith("got " + bad.strip('"').replace('""', '"'))


def test_json_escapes_and_surrogate_pairs_decode_as_json_says(tmp_path):
    text = 'id,tokens\na,"[""\\u00e9"", ""\\ud83c\\udfb5"", ""a\\""b""]"\nb,"[""z""]"\n'
    assert read_source(write(tmp_path / "e.csv", text))["tokens"].to_list()[0] == [
        "é", "\U0001f3b5", 'a"b']  # fmt: skip


def test_json_list_cells_read_as_lists_and_bracketed_text_stays_text(tmp_path):
    lists = write(tmp_path / "j.csv", 'id,tokens\na,"[""D-major triad"", ""y""]"\nb,"[ ""z""]"\n')
    assert read_source(lists)["tokens"].to_list() == [["D-major triad", "y"], ["z"]]
    text = write(tmp_path / "w.csv", "id,tokens\na,[CLS] x y [SEP]\nb,[1] z\n")
    assert read_source(text)["tokens"].to_list() == [["[CLS]", "x", "y", "[SEP]"], ["[1]", "z"]]


def test_a_column_mostly_of_text_is_split_on_whitespace(tmp_path):
    path = write(tmp_path / "m.csv", 'tokens\na b\nc d\n"[""e""]"\n')  # 1 of 3 opens a list
    assert read_source(path)["tokens"].to_list() == [["a", "b"], ["c", "d"], ['["e"]']]


# -- the reserved <pad> token -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("s.txt", "C G\na <pad> b\n", "s.txt, line 2"),
        ("t.csv", "id,tokens\nx,C G\ny,a <pad>\n", "t.csv, line 3"),
        ("j.csv", 'id,tokens\nx,"[""C""]"\ny,"[""<pad>""]"\n', "j.csv, line 3"),
        ("e.csv", "pitch\nC\n>\n<pad>\n", "e.csv, line 4"),  # SeqLab CSV: one feature
    ],
)
def test_a_pad_token_in_the_data_is_an_error_at_ingest(tmp_path, name, text, where):
    message = ingest_fails(write(tmp_path / name, text), tmp_path)
    assert message.endswith(f"/{where}: the token '<pad>' is reserved for padding; rename it")


def test_a_pad_token_in_a_parquet_table_names_its_row(tmp_path):
    path = tmp_path / "p.parquet"
    pl.DataFrame({"id": ["a", "b"], "tokens": [["C"], ["G", "<pad>"]]}).write_parquet(path)
    with pytest.raises(DataError, match=r"p\.parquet, row 2: the token '<pad>' is reserved"):
        read_source(path)


def test_text_that_mentions_pad_is_read_its_tokeniser_decides(tmp_path):
    """A 'text' column is tokenised at encode (word / char split '<pad>' apart; a <pad>
    word is read as unknown), so the words are no reason to refuse the file."""
    path = write(tmp_path / "t.csv", "text,label\nhello <pad> world,a\nbye now,b\n")
    assert read_source(path)["text"].to_list()[0] == "hello <pad> world"


def test_unk_in_the_data_is_the_unknown_token():
    assert Vocabulary.build([["a", "<unk>"]]).encode(["a", "<unk>"]) == [2, UNK_ID]


def test_pad_given_to_a_model_is_an_unknown_token_never_padding(tmp_path):
    vocab = Vocabulary(["a"])
    assert vocab.encode(["a", "<pad>"]) == [2, UNK_ID] and "<pad>" not in vocab
    assert vocab.decode([PAD_ID]) == ["<pad>"]  # padding itself still decodes
    model = attnlib.load(token_bundle(tmp_path / "m"), engine="torch")
    said = []
    model.predict([["C", "<pad>"]], warn=said.append)
    assert len(said) == 1 and "'<pad>'" in said[0]
    with pytest.raises(DataError, match="unknown"):
        model.predict([["C", "<pad>"]], strict=True)
    seqs = write(tmp_path / "seqs.txt", "C G\nC <pad>\n")
    result = runner.invoke(app, ["predict", str(tmp_path / "m"), str(seqs), "-o",
                                 str(tmp_path / "p.csv")])  # fmt: skip
    assert result.exit_code == 2 and "seqs.txt, line 2: the token '<pad>' is reserved" in (
        result.stderr
    )
    assert not (tmp_path / "p.csv").exists()
