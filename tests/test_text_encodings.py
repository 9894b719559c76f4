"""Text files in encodings other than UTF-8: ``ingest.encoding`` / ``--encoding`` reads
them, a UTF-16 / UTF-32 BOM is read as what it says, and a file that does not decode is
an error naming its line and saying how to read it; a model's commands read new files in
the encoding its training files had."""

from __future__ import annotations

import logging

import polars as pl
import pytest
from typer.testing import CliRunner

from attnlib.cli import app
from attnlib.datasets import read_and_describe, read_source
from attnlib.datasets.formats import header
from attnlib.errors import ConfigError, DataError
from tests.test_cli import word_model

runner = CliRunner()
ROWS = ["text,label", "caf\u00e9 cr\u00e8me \u20ac5,a", "na\u00efve fa\u00e7ade,b"]
TOKENS = [["caf\u00e9", "cr\u00e8me", "\u20ac5"], ["na\u00efve", "fa\u00e7ade"]]


def csv_in(path, encoding: str, newline: str = "\r\n"):
    path.write_bytes(newline.join(ROWS).encode(encoding))
    return path


def test_a_windows_csv_is_an_error_naming_its_line_until_its_encoding_is_given(tmp_path):
    path = csv_in(tmp_path / "w.csv", "cp1252")
    with pytest.raises(DataError, match=r"w\.csv, line 2: not valid UTF-8") as caught:
        read_source(path)
    assert "ingest.encoding" in str(caught.value) and "cp1252" in str(caught.value)
    frame, how = read_and_describe(path, encoding="cp1252")
    assert frame["tokens"].to_list() == TOKENS
    assert how.endswith("; decoded as cp1252")
    assert read_source(path, encoding="Windows-1252")["tokens"].to_list() == TOKENS  # an alias


def test_a_file_in_another_encoding_than_the_one_given_names_it(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"text\nab" + "\u20ac".encode("cp1252") + b"\nc\n")
    with pytest.raises(DataError, match=r"t\.csv, line 2: not valid shift_jis"):
        read_source(path, encoding="shift_jis")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_bom_says_the_encoding_without_being_told(tmp_path, encoding):
    """Excel's "Unicode Text" is UTF-16 with a BOM: no guess, so it reads as UTF-8 would,
    header included (for a model's stored column names)."""
    path = csv_in(tmp_path / "u.csv", encoding, newline="\n")
    assert read_source(path)["tokens"].to_list() == TOKENS
    assert header(path) == ["text", "label"]


def test_utf16_without_a_bom_reads_when_given(tmp_path):
    path = csv_in(tmp_path / "u.csv", "utf-16-le")
    with pytest.raises(DataError, match="not valid UTF-8"):
        read_source(path)
    assert read_source(path, encoding="utf-16-le")["tokens"].to_list() == TOKENS


def test_json_lines_and_an_archive_pair_are_decoded_so(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes('{"text": "d\u00e9j\u00e0 vu", "label": "a"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match=r"r\.jsonl, line 1: not valid UTF-8"):
        read_source(path)
    assert read_source(path, encoding="latin-1")["tokens"].to_list() == [["d\u00e9j\u00e0", "vu"]]
    for part in ("TRAIN", "TEST"):  # the test file beside it is read in the same encoding
        csv_in(tmp_path / f"Set_{part}.csv", "cp1252")
    frame = read_source(tmp_path / "Set_TRAIN.csv", archive_split=True, encoding="cp1252")
    assert frame["split"].to_list() == ["train", "train", "test", "test"]
    assert frame["tokens"].to_list() == TOKENS * 2


def test_a_folder_of_latin1_texts(tmp_path):
    for label, text in (("pos", "R\u00e9sum\u00e9 na\u00eff"), ("neg", "\u00e7a va")):
        (tmp_path / "f" / label).mkdir(parents=True)
        (tmp_path / "f" / label / "1.txt").write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=r"1\.txt, line 1: not valid UTF-8"):
        read_source(tmp_path / "f")
    frame, how = read_and_describe(tmp_path / "f", encoding="latin-1")
    assert dict(zip(frame["label"], frame["text"], strict=True)) == {
        "pos": "R\u00e9sum\u00e9 na\u00eff", "neg": "\u00e7a va"}  # fmt: skip
    assert how.endswith("; decoded as iso8859-1")


def test_a_folder_of_utf16_texts_without_a_bom_is_not_taken_for_binary(tmp_path):
    (tmp_path / "f" / "a").mkdir(parents=True)
    (tmp_path / "f" / "a" / "1.txt").write_bytes("hello there".encode("utf-16-le"))
    with pytest.raises(DataError, match="not a text"):  # NUL bytes: binary, unless told
        read_source(tmp_path / "f")
    assert read_source(tmp_path / "f", encoding="utf-16-le")["text"].to_list() == ["hello there"]


def test_parquet_holds_its_own_encoding(tmp_path, caplog):
    pl.DataFrame({"text": ["caf\u00e9"]}).write_parquet(tmp_path / "t.parquet")
    with caplog.at_level(logging.INFO, logger="attnlib.datasets"):
        frame, how = read_and_describe(tmp_path / "t.parquet", encoding="cp1252")
    assert frame["tokens"].to_list() == [["caf\u00e9"]] and "decoded" not in how
    assert "a Parquet file holds its own text encoding; cp1252 is not used" in caplog.text


@pytest.mark.parametrize(
    "encoding",
    ["nope", "base64", "rot13", "", "undefined", "idna", "utf-8,nope", "utf-16,utf-8",
     "latin-1,cp1252"],
)  # fmt: skip
def test_an_unknown_or_non_text_encoding_is_a_config_error(tmp_path, encoding):
    path = csv_in(tmp_path / "w.csv", "utf-8")
    with pytest.raises(ConfigError, match="unknown text encoding|decodes .almost. any bytes"):
        read_source(path, encoding=encoding)


def test_params_key_names_the_encoding_and_canonicalises_it():
    from flows._params import IngestParams, section

    assert section({"ingest": {"encoding": "UTF8"}}, "ingest", IngestParams).encoding == "utf-8"
    assert section({"ingest": {"encoding": "latin1"}}, "ingest", IngestParams).encoding == (
        "iso8859-1"
    )
    with pytest.raises(ConfigError, match=r"'ingest\.encoding'.*unknown text encoding 'x'"):
        section({"ingest": {"encoding": "x"}}, "ingest", IngestParams)


def test_cli_ingest_and_standard_input_take_encoding(tmp_path):
    src, out = csv_in(tmp_path / "w.csv", "cp1252"), tmp_path / "o.parquet"
    result = runner.invoke(app, ["ingest", str(src), "-o", str(out)])
    assert result.exit_code == 2 and "line 2: not valid UTF-8" in result.stderr
    result = runner.invoke(app, ["ingest", str(src), "-o", str(out), "--encoding", "cp1252"])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["tokens"].to_list() == TOKENS
    given = src.read_bytes()
    result = runner.invoke(app, ["ingest", "-", "-o", str(out), "--encoding", "cp1252"],
                           input=given)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["tokens"].to_list() == TOKENS
    result = runner.invoke(app, ["ingest", str(src), "-o", str(out), "--encoding", "nope"])
    assert result.exit_code == 2 and "unknown text encoding 'nope'" in result.stderr


def test_predict_reads_new_files_in_the_encoding_the_model_was_trained_on(tmp_path):
    """A model whose training files were cp1252 (its bundle's training_data says so) reads
    a new cp1252 file without flags; --encoding overrides it; --stream decodes with it."""
    word_model(tmp_path / "m", encoding="cp1252")
    word_model(tmp_path / "plain")
    new = tmp_path / "q.csv"
    new.write_bytes("text,label\nwhere is x? \u20ac,a\n".encode("cp1252"))
    out = tmp_path / "p.parquet"
    args = [str(new), "-o", str(out), "--engine", "torch"]
    assert runner.invoke(app, ["predict", str(tmp_path / "m"), *args]).exit_code == 0
    assert pl.read_parquet(out).height == 1
    result = runner.invoke(app, ["predict", str(tmp_path / "plain"), *args])
    assert result.exit_code == 2 and "not valid UTF-8" in result.stderr
    result = runner.invoke(app, ["predict", str(tmp_path / "plain"), *args, "--encoding", "cp1252"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["predict", str(tmp_path / "m"), *args, "--encoding", "utf-8"])
    assert result.exit_code == 2 and "not valid UTF-8" in result.stderr
    result = runner.invoke(app, ["explain", str(tmp_path / "m"), str(new)])
    assert result.exit_code == 0, result.output
    assert "\u20ac" in result.output


def test_several_encodings_are_tried_in_order_and_a_bom_wins(tmp_path):
    """utf-8/cp1252 (or utf-8,cp1252) reads each file in the first that decodes it (a
    folder of both); a UTF-8 BOM wins over cp1252 given (no 'ï»¿' in the first column's
    name)."""
    (tmp_path / "f" / "a").mkdir(parents=True)
    (tmp_path / "f" / "a" / "1.txt").write_bytes("caf\u00e9".encode("cp1252"))
    (tmp_path / "f" / "a" / "2.txt").write_bytes("\u20ac caf\u00e9".encode())
    frame, how = read_and_describe(tmp_path / "f", encoding="utf-8,cp1252")
    assert frame["text"].to_list() == ["caf\u00e9", "\u20ac caf\u00e9"]
    assert how.endswith("; decoded as cp1252 (1 file), utf-8 (1 file)")
    path = tmp_path / "b.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(ROWS).encode())
    assert read_source(path, encoding="cp1252")["tokens"].to_list() == TOKENS
    assert header(path, encoding="cp1252") == ["text", "label"]


@pytest.mark.parametrize(
    ("codec", "bad"),  # a lone surrogate, a code point past U+10FFFF
    [("utf-16-le", b"\x00\xd8"), ("utf-16-be", b"\xd8\x00"), ("utf-32-le", b"\x00\x00\x11\x00")],
)
def test_an_error_names_the_line_in_a_multibyte_encoding(tmp_path, codec, bad):
    """Bytes 0x0A inside characters (\u4e0a, \u040a) are no line ends: the line is counted
    in characters."""
    good = "text\n\u4e0a \u040a\n\u0a0a x\n".encode(codec)
    path = tmp_path / "m.csv"
    path.write_bytes(good + bad)
    with pytest.raises(DataError, match=r"m\.csv, line 4: not valid " + codec):
        read_source(path, encoding=codec)


def test_binary_files_are_told_from_utf16_and_utf32_texts(tmp_path):
    from attnlib.charsets import is_binary

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
    assert is_binary(png) and is_binary(png, "utf-16-le") and is_binary(png, "utf-32-le")
    assert not is_binary(codecs_bom("utf-32-be") + "hi".encode("utf-32-be"))
    assert not is_binary("hi there".encode("utf-16-le"), "utf-16-le")
    assert is_binary("hi there".encode("utf-16-le"))  # NULs, no encoding that explains them


def codecs_bom(codec: str) -> bytes:
    return "\ufeff".encode(codec)


def test_a_zip_of_utf16_texts_reads_with_its_encoding(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "t.zip", "w") as z:
        for label in ("pos", "neg"):
            z.writestr(f"t/{label}/1.txt", f"so {label}".encode("utf-16-le"))
    with pytest.raises(DataError, match="not a text"):
        read_source(tmp_path / "t.zip")
    frame = read_source(tmp_path / "t.zip", encoding="utf-16-le")
    assert sorted(frame["text"].to_list()) == ["so neg", "so pos"]


def test_a_bom_only_file_is_empty(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(codecs_bom("utf-16") + " \n".encode("utf-16-le"))
    with pytest.raises(DataError, match=r"e\.csv: file is empty"):
        read_source(path)


def test_standard_input_is_sniffed_in_its_encoding(tmp_path):
    out = tmp_path / "o.parquet"
    given = '{ "text": "d\u00e9j\u00e0 vu", "label": "a"}\n'  # '{ "': JSON by parsing it
    for data, args in ((given.encode("cp1252"), ["--encoding", "cp1252"]),
                       (given.encode("utf-16"), [])):  # fmt: skip
        result = runner.invoke(app, ["ingest", "-", "-o", str(out), *args], input=data)
        assert result.exit_code == 0, result.output
        assert "format auto -> jsonl" in result.output
        assert pl.read_parquet(out)["tokens"].to_list() == [["d\u00e9j\u00e0", "vu"]]


def test_a_models_commands_read_utf8_first_then_its_training_encoding(tmp_path):
    """A cp1252 model reads a new UTF-8 file as UTF-8 (no mojibake) and a UTF-16 one by
    its BOM; the training encoding is the fallback, --encoding the override."""
    from attnlib.api import Model

    model = Model(word_model(tmp_path / "m", encoding="cp1252"), engine="torch")
    assert model.encoding == "utf-8/cp1252"
    assert Model(word_model(tmp_path / "p"), engine="torch").encoding == "utf-8"
    wide = Model(word_model(tmp_path / "w", encoding="utf-16-le"), engine="torch")
    assert wide.encoding == "utf-8/utf-16-le"
    for codec in ("utf-8", "utf-16", "cp1252"):
        new = tmp_path / f"{codec}.csv"
        new.write_text("text\nwhere is x? \u20ac\n", encoding=codec)
        out = tmp_path / "p.csv"
        args = [str(new), "-o", str(out), "--top-k", "1", "--engine", "torch"]
        result = runner.invoke(app, ["predict", str(tmp_path / "m"), *args])
        assert result.exit_code == 0, result.output
        assert "(e.g. '\u20ac')" in result.output  # the one unknown token: not 'â‚¬
    new = tmp_path / "u16.csv"
    new.write_bytes("text\nwhere is x?\n".encode("utf-16-le"))  # no BOM: by the model
    assert runner.invoke(app, ["predict", str(tmp_path / "w"), str(new), "-o", str(out)]
                         ).exit_code == 0  # fmt: skip


def test_a_fallback_after_utf8_text_warns_and_a_failing_list_names_each_line(tmp_path, caplog):
    path = tmp_path / "m.csv"
    path.write_bytes("text\ncaf\u00e9\n".encode() + "na\u00efve\n".encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="attnlib.datasets"):
        frame, how = read_and_describe(path, encoding="utf-8/cp1252")
    assert frame["tokens"].to_list() == [["caf\u00c3\u00a9"], ["na\u00efve"]]  # as warned
    assert how.endswith("; decoded as cp1252")
    assert "not UTF-8 at line 3, so read as cp1252; the lines above hold non-ASCII" in caplog.text
    path.write_bytes(b"text\n" + "caf\u00e9\n".encode("cp1252") + "\u0141\n".encode())
    with pytest.raises(DataError) as caught:  # cp1252 has no 0x81 (UTF-8's \u0141)
        read_source(path, encoding="utf-8,cp1252")
    message = str(caught.value)
    assert message.startswith(f"{path}, line 3: not valid cp1252 (")
    assert "nor UTF-8 (line 2: invalid continuation byte)" in message
    assert "a file mixing encodings is not read" in message
    with pytest.raises(DataError) as caught:
        read_source(path, encoding="cp1252")
    advice = str(caught.value).split(";", 1)[1]
    assert "utf-8" in advice and "cp1252" not in advice  # UTF-8 named, not what failed


def test_only_the_first_encodings_failure_decides_the_garbled_warning():
    from attnlib.charsets import decode

    ascii_above = b"text\nabc\n\xc3 x\n\x81 \n"  # UTF-8 fails on line 3, Shift JIS on line 4
    assert decode(ascii_above, "utf-8/shift_jis/latin-1").garbled is None
    accented = "text\ncaf\u00e9\n".encode() + b"\x81 \n"
    assert decode(accented, "utf-8/latin-1").garbled == ("utf-8", 3)


def test_utf16_text_with_spacing_characters_is_text_and_a_stray_nul_is_read(tmp_path):
    from attnlib.charsets import is_binary

    for text in ("Tr\u00e8s bien\u00a0!", "Donau\u00addampf", "zero\u200bwidth \U0001f600"):
        assert not is_binary(text.encode("utf-16-le")[:-1], "utf-16-le"), text  # cut: a half
    path = tmp_path / "n.csv"
    path.write_bytes(b"text,label\na\x00b c,x\nd e,y\n")  # one NUL in a cell: not UTF-16
    assert read_source(path)["tokens"].to_list() == [["a\x00b", "c"], ["d", "e"]]
    path.write_bytes("text,label\na b,x\n".encode("utf-16-le"))
    with pytest.raises(DataError, match="NUL in every other character: UTF-16 without a BOM"):
        read_source(path)
    assert read_source(path, encoding="utf-8/utf-16-le")["tokens"].to_list() == [["a", "b"]]


def test_utf16_with_accents_and_no_bom_is_named_by_its_nul_bytes(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes("text\ncaf\u00e9 \u00e0\n".encode("utf-16-le"))
    with pytest.raises(DataError, match="its NUL bytes say UTF-16 or UTF-32 without a BOM"):
        read_source(path)
    assert read_source(path, encoding="utf-16-le")["tokens"].to_list() == [["caf\u00e9", "\u00e0"]]
