"""Compressed files (.gz, .bz2, .xz, .zip) read as the file inside them."""

import bz2
import gzip
import logging
import lzma
import zipfile

import numpy as np
import polars as pl
import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.errors import DataError

TABLE = "text,label\nhello world,a\nbye now,b\n"
PACK = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def ucr(n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return "".join("\t".join([str(i % 2 + 1), *(f"{v:.3f}" for v in rng.normal(size=6))]) + "\n"
                   for i in range(n))  # fmt: skip


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_a_compressed_table_reads_as_the_file_inside(tmp_path, suffix):
    (tmp_path / "r.csv").write_text(TABLE)
    (tmp_path / f"p.csv{suffix}").write_bytes(PACK[suffix](TABLE.encode()))
    out, how = read_and_describe(tmp_path / f"p.csv{suffix}")
    assert out.equals(read_source(tmp_path / "r.csv"))
    assert how.startswith(f"{tmp_path / f'p.csv{suffix}'}: format auto -> csv")


def test_a_gzipped_parquet_file_reads(tmp_path):
    pl.DataFrame({"text": ["a b", "c"], "label": ["x", "y"]}).write_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.parquet.gz").write_bytes(gzip.compress((tmp_path / "t.parquet").read_bytes()))
    assert read_source(tmp_path / "t.parquet.gz").equals(read_source(tmp_path / "t.parquet"))


def test_an_error_inside_names_the_compressed_file_and_the_line(tmp_path):
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(b"text,label\nhello,a\nbye,b,c\n"))
    with pytest.raises(DataError) as info:
        read_source(tmp_path / "b.csv.gz")
    assert str(info.value).startswith(f"{tmp_path / 'b.csv.gz'}, line 3: 3 field(s)")
    assert "attnlib-unpacked" not in str(info.value)


def test_a_file_that_is_not_what_its_suffix_says_is_one_line(tmp_path):
    (tmp_path / "f.csv.gz").write_text(TABLE)
    with pytest.raises(DataError, match=r"f\.csv\.gz: not a readable \.gz file"):
        read_source(tmp_path / "f.csv.gz")
    (tmp_path / "f.zip").write_text(TABLE)
    with pytest.raises(DataError, match=r"f\.zip: not a readable zip file"):
        read_source(tmp_path / "f.zip")


def test_a_gzipped_archive_pair_keeps_its_split(tmp_path, caplog):
    (tmp_path / "Set_TRAIN.tsv.gz").write_bytes(gzip.compress(ucr(6, 0).encode()))
    (tmp_path / "Set_TEST.tsv.gz").write_bytes(gzip.compress(ucr(4, 1).encode()))
    out, how = read_and_describe(tmp_path / "Set_TRAIN.tsv.gz", archive_split=True)
    assert out["split"].to_list() == ["train"] * 6 + ["test"] * 4
    assert how.endswith("with Set_TEST.tsv.gz beside it as the test split (the archive's own)")
    with caplog.at_level(logging.WARNING):
        read_source(tmp_path / "Set_TEST.tsv.gz", archive_split=True)
    assert "give Set_TRAIN.tsv.gz instead" in caplog.text


def test_a_zip_of_one_file_reads_it(tmp_path):
    with zipfile.ZipFile(tmp_path / "k.zip", "w") as z:
        z.writestr("reviews.csv", TABLE)
        z.writestr("__MACOSX/._reviews.csv", "junk")
        z.writestr("README.md", "about")
    out, how = read_and_describe(tmp_path / "k.zip")
    assert out["label"].to_list() == ["a", "b"]
    assert how.startswith(f"{tmp_path / 'k.zip'} (reviews.csv): format auto -> csv")


def test_a_zip_of_one_set_in_several_formats_reads_its_pair(tmp_path):
    """As the UCR / UEA site ships a set: one pair per format, in a folder."""
    with zipfile.ZipFile(tmp_path / "Set.zip", "w") as z:
        for split, n, seed in (("TRAIN", 6, 0), ("TEST", 4, 1)):
            z.writestr(f"Set/Set_{split}.txt", ucr(n, seed).replace("\t", "  "))
            z.writestr(f"Set/Set_{split}.tsv", ucr(n, seed))
    out, how = read_and_describe(tmp_path / "Set.zip", archive_split=True)
    assert out["split"].to_list() == ["train"] * 6 + ["test"] * 4
    assert "(Set/Set_TRAIN.tsv)" in how and "with Set_TEST.tsv beside it" in how


def test_a_zip_of_unrelated_files_lists_them(tmp_path):
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.writestr("a.csv", TABLE)
        z.writestr("b.csv", TABLE)
    with pytest.raises(DataError, match=r"two\.zip: a zip of 2 data files \(a\.csv, b\.csv\)"):
        read_source(tmp_path / "two.zip")


def test_corrupt_compressed_data_is_one_line(tmp_path):
    packed = bytearray(gzip.compress(("text,label\n" + "hello world,a\n" * 200).encode()))
    packed[10] = 0xFF  # the first deflate block's type invalid: zlib.error, not a CRC error
    (tmp_path / "c.csv.gz").write_bytes(bytes(packed))
    with pytest.raises(DataError, match=r"c\.csv\.gz: not a readable \.gz file"):
        read_source(tmp_path / "c.csv.gz")


def test_a_readers_warning_names_the_compressed_file(tmp_path, caplog):
    (tmp_path / "w.csv.gz").write_bytes(gzip.compress(b"text,sentiment\nhi there,pos\n"))
    with caplog.at_level(logging.WARNING):
        read_source(tmp_path / "w.csv.gz")
    assert f"{tmp_path / 'w.csv.gz'}: column(s) ['sentiment'] not read" in caplog.text
    assert "attnlib-unpacked" not in caplog.text


@pytest.mark.parametrize("packed", ["TRAIN", "TEST"])
def test_a_pair_with_one_file_compressed_keeps_its_split(tmp_path, packed):
    for split, n, seed in (("TRAIN", 6, 0), ("TEST", 4, 1)):
        rows = ucr(n, seed).encode()
        if split == packed:
            (tmp_path / f"Set_{split}.tsv.gz").write_bytes(gzip.compress(rows))
        else:
            (tmp_path / f"Set_{split}.tsv").write_bytes(rows)
    train = "Set_TRAIN.tsv.gz" if packed == "TRAIN" else "Set_TRAIN.tsv"
    out = read_source(tmp_path / train, archive_split=True)
    assert out["split"].to_list() == ["train"] * 6 + ["test"] * 4


def test_compressed_data_under_another_name_says_to_name_it(tmp_path):
    (tmp_path / "d.csv").write_bytes(gzip.compress(TABLE.encode()))
    with pytest.raises(DataError, match=r"d\.csv: holds gzip data, not text; .*NAME\.csv\.gz"):
        read_source(tmp_path / "d.csv")


def test_a_zip_without_a_data_file_says_so(tmp_path):
    with zipfile.ZipFile(tmp_path / "n.zip", "w") as z:
        z.writestr("README.md", "about")
    with pytest.raises(DataError, match=r"n\.zip: the zip holds no data file"):
        read_source(tmp_path / "n.zip")


def test_a_test_file_given_alone_does_not_unpack_its_train_file(tmp_path, caplog):
    (tmp_path / "Set_TRAIN.tsv.gz").write_bytes(b"\x1f\x8b broken")  # never read
    (tmp_path / "Set_TEST.tsv").write_text(ucr(4, 1))
    with caplog.at_level(logging.WARNING):
        out = read_source(tmp_path / "Set_TEST.tsv", archive_split=True)
    assert out.height == 4 and "give Set_TRAIN.tsv.gz instead" in caplog.text
    assert read_source(tmp_path / "Set_TEST.tsv").height == 4  # predict: the file alone


def test_the_warning_filter_is_removed_after_the_read(tmp_path):
    (tmp_path / "w.csv.gz").write_bytes(gzip.compress(b"text,label\nhi there,a\n"))
    read_source(tmp_path / "w.csv.gz")
    assert not logging.getLogger("attnlib.datasets.tables").filters


def test_a_plain_pair_keeps_its_plain_test_file_beside_a_gzipped_copy(tmp_path):
    (tmp_path / "Set_TRAIN.tsv").write_text(ucr(6, 0))
    (tmp_path / "Set_TEST.tsv").write_text(ucr(4, 1))
    (tmp_path / "Set_TEST.tsv.gz").write_bytes(gzip.compress(ucr(8, 2).encode()))  # gzip -k
    out, how = read_and_describe(tmp_path / "Set_TRAIN.tsv", archive_split=True)
    assert out["split"].to_list() == ["train"] * 6 + ["test"] * 4
    assert "with Set_TEST.tsv beside it" in how
