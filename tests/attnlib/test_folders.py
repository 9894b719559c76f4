"""A folder of text files, one text per file: class folders, a train/ and test/ split, a
flat corpus; what the layout leaves out is named, bad input is an error naming the file."""

from __future__ import annotations

import logging

import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.errors import ConfigError, DataError


def write(root, files: dict[str, str]):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_class_folders_are_the_labels_and_files_beside_them_are_named(tmp_path, caplog):
    root = write(tmp_path / "reviews", {
        "pos/a.txt": "A fine film.\n", "pos/b.txt": "Loved it", "neg/c.txt": "Dull,\ndull.",
        "README": "about", ".DS_Store": "x", "pos/.hidden.txt": "x", "pos/more/d.txt": "x",
        "empty/.keep": "",
    })  # fmt: skip
    with caplog.at_level(logging.WARNING):
        frame, how = read_and_describe(root)
    assert frame["id"].to_list() == ["neg/c.txt", "pos/a.txt", "pos/b.txt"]
    assert frame["label"].to_list() == ["neg", "pos", "pos"]
    assert frame["text"].to_list() == ["Dull,\ndull.", "A fine film.", "Loved it"]
    assert frame["tokens"][0].to_list() == ["Dull,", "dull."]
    assert "split" not in frame.columns
    assert how == f"{root}: a folder of 3 text files in 2 class folders"
    said = caplog.text
    assert "README not read: a note, not a text" in said
    assert "pos/more/ not read: inside the class folder pos/" in said
    assert "empty/ not read: no files directly in it" in said
    assert "DS_Store" not in said and "hidden" not in said


def test_train_and_test_folders_are_the_sets_own_split(tmp_path, caplog):
    """The Large Movie Review layout: train/unsup (no test/unsup) and the files beside the
    class folders are not read, and the split is kept through a limit."""
    root = write(tmp_path / "aclImdb", {
        "README": "x", "imdb.vocab": "x", "train/labeledBow.feat": "x",
        "train/pos/0_9.txt": "great", "train/pos/1_8.txt": "good", "train/neg/2_1.txt": "bad",
        "train/unsup/3_0.txt": "hm", "test/pos/0_7.txt": "fine", "test/neg/1_2.txt": "boring",
        "test/neutral/5_5.txt": "ok",
    })  # fmt: skip
    with caplog.at_level(logging.WARNING):
        frame, how = read_and_describe(root, archive_split=True)
    assert frame["split"].to_list() == ["train"] * 3 + ["test"] * 2
    assert frame["id"].to_list() == ["train/neg/2_1.txt", "train/pos/0_9.txt", "train/pos/1_8.txt",
                                     "test/neg/1_2.txt", "test/pos/0_7.txt"]  # fmt: skip
    assert how.endswith("5 text files in 2 class folders, train/ 3 and test/ 2 (the set's own "
                        "split)")  # fmt: skip
    said = caplog.text
    assert "README, imdb.vocab not read: beside train/ and test/" in said
    assert "train/unsup/ not read: texts without a class" in said
    assert "test/neutral/ not read: a class with no folder in train/" in said
    assert "train/labeledBow.feat not read: beside the class folders" in said
    limited = read_source(root, limit=1)
    assert limited["split"].to_list() == ["train", "test"]


def test_a_folder_of_files_is_texts_without_classes(tmp_path):
    root = write(tmp_path / "poems", {"one.txt": "a b c", "two.md": "c b a"})
    frame, how = read_and_describe(root)
    assert frame.columns == ["id", "tokens", "text"]
    assert frame["id"].to_list() == ["one.txt", "two.md"]
    assert how == f"{root}: a folder of 2 text files"
    split = write(tmp_path / "corpus", {"train/a.txt": "x y", "test/b.txt": "y x"})
    assert read_source(split)["split"].to_list() == ["train", "test"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no files to read (expected one text per file, in a sub-folder per class)"),
        ({"train/pos/a.txt": "x", "test/b.txt": "y"},
         "train/ holds class folders with files and test/ does not; give both the same "
         "layout (or give train/ to ingest and test/ to attnlib predict)"),
        ({"train/pos/a.txt": "x", "train/neg/b.txt": "y"},
         "train/ holds class folders but there is no test/ beside it; add test/ (the set's "
         "own split), or move the class folders up into the folder"),
        ({"train/pos/a.txt": "x", "test/good/b.txt": "y"},
         "train/ and test/ have no class folder of the same name (train: ['pos'], test: "
         "['good'])"),
    ],
)  # fmt: skip
def test_a_folder_that_does_not_fit_the_layout_is_an_error(tmp_path, files, message):
    root = write(tmp_path / "set", files)
    root.mkdir(exist_ok=True)
    with pytest.raises(DataError) as exc:
        read_source(root)
    assert str(exc.value) == f"{root}: {message}"


def test_a_bad_file_is_an_error_naming_it(tmp_path):
    root = write(tmp_path / "set", {"pos/a.txt": "fine", "neg/b.txt": "bad"})
    (root / "neg/c.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(DataError, match=r"set/neg/c\.txt.*line 1.*UTF-8"):
        read_source(root)
    (root / "neg/c.txt").write_text("  \n")
    with pytest.raises(DataError, match=r"set/neg/c\.txt: file is empty"):
        read_source(root)
    (root / "neg/c.txt").write_text("one two three")
    with pytest.raises(DataError) as exc:
        read_source(root, max_length=2)
    assert str(exc.value) == (f"{root}, file neg/c.txt: sequence 'neg/c.txt' has 3 tokens, "
                              "more than max_length 2")  # fmt: skip


def test_a_folder_takes_no_format_or_column_names(tmp_path):
    root = write(tmp_path / "set", {"pos/a.txt": "fine", "neg/b.txt": "bad"})
    with pytest.raises(ConfigError, match="a folder; it is read by its layout"):
        read_source(root, "csv")
    with pytest.raises(ConfigError, match="read as a folder of text files, which has no named"):
        read_source(root, columns={"text": "review"})
    # a model's training names (predicting) are dropped, as for a built-in set
    frame = read_source(root, columns={"text": "review"}, optional_columns=("text",))
    assert frame["label"].to_list() == ["neg", "pos"]


def test_a_folder_of_data_files_is_not_read_as_texts(tmp_path):
    root = write(tmp_path / "series", {"a.csv": "time,x\n1,2\n", "b.csv": "time,x\n1,2\n"})
    with pytest.raises(DataError) as exc:
        read_source(root)
    assert str(exc.value) == (f"{root}: a.csv, b.csv are not texts: a folder is read as one "
                              "text per file; give a data file itself (or join such files "
                              "into one)")  # fmt: skip


def test_limit_takes_each_class_in_turn(tmp_path):
    root = write(tmp_path / "set", {f"{c}/{i}.txt": f"{c} {i}" for c in ("neg", "pos", "zzz")
                                    for i in range(3)})  # fmt: skip
    frame = read_source(root, limit=4)
    assert frame["id"].to_list() == ["neg/0.txt", "neg/1.txt", "pos/0.txt", "zzz/0.txt"]
    split = write(tmp_path / "split", {f"{s}/{c}/{i}.txt": "x" for s in ("train", "test")
                                       for c in ("neg", "pos") for i in range(3)})  # fmt: skip
    frame = read_source(split, limit=2)
    assert frame["id"].to_list() == ["train/neg/0.txt", "train/pos/0.txt", "test/neg/0.txt",
                                     "test/pos/0.txt"]  # fmt: skip


def test_names_cases_separators_and_file_names(tmp_path, caplog):
    root = write(tmp_path / "set", {"Train/pos/a.txt": "a|b c", "Train/neg/b.txt": "d",
                                    "Train/extra/c.txt": "e", "Test/pos/d.txt": "f",
                                    "Test/neg/e.txt": "g", "Thumbs.db": "x"})  # fmt: skip
    with caplog.at_level(logging.WARNING):
        frame = read_source(root, sep="|")
    assert frame["tokens"].to_list()[:2] == [["d"], ["a", "b c"]]
    assert "Train/extra/ not read: a class with no folder in Test/" in caplog.text
    assert "Thumbs" not in caplog.text
    bad = tmp_path / "bad"
    (bad / "pos").mkdir(parents=True)
    (bad / "pos" / "a.txt").write_text("x")
    (bad / "neg").mkdir()
    (bad / "neg" / "b.txt").write_text("y")
    try:
        (bad / "pos" / b"caf\xe9.txt".decode("utf-8", "surrogateescape")).write_text("y")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes UTF-8 names only")
    with pytest.raises(DataError, match=r"bad: the file name 'pos/caf\ufffd\.txt' is not UTF-8"):
        read_source(bad)


def test_twenty_newsgroups_split_folders_and_one_class_sets(tmp_path):
    """20news-bydate's NAME-train / NAME-test folders are the split; a set whose only
    class folder holds files (UCI HAR's 'Inertial Signals') is refused, not one class."""
    root = write(tmp_path / "20news", {
        "20news-bydate-train/sci.space/1": "orbit", "20news-bydate-train/rec.autos/2": "car",
        "20news-bydate-test/sci.space/3": "moon", "20news-bydate-test/rec.autos/4": "wheel",
    })  # fmt: skip
    frame = read_source(root)
    assert frame["split"].to_list() == ["train", "train", "test", "test"]
    assert frame["label"].to_list() == ["rec.autos", "sci.space"] * 2
    har = write(tmp_path / "har", {"train/X_train.txt": "1 2", "test/X_test.txt": "1 2",
                                   "train/Inertial Signals/a.txt": "1 2",
                                   "test/Inertial Signals/b.txt": "3 4"})  # fmt: skip
    with pytest.raises(DataError, match=r"har: only the class folder 'Inertial Signals' holds "
                                        r"texts, and the files beside it \(train/X_train\.txt, "
                                        r"test/X_test\.txt\) are not read"):  # fmt: skip
        read_source(har)
    new = write(tmp_path / "new", {"pos/1.txt": "good", "pos/2.txt": "fine"})
    assert read_source(new)["label"].to_list() == ["pos", "pos"]  # predicting one class


def test_notes_binary_files_and_data_past_a_limit(tmp_path, caplog):
    root = write(tmp_path / "set", {"pos/a.txt": "good", "pos/License.txt": "MIT",
                                    "neg/license-plate-story.txt": "a plate",
                                    "neg/README.md": "x", "LICENSE-MIT": "x",
                                    "COPYING-2.0.txt": "x", "README.en.md": "x"})  # fmt: skip
    with caplog.at_level(logging.WARNING):
        frame = read_source(root)
    assert frame["id"].to_list() == ["neg/license-plate-story.txt", "pos/a.txt"]
    assert "COPYING-2.0.txt, LICENSE-MIT, README.en.md not read: a note" in caplog.text
    assert "neg/README.md not read: a note" in caplog.text
    assert "pos/License.txt not read: a note" in caplog.text
    (root / "pos/b.wav").write_bytes(b"RIFF\x00\x00WAVE" + bytes(100))
    with pytest.raises(DataError, match=r"set, file pos/b\.wav: not a text \(it holds binary"):
        read_source(root)
    (root / "pos/b.wav").unlink()
    (root / "pos/z.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"set: pos/z\.csv is not a text"):
        read_source(root, limit=1)  # the limit would have left it out


def test_an_empty_split_folder_and_split_names_in_messages(tmp_path):
    (tmp_path / "empty/test").mkdir(parents=True)
    notes = write(tmp_path / "notes", {"train/README": "x"})
    for root in (tmp_path / "empty", notes):
        with pytest.raises(DataError, match=r": no files to read \(expected one text per file"):
            read_source(root)
    apart = write(tmp_path / "apart", {"Train/pos/a.txt": "x", "Test/good/b.txt": "y"})
    with pytest.raises(DataError, match=r"apart: Train/ and Test/ have no class folder of "
                                        r"the same name \(train: \['pos'\], test: "
                                        r"\['good'\]\)"):  # fmt: skip
        read_source(apart)
    news = write(tmp_path / "news", {"news-train/a/1": "x", "news-train/b/2": "y",
                                     "news-test/a/3": "z", "news-test/b/4": "w"})  # fmt: skip
    how = read_and_describe(news)[1]
    assert how.endswith("4 text files in 2 class folders, news-train/ 2 and news-test/ 2 (the "
                        "set's own split)")  # fmt: skip


def test_reuters_training_folders_imdb_train_alone_and_a_wrapping_folder(tmp_path, caplog):
    reuters = write(tmp_path / "reuters", {"training/1": "oil", "training/2": "grain",
                                           "test/14826": "trade", "cats.txt": "x"})  # fmt: skip
    frame = read_source(reuters)
    assert frame["split"].to_list() == ["train", "train", "test"]
    assert "label" not in frame.columns  # the classes are in cats.txt, named as not read
    sets = write(tmp_path / "tt", {"training/pos/1.txt": "a", "training/neg/2.txt": "b",
                                   "testing/pos/3.txt": "c", "testing/neg/4.txt": "d"})  # fmt: skip
    assert read_source(sets)["label"].to_list() == ["neg", "pos", "neg", "pos"]
    imdb = write(tmp_path / "aclImdb", {"train/pos/1.txt": "good", "train/neg/2.txt": "bad",
                                        "train/unsup/3.txt": "hm"})  # fmt: skip
    with caplog.at_level(logging.WARNING):
        assert read_source(imdb / "train")["label"].to_list() == ["neg", "pos"]
    assert "unsup/ not read: texts without a class" in caplog.text
    wrapped = write(tmp_path / "bbc-fulltext", {"bbc/sport/1.txt": "goal", "bbc/tech/2.txt": "x",
                                                "bbc/README.TXT": "x"})  # fmt: skip
    frame, how = read_and_describe(wrapped)
    assert frame["id"].to_list() == ["sport/1.txt", "tech/2.txt"]
    assert how == f"{wrapped / 'bbc'}: a folder of 2 text files in 2 class folders"
