"""encode.max_length: long sequences cut into windows (next-state) or truncated (classify)."""

from __future__ import annotations

import polars as pl
import pytest

from attnlib.encode import EncodeOptions, encode_dataset
from attnlib.errors import ConfigError, DataError
from attnlib.lengths import AUTO_FLOOR, cap_lengths, resolve_max_length


def corpus(long: int = 5000, n: int = 60) -> pl.DataFrame:
    seqs = [[f"t{(i + j) % 7}" for j in range(5 + i % 10)] for i in range(n)]
    seqs.append([f"t{j % 7}" for j in range(long)])
    return pl.DataFrame({"id": [f"s{i}" for i in range(n + 1)], "tokens": seqs})


def test_auto_is_twice_the_99th_percentile_with_a_floor():
    assert resolve_max_length("auto", pl.Series([10] * 99 + [200_000])) == AUTO_FLOOR
    assert resolve_max_length("auto", pl.Series([1000] * 100)) == 2000
    assert resolve_max_length(0, pl.Series([5])) is None
    with pytest.raises(ConfigError, match="encode.max_length"):
        resolve_max_length("big", pl.Series([5]))


def test_next_state_windows_overlap_and_cover_the_sequence():
    frame = pl.DataFrame({"id": ["a", "b"], "tokens": [list("xyz"), [str(i) for i in range(10)]]})
    out, note = cap_lengths(frame, 4, windows=True)
    windows = out.filter(pl.col("id").str.starts_with("b#"))["tokens"].to_list()
    assert windows == [["0", "1", "2", "3"], ["2", "3", "4", "5"], ["4", "5", "6", "7"],
                       ["6", "7", "8", "9"]]  # fmt: skip
    assert out.filter(pl.col("id") == "a")["tokens"].to_list() == [list("xyz")]
    assert note.startswith("1 sequence(s) longer than encode.max_length=4 (longest 10) cut into 4")


def test_classification_truncates_with_a_count():
    frame = pl.DataFrame({"id": ["a", "b"], "tokens": [list("xyz"), list("abcdef")],
                          "label": ["p", "q"]})  # fmt: skip
    out, note = cap_lengths(frame, 4, windows=False)
    assert out["tokens"].to_list() == [list("xyz"), list("abcd")] and out.height == 2
    assert "1 sequence(s)" in note and "truncated" in note


def test_encode_keeps_windows_in_their_sequences_split():
    frame, meta = encode_dataset(corpus(), "next_state", EncodeOptions(val=0.2, test=0.2))
    assert meta["input"]["max_length"] == AUTO_FLOOR and "cut into" in meta["input"]["cut"]
    assert frame["length"].max() <= AUTO_FLOOR
    windows = frame.filter(pl.col("id").str.starts_with("s60#"))
    assert windows.height > 1 and windows["split"].n_unique() == 1


def test_an_empty_split_is_named_with_sizes_and_param():
    raw = corpus(long=10, n=4)
    with pytest.raises(DataError, match=r"5 sequences give train .*split.val=0.1.*raise split"):
        encode_dataset(raw, "next_state", EncodeOptions())
