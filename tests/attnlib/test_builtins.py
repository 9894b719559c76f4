"""The built-in data sets beyond bach_chorales: sizes, schemas, shipped splits, no leaks."""

import polars as pl
import pytest

from attnlib.datasets import BUILTINS, load_builtin, read_source
from attnlib.datasets.text import hamlet_speeches


def test_registry_names_task_size_and_source():
    tasks = {name: info.task for name, info in BUILTINS.items()}
    assert sorted(n for n, t in tasks.items() if t == "next_state") == [
        "bach_chorales",
        "hamlet_chars",
    ]
    assert {"trec6", "rotten_tomatoes", "gunpoint", "italy_power_demand", "basic_motions",
            "japanese_vowels"} <= {n for n, t in tasks.items() if t == "classify"}  # fmt: skip
    assert {"airline", "co2"} <= {n for n, t in tasks.items() if t == "forecast"}
    assert all(info.size and info.source for info in BUILTINS.values())


def test_trec6_keeps_its_standard_split_without_leaks():
    frame = load_builtin("trec6")
    counts = dict(frame.group_by("split").len().iter_rows())
    assert counts == {"train": 5441, "test": 500}  # 5,452 less 11 copies of test questions
    assert sorted(frame["label"].unique()) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    test = frame.filter(pl.col("split") == "test")
    assert test["tokens"][0].to_list() == ["How", "far", "is", "it", "from", "Denver", "to",
                                           "Aspen", "?"]  # as written  # fmt: skip
    lower = frame["text"].str.to_lowercase().str.split(" ")
    train_keys = set(lower.filter(frame["split"] == "train").hash().to_list())
    assert not train_keys & set(lower.filter(frame["split"] == "test").hash().to_list())


def test_rotten_tomatoes_is_binary_text():
    frame = load_builtin("rotten_tomatoes")
    assert set(frame["label"].unique()) == {"fresh", "rotten"}
    assert frame.height == 4863 and frame["tokens"].list.len().min() >= 1


def test_hamlet_speeches_and_chunks():
    text = "ACT I\nBERNARDO\nWho's there?\nFRANCISCO\nNay, answer me.\nStand.\nExit\n"
    assert hamlet_speeches(text) == [("BERNARDO", "Who's there?"),
                                     ("FRANCISCO", "Nay, answer me. / Stand.")]  # fmt: skip
    frame = load_builtin("hamlet_chars", limit=50)
    assert frame.height == 50 and frame["tokens"].list.len().max() <= 400
    assert "␣" in frame["tokens"].explode().to_list()


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [("gunpoint", (50, 150, 150, 1), 2), ("japanese_vowels", (270, 370, None, 12), 9)],
)
def test_ucr_sets_keep_the_archive_split(name, shape, classes):
    frame = read_source(f"builtin:{name}")
    n_train, n_test, length, channels = shape
    counts = dict(frame.group_by("split").len().iter_rows())
    assert counts == {"train": n_train, "test": n_test}
    lengths = frame["values"].list.len()
    assert (lengths == length).all() if length else lengths.min() < lengths.max()
    assert frame["values"][0][0].len() == channels
    assert frame["label"].n_unique() == classes


def test_forecast_series_are_long_tables():
    airline = load_builtin("airline")
    assert airline.columns == ["time", "passengers"] and airline.height == 144
    assert airline["time"][0] == "1949-01" and airline["passengers"][-1] == 432.0
    co2 = load_builtin("co2")
    assert co2.height == 526 and co2["co2"].null_count() == 0
    assert load_builtin("airline", limit=10).height == 10
