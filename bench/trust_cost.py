"""What the trust checks add to evaluate: seconds for temperature fitting, conformal sets and
the faithfulness check (erasure + integrated gradients) at the default subsample of 200.

Speed does not depend on the weights, so models are freshly initialised at the default
train sizes (params.yaml: embedding 64, hidden 128, one layer); inputs are random tokens at
the lengths of the built-in sets (TREC-6 questions ~10 tokens, Rotten Tomatoes ~22,
chorales ~50 chords, ItalyPowerDemand 24 steps).

    python bench/trust_cost.py            # -> bench/results/trust_cost.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from common import RESULTS

from attnlib.config import ModelConfig
from attnlib.models import build_model
from attnlib.trust import calibrate, evaluate_sets, faithfulness_report, scorer, to_probs

CASES = {  # name -> (task kind, model config fields, typical length, test items)
    "trec6": ("classify", {"vocab_size": 8000, "num_classes": 6}, 10, 500),
    "rotten_tomatoes": ("classify", {"vocab_size": 18000, "num_classes": 2}, 22, 486),
    "chorales": ("next_state", {"vocab_size": 120}, 50, 60),
    "italy_power": ("classify", {"input_kind": "numeric", "input_dim": 1, "num_classes": 2},
                    24, 1029),
}  # fmt: skip


def one(kind: str, fields: dict, length: int, n: int) -> dict:
    torch.manual_seed(0)
    cfg = ModelConfig(task=kind, embedding_dim=64, hidden_dim=128, **fields)
    model = build_model(cfg).eval()
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(max(2, length // 2), 2 * length, (n,), generator=g)
    T = int(lengths.max())
    if cfg.input_kind == "tokens":
        x = torch.randint(2, cfg.vocab_size, (n, T), generator=g)
    else:
        x = torch.randn(n, T, cfg.input_dim, generator=g)
    out = {}
    t0, c0 = time.perf_counter(), time.process_time()
    rep = faithfulness_report(scorer(model), x, lengths, n_items=200, seed=0)
    out["faithfulness_s"] = round(time.perf_counter() - t0, 2)
    out["faithfulness_cpu_s"] = round(time.process_time() - c0, 2)  # less hurt by other load
    out["faithfulness_items"] = rep["n_items"]
    rng = np.random.default_rng(0)
    K = cfg.vocab_size if kind == "next_state" else cfg.num_classes
    m = n * length if kind == "next_state" else n  # next-state: one prediction per position
    z = rng.normal(size=(2 * m, K)) if K > 2 else rng.normal(size=2 * m)
    y = rng.integers(0, K, size=2 * m)
    t0, c0 = time.perf_counter(), time.process_time()
    cal = calibrate(z[:m], y[:m], z[m:], y[m:])
    p = to_probs(z, cal["temperature"])
    evaluate_sets(p[:m], y[:m], p[m:], y[m:], 0.1)
    out["calibration_and_sets_s"] = round(time.perf_counter() - t0, 2)
    out["calibration_and_sets_cpu_s"] = round(time.process_time() - c0, 2)
    return out


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--help`` prints the docstring; anything else unknown is an error."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser.parse_args(argv)


def main() -> None:
    _args()
    torch.set_num_threads(1)
    results = {"threads": 1, "defaults": "n_items=200, ig_items=64, ig_steps=8", "cases": {}}
    for name, (kind, fields, length, n) in CASES.items():
        results["cases"][name] = one(kind, fields, length, n)
        print(name, results["cases"][name], flush=True)
    path = RESULTS / "trust_cost.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
