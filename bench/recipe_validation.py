"""Validation-only comparison of model / recipe options against the params.yaml defaults.

Runs ingest, encode and split as the pipeline does (in a scratch directory), then trains
in-process on the train split with early stopping on val, and reports the best val loss
(the plain loss, also when training used label smoothing) and, for classification, val
accuracy. The test split is never read: this is the evidence a default may be chosen on.

    python bench/recipe_validation.py trec6 classify --variants no_smoothing,label_smoothing
    python bench/recipe_validation.py bach_chorales next_state --variants defaults,awd
    python bench/recipe_validation.py gunpoint classify --variants defaults,alstm_fcn
    python bench/recipe_validation.py trec6 classify --ensemble 3
    python bench/recipe_validation.py rotten_tomatoes classify \
        --variants word_dropout0,word_dropout1,word_dropout2

Results are merged into bench/results/recipe_validation.json (set -> variant -> seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "recipe_validation.json"

VARIANTS = {
    "defaults": {},
    "alstm_fcn": {"name": "alstm_fcn"},
    "adamw+cosine": {"optimizer": "adamw", "weight_decay": 0.01, "schedule": "cosine"},
    "label_smoothing": {"label_smoothing": 0.1},
    "no_smoothing": {"label_smoothing": 0.0},
    "awd": {"embedding_dropout": 0.1, "locked_dropout": 0.3, "dropout": 0.0},
    "awd4": {"embedding_dropout": 0.1, "locked_dropout": 0.4, "dropout": 0.0},
    "awd+wd3": {"embedding_dropout": 0.1, "locked_dropout": 0.3, "weight_drop": 0.3},
    "awd+wd5": {"embedding_dropout": 0.1, "locked_dropout": 0.3, "weight_drop": 0.5},
    "h256": {"hidden_dim": 256},
    "h512": {"hidden_dim": 512},
    "layers2": {"num_layers": 2},
    "word_dropout0": {"embedding_dropout": 0.0},
    "word_dropout1": {"embedding_dropout": 0.1},
    "word_dropout2": {"embedding_dropout": 0.2},
    "awd+tied": {"embedding_dropout": 0.1, "locked_dropout": 0.3, "dropout": 0.0,
                 "embedding_dim": 128, "tie_weights": "auto"},
}  # fmt: skip


def prepare(name: str, task: str, work: Path) -> None:
    """ingest -> encode -> split of builtin:NAME with the default params, in ``work``."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["task"] = task
    params["ingest"]["source"] = f"builtin:{name}"
    params["search"]["enabled"] = False
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ATTNLIB_QUIET": "1"}
    for stage in ("ingest", "encode", "split"):
        subprocess.run([sys.executable, "-m", f"flows.{stage}"], check=True, env=env, cwd=work,
                       capture_output=True)  # fmt: skip


def val_accuracy(model, val) -> float:
    from attnlib.data import Batches

    correct = 0
    with torch.no_grad():
        for b in Batches(val, 256):
            out = model(b.x, b.lengths)
            pred = (out > 0).long() if out.dim() == 1 else out.argmax(-1)
            correct += int((pred == b.y).sum())
    return correct / len(val)


def train_one(task, overrides: dict, seed: int, train, val, meta):
    from attnlib.data import Batches
    from attnlib.models import build_model, loss_fn, plain_loss_fn
    from attnlib.train import fit, seed_everything
    from flows._data import model_fields
    from flows._params import load_params, model_and_train_configs

    p = load_params()
    p["seed"] = seed
    p["train"].update(overrides)
    mc, tc = model_and_train_configs(p, data=train, **model_fields(meta, task))
    tc = tc.model_copy(update={"progress": False})
    seed_everything(seed)
    model = build_model(mc)
    hist = fit(model, Batches(train, tc.batch_size, shuffle=True, bucket=tc.bucket, seed=seed),
               Batches(val, 256), tc, loss_fn=loss_fn(mc, tc),
               val_loss_fn=plain_loss_fn(mc, tc))  # fmt: skip
    return model.eval(), mc, hist


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("task", choices=["next_state", "classify", "forecast"])
    ap.add_argument("--variants", default="defaults")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--ensemble", type=int, default=0, help="also: an N-seed ensemble")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from attnlib.data import Batches
    from attnlib.ensemble import Ensemble
    from attnlib.models import loss_fn
    from attnlib.train import evaluate_loss
    from flows._data import load_data, load_meta

    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    with tempfile.TemporaryDirectory(prefix="recipe-") as tmp:
        work = Path(tmp)
        prepare(args.name, args.task, work)
        os.chdir(work)
        meta = load_meta()
        _, train = load_data("train", args.task)
        _, val = load_data("val", args.task)
        entry = results.setdefault(args.name, {"n_train": len(train), "n_val": len(val)})
        seeds = [int(s) for s in args.seeds.split(",")]
        for label in args.variants.split(","):
            runs = []
            for seed in seeds:
                model, _, hist = train_one(args.task, VARIANTS[label], seed, train, val, meta)
                run = {"seed": seed, "val_loss": hist.best_val_loss, "epochs": hist.epochs_run}
                if args.task == "classify":
                    run["val_acc"] = val_accuracy(model, val)
                print(args.name, label, run, flush=True)
                runs.append(run)
            entry[label] = runs
        if args.ensemble:
            members = [train_one(args.task, {}, s, train, val, meta) for s in range(args.ensemble)]
            ens = Ensemble([m for m, _, _ in members]).eval()
            val_loss = evaluate_loss(ens, Batches(val, 256), loss_fn(members[0][1]))
            run = {"members": args.ensemble, "val_loss": val_loss}
            if args.task == "classify":
                run["val_acc"] = val_accuracy(ens, val)
            print(args.name, "ensemble", run, flush=True)
            entry[f"ensemble_{args.ensemble}"] = run
        os.chdir(ROOT)
    from attnlib.io import write_json_atomic

    write_json_atomic(args.out, results)


if __name__ == "__main__":
    main()
