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


def conflicting(n_groups=60, copies=3, every=3):
    """``n_groups`` distinct texts, each ``copies`` times; every ``every``-th group's last
    copy carries the other label (a retweet labelled differently)."""
    rows = []
    for g in range(n_groups):
        label = "pos" if g % 2 else "neg"
        for c in range(copies):
            flip = g % every == 0 and c == copies - 1
            rows.append((f"g{g}c{c}", [f"w{g}", "text"], {"pos": "neg", "neg": "pos"}[label]
                         if flip else label))  # fmt: skip
    ids, toks, labels = zip(*rows, strict=True)
    return pl.DataFrame({"id": ids, "tokens": toks, "label": labels})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conflicting_duplicate_labels_split_whole_without_a_leak(seed):
    f = conflicting()
    f = f.with_columns(assign_splits(f, val=0.2, test=0.2, seed=seed, stratify="label"))
    check_no_leak({s: f.filter(pl.col("split") == s) for s in ("train", "val", "test")})
    per_group = f.group_by(pl.col("tokens").list.join(" ")).agg(pl.col("split").n_unique())
    assert per_group["split"].max() == 1  # every group whole
    # still stratified: each group counts under its majority label, 50 / 50 overall
    for part in ("train", "val", "test"):
        rows = f.filter(pl.col("split") == part)
        assert rows.height > 0
        assert rows["label"].eq("pos").mean() == pytest.approx(0.5, abs=0.1)


def test_split_frame_counts_conflicts_and_drops_train_copies_of_shipped_test_rows():
    from attnlib.split import split_frame  # noqa: PLC0415 (new API; the tests above predate it)

    f = conflicting().with_columns(
        pl.Series("split", ["test" if i >= 150 else "train" for i in range(180)])
    )
    # 4 shipped train rows repeat test group 50's text, among them the flipped copies of
    # groups 0 and 3 (whose other two copies agree)
    f = f.with_columns(
        pl.when(pl.col("id").is_in(["g0c2", "g1c1", "g2c2", "g3c2"]))
        .then(pl.lit(["w50", "text"]).cast(pl.List(pl.String)))
        .otherwise(pl.col("tokens"))
        .alias("tokens")
    )
    out, counts = split_frame(f, val=0.2, test=0.3, seed=0, stratify="label")
    assert counts.dropped_train_copies == 4 and out.height == 176
    assert out.filter(pl.col("split") == "test")["id"].to_list() == f["id"][150:].to_list()
    check_no_leak({s: out.filter(pl.col("split") == s) for s in ("train", "val", "test")})
    # 20 flipped groups (g % 3 == 0, 3 of them in test) less groups 0 and 3
    assert (counts.conflicting_groups, counts.conflicting_rows) == (18, 18 * 3)
    no_labels, _ = split_frame(f.drop("label"), val=0.2, test=0.3, seed=0)
    assert no_labels.height == 176


def test_many_small_classes_still_give_validation_its_share():
    """UCR's PigCVP ships 52 classes of 2 training series: each class's own 20 % rounds to
    none, so they are cut as one pool, after the large classes. Validation gets its share
    of the pool, at most one series of a class (its last stays in train), and the large
    classes keep their own stratified share, as without the small ones (whose labels sort
    first here, so drawing them first would change the large classes' draws)."""
    small = pl.DataFrame({"id": [f"p{i}" for i in range(60)],
                          "tokens": [[f"p{i}", "x"] for i in range(60)],
                          "label": [f"0{i // 2:02d}" for i in range(60)]})  # fmt: skip
    big = frame(n=100, labels=["a", "b"])
    for shipped in (True, False):
        both = pl.concat([big, small])
        alone = big
        if shipped:
            both, alone = (f.with_columns(split=pl.lit("train")) for f in (both, alone))
        for seed in range(3):
            split = assign_splits(both, val=0.2, test=0.1, seed=seed, stratify="label")
            pool = both.with_columns(split)[100:]
            counts = dict(pool["split"].value_counts().iter_rows())
            expected = {"train": 48, "val": 12} if shipped else {"train": 42, "val": 12, "test": 6}
            assert counts == expected  # round(0.2 * 60); round(0.1 * 60) without a shipped test
            held_out = pool.filter(pl.col("split") != "train")
            assert held_out["label"].n_unique() == held_out.height  # one per class at most
            assert set(pool.filter(pl.col("split") == "train")["label"]) == set(small["label"])
            big_alone = assign_splits(alone, val=0.2, test=0.1, seed=seed, stratify="label")
            assert split[:100].equals(big_alone)


def test_a_class_keeps_its_last_training_group():
    """A class of one row among large fractions, and a class whose rows are copies of one
    sequence (one group, too many rows to be pooled), stay in train: a label the train
    split lacks could not be learnt (and encode would stop on it)."""
    one = pl.DataFrame({"id": ["o"], "tokens": [["o", "1"]], "label": ["one"]})
    copies = pl.DataFrame({"id": [f"c{i}" for i in range(4)], "tokens": [["c", "1"]] * 4,
                           "label": ["copies"] * 4})  # fmt: skip
    f = pl.concat([frame(n=40, labels=["a", "b"]), one, copies])
    for seed in range(5):
        out = f.with_columns(assign_splits(f, val=0.3, test=0.3, seed=seed, stratify="label"))
        assert set(out.filter(pl.col("label").is_in(["one", "copies"]))["split"]) == {"train"}
        shipped = f.with_columns(split=pl.lit("train"))
        s = assign_splits(shipped, val=0.3, test=0.1, seed=seed, stratify="label")
        assert set(s[40:]) == {"train"}


@pytest.mark.parametrize(("val", "test", "pooled", "own"), [(0.2, 0.0, 2, 3), (0.2, 0.1, 5, 6)])
def test_a_class_is_pooled_when_the_smaller_fraction_of_it_rounds_to_no_row(val, test, pooled, own):
    """At val 0.2 with a shipped test split, classes of 2 rows are pooled and classes of 3
    are not; with test 0.1 as well, 5 and 6 (0.5 rounds to 0, half to even). Two pooled
    classes give their shares together (cumulative rounding over the pool); classes of
    their own share each give exactly that share."""

    def two_classes(n):
        f = pl.DataFrame({"id": [f"x{i}" for i in range(2 * n)],
                          "tokens": [[f"x{i}"] for i in range(2 * n)],
                          "label": ["a" if i < n else "b" for i in range(2 * n)]})  # fmt: skip
        return f if test else f.with_columns(split=pl.lit("train"))

    for seed in range(8):
        f = two_classes(pooled)
        s = assign_splits(f, val=val, test=test, seed=seed, stratify="label")
        assert (s != "train").sum() == round((val + test) * 2 * pooled)  # one pool of 2n rows
        f = two_classes(own).with_columns(assign_splits(
            two_classes(own), val=val, test=test, seed=seed, stratify="label"))  # fmt: skip
        for label in ("a", "b"):
            part = f.filter(pl.col("label") == label)["split"]
            assert (part == "val").sum() == round((val + test) * own) - round(test * own)
            assert (part == "test").sum() == round(test * own)


def test_labels_too_rare_to_reach_val_or_test_are_named():
    """A label's last sequence stays in train, and the two rare labels here share one
    validation row: the warning names them and the splits they miss; common labels alone
    give none."""
    from attnlib.encoding import unmeasured_labels
    from attnlib.split import split_frame

    rare = pl.DataFrame({"id": ["r1", "r2", "r3"], "tokens": [["z", "1"], ["z", "2"], ["y", "3"]],
                         "label": ["two", "two", "one"]})  # fmt: skip
    common = frame(labels=["a", "b"])
    out, _ = split_frame(pl.concat([common, rare]), val=0.1, test=0.1, seed=0, stratify="label")
    rare_splits = out.filter(pl.col("label").is_in(["one", "two"])).sort("id")["split"]
    assert rare_splits.to_list() in (["train", "val", "train"], ["val", "train", "train"])
    message = unmeasured_labels(out)
    assert message.startswith(
        "2 label(s) missing from the val or test split: 'one' (1 "
        "sequence, none in val or test), 'two' (2 sequences, none in test)"
    )
    no_test = unmeasured_labels(
        out.filter(~((pl.col("split") == "test") & (pl.col("label") == "a")))
    )
    assert "'a' (" in no_test and ", none in test)" in no_test
    assert (
        unmeasured_labels(split_frame(common, val=0.1, test=0.1, seed=0, stratify="label")[0]) == ""
    )


def test_one_sequence_per_class_says_why_validation_is_empty():
    """With one training sequence per class none can leave train, so a larger split.val
    alone cannot help: the error says so, and asks for both when the fraction is too small
    as well. A class with a second sequence, or a task without classes, keeps the usual
    advice."""
    from attnlib.encode import EncodeOptions, encode_dataset

    rows = [{"id": f"{split}{i}", "tokens": [f"w{i}", "x", "y", split], "label": f"c{i}",
             "split": split} for split in ("train", "test") for i in range(6)]  # fmt: skip

    def message(frame, task="classify", **fractions):
        with pytest.raises(DataError) as error:
            encode_dataset(frame, task, EncodeOptions(**fractions))
        return str(error.value)

    one_each = pl.DataFrame(rows)
    hint = ("the val split is empty; every class has one distinct sequence outside test, and "
            "a class's last one never leaves train")  # fmt: skip
    assert hint in message(one_each, val=0.2) and "raise split" not in message(one_each, val=0.2)
    assert message(one_each, val=0.05).endswith("a second sequence, and raise split.val (now 0.05)")
    extra = {"id": "z", "tokens": ["w0", "z", "y", "train"], "label": "c0", "split": "train"}
    assert "raise split.val (now 0.05; " in message(pl.DataFrame([*rows, extra]), val=0.05)
    next_state = pl.DataFrame(rows[:6]).drop("split")  # 6 sequences: test 1, val 0
    assert "every class" not in message(next_state, "next_state", val=0.1, test=0.1)
