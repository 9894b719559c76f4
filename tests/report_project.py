"""A project directory as `dvc repro` leaves it, made with the real writers (plots, trust
functions, a tiny untrained model) for the report tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import torch
import yaml

from attnlib.config import ModelConfig
from attnlib.io import write_json_atomic, write_parquet_atomic, write_text_atomic
from attnlib.models import build_model
from attnlib.plots import attention_heatmap, learning_curve, note
from attnlib.trust.calibration import calibrate, to_probs
from attnlib.trust.conformal import conformal_sets, set_report
from attnlib.trust.faithfulness import faithfulness_report, scorer
from attnlib.trust.plots import reliability_diagram

CARD = """# Model card: lstm_attention (classify)

## Metrics (test split)
| metric | value |
|---|---|
| accuracy | 0.91 |

<script>alert("card")</script>

```json
{"hidden_dim": 16}
```
"""


def make_project(root: Path, *, with_trust: bool = True) -> Path:
    """Write every file the report reads into ``root``; return ``root``."""
    rng = np.random.default_rng(0)
    tokens = [f"w{i}" for i in range(20)]
    write_text_atomic(
        root / "params.yaml",
        yaml.safe_dump({"task": "classify", "seed": 0, "ingest": {"source": "builtin:trec6"}}),
    )
    write_json_atomic(
        root / "data/vocab.json",
        {
            "task": "classify",
            "labels": ["a", "b", "c"],
            "input": {"kind": "tokens"},
            "tokens": ["<pad>", "<unk>", *tokens],
        },
    )
    for name, n in (("train", 40), ("val", 10), ("test", 12)):
        write_parquet_atomic(
            root / f"data/split/{name}.parquet",
            pl.DataFrame({"id": [f"{name}{i}" for i in range(n)]}),
        )
    write_parquet_atomic(
        root / "search/trials.parquet",
        pl.DataFrame(
            {
                "number": [0, 1, 2],
                "state": ["COMPLETE", "PRUNED", "COMPLETE"],
                "value": [0.9, 1.2, 0.7],
                "params_lr": [0.001, 0.01, 0.003],
            }
        ),
    )
    note(root / "search/plots/history.png", "search history")
    note(root / "search/plots/importance.png", "importances")
    write_json_atomic(
        root / "metrics/train.json",
        {"best_val_loss": 0.7, "best_epoch": 3, "epochs_run": 5, "stopped_early": True},
    )
    learning_curve(
        [1.0, 0.8, 0.7, 0.72, 0.75], [1.1, 0.9, 0.7, 0.71, 0.8], root / "plots/learning_curve.png"
    )
    report: dict = {
        "model": {"accuracy": 0.91, "macro_f1": 0.88, "test_sequences": 12},
        "majority": {"accuracy": 0.4, "macro_f1": 0.19},
        "tfidf_svm": {"accuracy": 0.85, "macro_f1": 0.84},
    }
    if with_trust:
        logits = 3 * rng.normal(size=(300, 3))
        y = rng.integers(0, 3, size=300)
        report["calibration"] = calibrate(logits[:150], y[:150], logits[150:], y[150:])
        t = report["calibration"]["temperature"]
        reliability_diagram(logits[150:], y[150:], t, root / "plots/evaluate/reliability.png")
        sets = conformal_sets(to_probs(logits[:150], t), y[:150], to_probs(logits[150:], t))
        report["conformal"] = set_report(
            sets.sets, y[150:], alpha=0.1, threshold=sets.threshold, n_cal=150
        )
        torch.manual_seed(0)
        model = build_model(
            ModelConfig(
                task="classify", vocab_size=22, embedding_dim=8, hidden_dim=8, num_classes=3
            )
        )
        x = torch.randint(2, 22, (20, 9))
        report["faithfulness"] = faithfulness_report(
            scorer(model), x, torch.full((20,), 9), n_items=10, ig_steps=2
        )
    write_json_atomic(root / "metrics/eval.json", report)
    words = ["what", "is", "the", "capital", "of", "france", "?"]
    weights = [0.05, 0.05, 0.05, 0.5, 0.05, 0.25, 0.05]
    attention_heatmap(np.array(weights), words, root / "plots/attention/00.png")
    (root / "plots/attention/examples.json").write_text(
        json.dumps(
            [
                {
                    "id": "test0",
                    "tokens": words,
                    "weights": weights,
                    "caption": "actual LOC, predicted LOC",
                }
            ]
        )
    )
    write_text_atomic(root / "export/MODEL_CARD.md", CARD)
    return root


def pngs(root: Path) -> list[Path]:
    """Every PNG the report should embed."""
    return sorted(p for p in root.rglob("*.png"))
