"""Archives (zip, tar) of a folder of text files: which files are the data, unpacked
safely; messages name the archive, never the temporary folder."""

from __future__ import annotations

import logging

import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.errors import DataError
from tests.attnlib.test_folders import write


def test_a_tar_or_zip_of_a_folder_reads_as_the_folder(tmp_path, caplog):
    """aclImdb_v1.tar.gz's layout (one top folder), a zip of class folders beside a
    README (the BBC news set's), and the messages name the archive."""
    import tarfile
    import zipfile

    files = {"README": "x", "train/pos/0_9.txt": "great", "train/neg/1_2.txt": "bad",
             "train/unsup/2_0.txt": "hm", "test/pos/0_8.txt": "fine",
             "test/neg/1_1.txt": "dull"}  # fmt: skip
    tree = write(tmp_path / "aclImdb", files)
    with tarfile.open(tmp_path / "aclImdb_v1.tar.gz", "w:gz") as tar:
        tar.add(tree, arcname="aclImdb")
    with caplog.at_level(logging.WARNING):
        frame, how = read_and_describe(tmp_path / "aclImdb_v1.tar.gz", archive_split=True)
    assert frame["id"].to_list() == ["train/neg/1_2.txt", "train/pos/0_9.txt",
                                     "test/neg/1_1.txt", "test/pos/0_8.txt"]  # fmt: skip
    assert frame["split"].to_list() == ["train", "train", "test", "test"]
    assert how.startswith(f"{tmp_path / 'aclImdb_v1.tar.gz'}/aclImdb: a folder of 4 text")
    assert f"{tmp_path / 'aclImdb_v1.tar.gz'}/aclImdb: train/unsup/ not read" in caplog.text
    assert "attnlib-unpacked" not in caplog.text + how

    with zipfile.ZipFile(tmp_path / "bbc.zip", "w") as zf:
        bbc = {"bbc/README.TXT": "x", "bbc/sport/001.txt": "goal", "bbc/tech/001.txt": "chips",
               "bbc/tech/002.txt": "code"}  # fmt: skip
        for name, text in bbc.items():
            zf.writestr(name, text)
    frame = read_source(tmp_path / "bbc.zip")
    assert frame["id"].to_list() == ["sport/001.txt", "tech/001.txt", "tech/002.txt"]
    assert frame["label"].to_list() == ["sport", "tech", "tech"]
    with zipfile.ZipFile(tmp_path / "bbc.zip", "a") as zf:
        zf.writestr("bbc/tech/003.txt", b"caf\xe9")
    with pytest.raises(DataError, match=r"bbc\.zip/bbc/tech/003\.txt.*line 1"):
        read_source(tmp_path / "bbc.zip")


def test_a_tar_reaching_outside_its_folder_or_holding_links_is_not_followed(tmp_path, caplog):
    import io
    import tarfile

    def tar(name, members):
        with tarfile.open(tmp_path / name, "w") as out:
            for member, link in members:
                info = tarfile.TarInfo(member)
                if link:
                    info.type, info.linkname = link
                else:
                    info.size = 1
                out.addfile(info, None if link else io.BytesIO(b"x"))
        return tmp_path / name

    evil = tar("evil.tar", [("set/pos/a.txt", None), ("set/neg/b.txt", None),
                            ("../outside.txt", None)])  # fmt: skip
    with pytest.raises(DataError) as exc:
        read_source(evil)
    assert str(exc.value).startswith(f"{evil}: '../outside.txt' would be unpacked outside the "
                                     "archive's folder")  # fmt: skip
    assert "attnlib-unpacked" not in str(exc.value)
    linked = tar("linked.tar", [("set/pos/a.txt", None), ("set/neg/b.txt", None),
                                ("set/neg/c.txt", (tarfile.SYMTYPE, "../pos/a.txt")),
                                ("set/neg/d.txt", (tarfile.LNKTYPE, "set/pos/a.txt"))])  # fmt: skip
    with caplog.at_level(logging.WARNING):
        frame = read_source(linked)
    assert frame["id"].to_list() == ["neg/b.txt", "pos/a.txt"]
    assert "linked.tar: 2 link(s) not unpacked, not read (set/neg/c.txt, set/neg/d.txt)" in (
        caplog.text)  # fmt: skip


def test_archives_of_several_data_files_are_still_an_error(tmp_path):
    """Text files side by side (Kaggle's emotion set: train.txt, test.txt, val.txt) are
    data files, not a folder of texts; a CSV beside class folders is left out, named."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "emotions.zip", "w") as zf:
        for name in ("train.txt", "test.txt", "val.txt"):
            zf.writestr(name, "i feel good;joy\n")
    with pytest.raises(DataError, match=r"emotions\.zip: a zip of 3 data files \(train\.txt"):
        read_source(tmp_path / "emotions.zip")
    with zipfile.ZipFile(tmp_path / "bbc.zip", "w") as zf:
        for name in ("bbc/sport/1.txt", "bbc/tech/1.txt", "bbc/meta.csv"):
            zf.writestr(name, "a b\n")
    assert read_source(tmp_path / "bbc.zip")["label"].to_list() == ["sport", "tech"]
    with zipfile.ZipFile(tmp_path / "pairs.zip", "w") as zf:
        for name in ("set/pos/a.txt", "set/neg/b.csv"):
            zf.writestr(name, "a b\n")
    with pytest.raises(DataError, match=r"pairs\.zip: a zip of 2 data files"):
        read_source(tmp_path / "pairs.zip")


def test_an_archive_with_a_note_beside_its_top_folder_reads_the_folder(tmp_path):
    import tarfile

    tree = write(tmp_path / "src", {"README": "x", "set/pos/a.txt": "good", "set/neg/b.txt": "bad"})
    with tarfile.open(tmp_path / "top.tar", "w") as tar:
        for name in ("README", "set"):
            tar.add(tree / name, arcname=name)
    frame, how = read_and_describe(tmp_path / "top.tar")
    assert frame["label"].to_list() == ["neg", "pos"]
    assert how == f"{tmp_path / 'top.tar'}/set: a folder of 2 text files in 2 class folders"


def test_a_misnamed_tar_is_one_line_saying_so(tmp_path):
    import gzip

    (tmp_path / "x.tar.gz").write_bytes(gzip.compress(b"text,label\na,b\n"))
    with pytest.raises(DataError) as exc:
        read_source(tmp_path / "x.tar.gz")
    assert str(exc.value) == (f"{tmp_path / 'x.tar.gz'}: not a readable tar file (not a tar "
                              "archive; a compressed table is named like NAME.csv.gz); unpack "
                              "it and give the file or folder inside")  # fmt: skip


def test_an_archive_of_sounds_is_refused_before_unpacking(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "speech.zip", "w") as zf:
        for name in ("speech/yes/1.wav", "speech/no/2.wav"):
            zf.writestr(name, b"RIFF\x00\x00WAVE" + bytes(100))
    with pytest.raises(DataError, match=r"speech\.zip: speech/yes/1\.wav is not a text"):
        read_source(tmp_path / "speech.zip")


def test_an_archive_larger_than_the_free_space_is_refused(tmp_path, monkeypatch):
    import shutil
    import zipfile

    from attnlib.datasets import unpack

    with zipfile.ZipFile(tmp_path / "big.zip", "w") as zf:
        for i in range(3):
            zf.writestr(f"set/{'ab'[i % 2]}/{i}.txt", "x")  # 3 files: 3 blocks of 4 KiB
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(unpack.shutil, "disk_usage",
                        lambda _: usage._replace(free=3 * 4096 - 1))  # fmt: skip
    with pytest.raises(DataError, match=r"big\.zip: unpacks to 0\.0 GB, more than the 0\.0 GB "
                                        r"free in .*; set TMPDIR"):  # fmt: skip
        read_source(tmp_path / "big.zip")
    monkeypatch.setattr(unpack.shutil, "disk_usage", lambda _: usage._replace(free=3 * 4096))
    assert read_source(tmp_path / "big.zip")["label"].to_list() == ["a", "a", "b"]


def test_a_licence_beside_an_archives_top_folder_leaves_the_folder_read(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "bbc.zip", "w") as zf:
        for name in ("LICENSE-MIT", "bbc/sport/1.txt", "bbc/tech/2.txt"):
            zf.writestr(name, "a b")
    frame, how = read_and_describe(tmp_path / "bbc.zip")
    assert frame["label"].to_list() == ["sport", "tech"]
    assert how.startswith(f"{tmp_path / 'bbc.zip'}/bbc: a folder of 2 text files")
    with zipfile.ZipFile(tmp_path / "one.zip", "w") as zf:
        zf.writestr("reviews.csv", "text,label\na b,x\nc,y\n")
        zf.writestr("LICENSE-MIT", "x")
    assert read_source(tmp_path / "one.zip")["label"].to_list() == ["x", "y"]


def test_a_file_beside_the_top_folder_and_markdown_texts(tmp_path, caplog):
    import zipfile

    with zipfile.ZipFile(tmp_path / "bbc.zip", "w") as zf:
        for name in ("bbc/sport/1.md", "bbc/tech/2.md", "categories.txt"):
            zf.writestr(name, "a b")
    with caplog.at_level(logging.WARNING):
        frame, how = read_and_describe(tmp_path / "bbc.zip")
    assert frame["id"].to_list() == ["sport/1.md", "tech/2.md"]
    assert how.startswith(f"{tmp_path / 'bbc.zip'}/bbc: a folder of 2 text files")
    assert "bbc.zip: categories.txt not read: beside the top folder bbc/" in caplog.text


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_a_tar_of_one_table_or_of_a_pair_reads_as_a_zip_does(tmp_path, mode):
    import io
    import tarfile

    suffix = {"w": ".tar", "w:gz": ".tgz", "w:bz2": ".tar.bz2", "w:xz": ".tar.xz"}[mode]
    for name, members in (("one", {"d/reviews.csv": "text,label\na,x\nb,y\n"}),
                          ("pair", {"S_TRAIN.tsv": "1\t0.1\t0.2\n2\t0.3\t0.4\n",
                                    "S_TEST.tsv": "1\t0.5\t0.6\n"})):  # fmt: skip
        with tarfile.open(tmp_path / f"{name}{suffix}", mode) as tar:
            for member, text in members.items():
                info = tarfile.TarInfo(member)
                info.size = len(text.encode())
                tar.addfile(info, io.BytesIO(text.encode()))
    assert read_source(tmp_path / f"one{suffix}")["label"].to_list() == ["x", "y"]
    pair = read_source(tmp_path / f"pair{suffix}", archive_split=True)
    assert pair["split"].to_list() == ["train", "train", "test"]


def test_a_table_beside_a_folder_of_images_is_the_data(tmp_path):
    """Kaggle's zips: train.csv beside images/cat/1.jpg ... reads the table."""
    import zipfile

    with zipfile.ZipFile(tmp_path / "pets.zip", "w") as zf:
        zf.writestr("train.csv", "text,label\na b,x\nc,y\n")
        for name in ("images/cat/1.jpg", "images/dog/2.jpg"):
            zf.writestr(name, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(50))
    assert read_source(tmp_path / "pets.zip")["label"].to_list() == ["x", "y"]


@pytest.mark.parametrize(
    "others",
    [
        ("docs/api/index.md", "docs/api/usage.md"),  # a folder of docs
        ("extras/notes/x.txt",),  # one sub-folder of texts
        (".idea/profiles/a.xml", ".idea/profiles/b.xml"),  # a hidden folder
    ],
)
def test_one_table_beside_one_folder_of_other_files_is_the_data(tmp_path, others):
    import zipfile

    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("train.csv", "text,label\na b,x\nc,y\n")
        for name in others:
            zf.writestr(name, "# notes")
    assert read_source(tmp_path / "set.zip")["label"].to_list() == ["x", "y"]
    with zipfile.ZipFile(tmp_path / "top.zip", "w") as zf:  # inside one top folder
        zf.writestr("set/data.csv", "text,label\na b,x\nc,y\n")
        for name in others:
            zf.writestr(f"set/{name}", "# notes")
    assert read_source(tmp_path / "top.zip")["label"].to_list() == ["x", "y"]


def test_members_named_from_the_root_unpack_inside_the_temporary_folder(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "abs.zip", "w") as zf:
        for name in ("/corpus/pos/a.txt", "/corpus/neg/b.txt"):
            zf.writestr(zipfile.ZipInfo(name), "a b")
    frame, how = read_and_describe(tmp_path / "abs.zip")
    assert frame["id"].to_list() == ["neg/b.txt", "pos/a.txt"]
    assert how.startswith(f"{tmp_path / 'abs.zip'}/corpus: a folder of 2 text files")


def test_a_data_file_beside_class_folders_below_a_split_is_named_not_refused(tmp_path, caplog):
    import zipfile

    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        for split in ("train", "test"):
            for label in ("pos", "neg"):
                zf.writestr(f"set/{split}/{label}/1.txt", "a b")
        zf.writestr("set/train/labels.csv", "id,label\n")
    with caplog.at_level(logging.WARNING):
        frame = read_source(tmp_path / "set.zip")
    assert frame["split"].to_list() == ["train", "train", "test", "test"]
    assert "train/labels.csv not read: beside the class folders" in caplog.text
