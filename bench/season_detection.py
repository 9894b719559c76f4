"""Season detection on seeded synthetic series: how often each rule finds the period.

Two rules on the same series: ``now`` (:func:`attnlib.seasonality.find_season` as the
encode stage runs it: a stationary level read as it is, then differenced; a drifting one
differenced, then detrended) and ``differences only`` (the rule before it: the ACF of
the differences alone). Families without a cycle
(white noise, random walks, AR(1)) count false periods; families with one (a sine plus
Gaussian noise, with or without a trend) count the runs that find the period within one
lag. Writes bench/results/season_detection.{json,md}.

    python bench/season_detection.py            # 40 seeds a family, a few seconds
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attnlib.io import write_json_atomic, write_text_atomic  # noqa: E402
from attnlib.seasonality import acf_peak, find_season, testable  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def ar(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    e, x = rng.normal(size=n), np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def sine(n, period, amp, noise, trend, rng) -> np.ndarray:
    t = np.arange(n)
    return 50 + trend * t + amp * np.sin(2 * np.pi * t / period) + rng.normal(0, noise, n)


# name -> (steps, true period or None, generator of one series from a seeded rng)
FAMILIES = {
    "white noise, 300": (300, None, lambda r: r.normal(size=300)),
    "white noise, 1000": (1000, None, lambda r: r.normal(size=1000)),
    "random walk, 300": (300, None, lambda r: np.cumsum(r.normal(size=300))),
    "random walk + noise, 1000": (1000, None,
                                  lambda r: np.cumsum(r.normal(size=1000)) + r.normal(0, 2, 1000)),
    "AR(1) 0.5, 1000": (1000, None, lambda r: ar(1000, 0.5, r)),
    "AR(1) 0.7, 1000": (1000, None, lambda r: ar(1000, 0.7, r)),
    "AR(1) 0.9, 1000": (1000, None, lambda r: ar(1000, 0.9, r)),
    "AR(1) 0.7 + trend, 1000": (1000, None, lambda r: ar(1000, 0.7, r) + 0.05 * np.arange(1000)),
    "AR(1) 0.9 + trend, 300": (300, None, lambda r: ar(300, 0.9, r) + 0.05 * np.arange(300)),
    "random walk with drift, 1000": (1000, None, lambda r: np.cumsum(r.normal(0.2, 1, 1000))),
    "sine 7, amp 3, noise 1.5, 96": (96, 7, lambda r: sine(96, 7, 3, 1.5, 0, r)),
    "sine 13, amp 3, noise 2, 150": (150, 13, lambda r: sine(150, 13, 3, 2, 0, r)),
    "sine 25, amp 3, noise 2, 200": (200, 25, lambda r: sine(200, 25, 3, 2, 0, r)),
    "sine 45, amp 8, noise 1.5, 580": (580, 45, lambda r: sine(580, 45, 8, 1.5, 0, r)),
    "sine 45, amp 4, noise 2, 730": (730, 45, lambda r: sine(730, 45, 4, 2, 0, r)),
    "sine 7, amp 3, noise 1.5, trend 0.3, 96": (96, 7, lambda r: sine(96, 7, 3, 1.5, 0.3, r)),
    "sine 60, amp 5, noise 2.5, trend 0.02, 900": (900, 60,
                                                   lambda r: sine(900, 60, 5, 2.5, 0.02, r)),
    "sine 45, amp 8, noise 1.5, trend 0.05, 730": (730, 45,
                                                   lambda r: sine(730, 45, 8, 1.5, 0.05, r)),
}  # fmt: skip
RULES = {
    "now": lambda y, n: find_season(y, n)[0] or 1,
    "differences only": lambda y, n: acf_peak(np.diff(y), testable(len(y), n)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # statsmodels' KPSS table-end warnings
    rows = []
    for name, (n, period, make) in FAMILIES.items():
        series = [make(np.random.default_rng(1000 * n + s)) for s in range(args.seeds)]
        row = {"family": name, "period": period, "seeds": args.seeds}
        for rule, detect in RULES.items():
            found = [detect(y, n) for y in series]
            hits = [f > 1 if period is None else abs(f - period) <= 1 for f in found]
            row[rule] = {"share": sum(hits) / len(hits), "found": found}
        rows.append(row)
        print(name, {r: row[r]["share"] for r in RULES}, flush=True)
    out = {"command": "python bench/season_detection.py", "rows": rows,
           "measure": "no cycle: share of series given a period > 1 (false); a cycle: share "
                      "given its period within one lag"}  # fmt: skip
    write_json_atomic(RESULTS / "season_detection.json", out)
    md = ["| family | period | " + " | ".join(RULES) + " |", "|---|---|---|---|"]
    for row in rows:
        what = "false periods" if row["period"] is None else "found"
        cells = [f"{row[r]['share']:.0%} {what}" for r in RULES]
        md.append(f"| {row['family']} | {row['period'] or '—'} | " + " | ".join(cells) + " |")
    write_text_atomic(RESULTS / "season_detection.md", "\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
