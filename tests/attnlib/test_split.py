import polars as pl
import pytest

from attnlib.errors import DataError
from attnlib.split import assign_splits, check_no_leak


def frame(n=200, dup_every=0, labels=None):
    toks = [[f"t{i}", f"u{i % 7}"] for i in range(n)]
    if dup_every:
        toks = [toks[i - i % dup_every] for i in range(n)]  # runs of identical sequences
    data = {"id": [f"s{i}" for i in range(n)], "tokens": toks}
    if labels:
        data["label"] = [labels[i % len(labels)] for i in range(n)]
    return pl.DataFrame(data)


def test_fractions_and_seed():
    f = frame()
    s = assign_splits(f, val=0.1, test=0.2, seed=1)
    counts = s.value_counts().sort("split")
    assert dict(counts.iter_rows()) == {"test": 40, "train": 140, "val": 20}
    assert s.equals(assign_splits(f, val=0.1, test=0.2, seed=1))
    assert not s.equals(assign_splits(f, val=0.1, test=0.2, seed=2))


def test_identical_sequences_never_straddle_splits():
    f = frame(dup_every=5).with_columns(
        assign_splits(frame(dup_every=5), val=0.2, test=0.2, seed=0)
    )
    per_seq = f.group_by(pl.col("tokens").list.join(" ")).agg(pl.col("split").n_unique())
    assert per_seq["split"].max() == 1


def test_stratified_by_label():
    f = frame(labels=["a", "a", "a", "b"])
    f = f.with_columns(assign_splits(f, val=0.25, test=0.25, seed=0, stratify="label"))
    for part in ("train", "val", "test"):
        share_b = f.filter(pl.col("split") == part)["label"].eq("b").mean()
        assert share_b == pytest.approx(0.25, abs=0.03)


def test_shipped_test_split_is_kept():
    f = frame().with_columns(
        pl.Series("split", ["test" if i < 50 else "train" for i in range(200)])
    )
    s = assign_splits(f, val=0.2, test=0.4, seed=0)
    assert (s[:50] == "test").all() and (s[50:] != "test").all()
    assert (s == "val").sum() == 30


def test_bad_fractions_and_leak_detection():
    with pytest.raises(DataError, match="fractions"):
        assign_splits(frame(), val=0.6, test=0.5, seed=0)
    a = pl.DataFrame({"id": ["x"], "tokens": [["p", "q"]]})
    b = pl.DataFrame({"id": ["y"], "tokens": [["p", "q"]]})
    with pytest.raises(DataError, match="both 'train' and 'test'"):
        check_no_leak({"train": a, "test": b})
