"""Seeded train / validation / test assignment that never leaks.

- Whole sequences only; identical sequences always land in the same split. A group of
  identical sequences is placed once, even when its copies carry different labels (common
  in real data: retweets, shared names); classification stratifies each group by its
  majority label.
- A data set that ships its own test split (a ``split`` column holding ``train`` / ``test``)
  keeps it; validation is carved out of its train part, and train rows that repeat a test
  sequence are dropped (the shipped test part stays intact).
- Classification stratifies by label; classes too small for their own share are cut
  together as one pool, and no class gives up its last training group (:func:`_cut`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from attnlib.errors import DataError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitCounts:
    """What :func:`split_frame` had to reconcile (the caller logs it)."""

    conflicting_groups: int = 0  # groups of identical sequences under more than one label
    conflicting_rows: int = 0  # the rows of those groups
    dropped_train_copies: int = 0  # shipped train rows identical to a shipped test sequence

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def split_frame(
    frame: pl.DataFrame, *, val: float, test: float, seed: int, stratify: str | None = None
) -> tuple[pl.DataFrame, SplitCounts]:
    """``frame`` with a ``split`` column, minus the train copies of shipped test sequences.

    Args: as :func:`assign_splits`.

    Returns:
        (the rows kept, with ``split``; the counts of conflicting labels and dropped rows).
    """
    split = assign_splits(frame, val=val, test=test, seed=seed, stratify=stratify)
    out = frame.with_columns(split).filter(pl.col("split").is_not_null())
    counts = {"dropped_train_copies": frame.height - out.height}
    if stratify:
        per_group = out.group_by(_group_ids(out)).agg(
            pl.col(stratify).n_unique().alias("labels"), pl.len().alias("rows")
        )
        conflicting = per_group.filter(pl.col("labels") > 1)
        counts.update(conflicting_groups=conflicting.height,
                      conflicting_rows=int(conflicting["rows"].sum()))  # fmt: skip
    return out, SplitCounts(**counts)


def check_fractions(val: float, test: float) -> None:
    """A DataError unless both split fractions lie in [0, 1) and leave a train part."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise DataError(f"split fractions val={val}, test={test} must be in [0, 1) and sum below 1")


def assign_splits(
    frame: pl.DataFrame, *, val: float, test: float, seed: int, stratify: str | None = None
) -> pl.Series:
    """Return a ``split`` column ("train" / "val" / "test") for ``frame``'s rows.

    Args:
        frame: rows with a ``tokens`` (or ``values``) column; optional ``split`` (given test
            split) and ``stratify`` column.
        val, test: fractions of rows (test is ignored when the frame ships its own split).
        seed: the only source of randomness.
        stratify: column to stratify by (classification labels), or None. A group of
            identical sequences counts under its most frequent label (ties: the first in
            sorted order).

    Returns:
        The column; null for a shipped train row that repeats a shipped test sequence
        (:func:`split_frame` drops those rows).
    """
    check_fractions(val, test)
    n = frame.height
    # group identical sequences so a duplicate can never straddle two splits
    group = frame.select(_group_ids(frame)).to_series().to_numpy()
    strata = _majority(frame[stratify], group) if stratify else np.zeros(n, dtype=object)
    given = frame["split"].to_numpy() if "split" in frame.columns else None
    out = np.empty(n, dtype=object)
    rng = np.random.default_rng(seed)
    if given is not None:
        bad = set(given) - {"train", "test"}
        if bad:
            raise DataError(f"column 'split' may hold only 'train' / 'test', found {sorted(bad)}")
        out[given == "test"] = "test"
        copies = (given == "train") & np.isin(group, group[given == "test"])
        out[copies] = None
        _cut(out, (given == "train") & ~copies, group, strata, rng, {"val": val})
    else:
        _cut(out, np.ones(n, dtype=bool), group, strata, rng, {"test": test, "val": val})
    return pl.Series("split", out.tolist(), dtype=pl.String)


def _group_ids(frame: pl.DataFrame) -> pl.Expr:
    """0-based id of each row's group of identical sequences (``tokens`` or ``values``)."""
    key = "tokens" if "tokens" in frame.columns else "values"
    return (pl.col(key).hash(seed=0).rank("dense").cast(pl.Int64) - 1).alias("group")


def _majority(labels: pl.Series, group: np.ndarray) -> np.ndarray:
    """Each row's stratum: the most frequent label of its group (ties: the smallest)."""
    pairs = pl.DataFrame({"group": group, "label": labels.cast(pl.Utf8)})
    top = (
        pairs.group_by("group", "label")
        .len()
        .sort(["group", "len", "label"], descending=[False, True, False])
        .unique("group", keep="first")
    )
    lookup = dict(zip(top["group"].to_list(), top["label"].to_list(), strict=True))
    return np.array([lookup[g] for g in group.tolist()], dtype=object)


def _cut(out, pool, group, strata, rng, fractions: dict[str, float]) -> None:
    """Within each stratum of ``pool``, shuffle the groups and hand out the fractions.

    A stratum too small for its own share (its rows times the smallest fraction round to
    0, half to even: under 3 rows at 0.2, under 6 at 0.1) is cut with the other such
    strata as one pooled stratum, after the rest, so that many small classes (UCR's
    PigCVP: 52 classes of 2 training series) still give validation its share. The pooled
    share counts rows, so a 1-row class, which stays in train, leaves its part to the
    others. No group leaves train if it is its class's last there: the label map is
    learnt from the train split.
    """
    smallest = min((f for f in fractions.values() if f > 0), default=0.0)
    pooled = np.zeros_like(pool)
    for s in np.unique(strata[pool]):
        rows = pool & (strata == s)
        if smallest > 0 and round(smallest * rows.sum()) == 0:
            pooled |= rows
            continue
        _hand_out(out, np.flatnonzero(rows), group, strata, rng, fractions)
    if pooled.any():
        _hand_out(out, np.flatnonzero(pooled), group, strata, rng, fractions)


def _hand_out(out, rows, group, strata, rng, fractions) -> None:
    """Shuffle the groups of ``rows`` and hand out ``fractions`` of the rows in that order,
    the rest to train; a group whose class (``strata``) has no other group left in train
    stays there, and the next group takes its place."""
    ids, counts = np.unique(group[rows], return_counts=True)
    groups = rng.permutation(ids)
    sizes = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    class_of = dict(zip(group[rows].tolist(), strata[rows].tolist(), strict=True))
    in_train = Counter(class_of.values())  # groups of each class still in train
    total, taken, label_of = len(rows), 0, {}
    names = list(fractions)
    targets = np.cumsum([fractions[k] * total for k in names])
    k = 0
    for g in groups.tolist():
        while k < len(names) and taken >= round(targets[k]):
            k += 1
        label_of[g] = names[k] if k < len(names) else "train"
        if label_of[g] != "train":
            if in_train[class_of[g]] == 1:
                label_of[g] = "train"
                continue
            in_train[class_of[g]] -= 1
        taken += sizes[g]
    out[rows] = [label_of[g] for g in group[rows].tolist()]


def check_no_leak(splits: dict[str, pl.DataFrame], key: str = "tokens") -> None:
    """Raise if any sequence (or id) appears in two splits."""
    seen: dict[object, str] = {}
    for name, df in splits.items():
        for col in ("id", key):
            if col not in df.columns:
                continue
            for v in df[col].to_list():
                k = (col, _frozen(v))
                if k in seen and seen[k] != name:
                    raise DataError(f"{col} {str(v)[:60]} is in both '{seen[k]}' and '{name}'")
                seen[k] = name


def _frozen(value: object) -> object:
    """A hashable copy of a (nested) list."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value
