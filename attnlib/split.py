"""Seeded train / validation / test assignment that never leaks.

- Whole sequences only; identical sequences always land in the same split.
- Classification is stratified by label.
- A data set that ships its own test split (a ``split`` column holding ``train`` / ``test``)
  keeps it; validation is carved out of its train part.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from attnlib.errors import DataError

SPLITS = ("train", "val", "test")


def assign_splits(
    frame: pl.DataFrame, *, val: float, test: float, seed: int, stratify: str | None = None
) -> pl.Series:
    """Return a ``split`` column ("train" / "val" / "test") for ``frame``'s rows.

    Args:
        frame: rows with a ``tokens`` (or ``values``) column; optional ``split`` (given test
            split) and ``stratify`` column.
        val, test: fractions of rows (test is ignored when the frame ships its own split).
        seed: the only source of randomness.
        stratify: column to stratify by (classification labels), or None.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise DataError(f"split fractions val={val}, test={test} must be in [0, 1) and sum below 1")
    n = frame.height
    key_col = "tokens" if "tokens" in frame.columns else "values"
    # group identical sequences so a duplicate can never straddle two splits
    group = frame.select(pl.col(key_col).hash(seed=0).rank("dense").cast(pl.Int64) - 1).to_series()
    group = group.to_numpy()
    strata = frame[stratify].cast(pl.Utf8).to_numpy() if stratify else np.zeros(n, dtype=object)
    given = frame["split"].to_numpy() if "split" in frame.columns else None
    out = np.empty(n, dtype=object)
    rng = np.random.default_rng(seed)
    if given is not None:
        bad = set(given) - {"train", "test"}
        if bad:
            raise DataError(f"column 'split' may hold only 'train' / 'test', found {sorted(bad)}")
        out[given == "test"] = "test"
        pool = given == "train"
        _cut(out, pool, group, strata, rng, {"val": val})
    else:
        _cut(out, np.ones(n, dtype=bool), group, strata, rng, {"test": test, "val": val})
    return pl.Series("split", out.astype(str))


def _cut(out, pool, group, strata, rng, fractions: dict[str, float]) -> None:
    """Within each stratum of ``pool``, shuffle the groups and hand out the fractions."""
    for s in np.unique(strata[pool]):
        rows = np.flatnonzero(pool & (strata == s))
        groups = rng.permutation(np.unique(group[rows]))
        sizes = {g: c for g, c in zip(*np.unique(group[rows], return_counts=True), strict=True)}
        total, taken, label_of = len(rows), 0, {}
        names = list(fractions)
        targets = np.cumsum([fractions[k] * total for k in names])
        k = 0
        for g in groups:
            while k < len(names) and taken >= round(targets[k]):
                k += 1
            label_of[g] = names[k] if k < len(names) else "train"
            taken += sizes[g]
        out[rows] = [label_of[g] for g in group[rows]]


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
