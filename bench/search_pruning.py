"""Pruned vs unpruned search on the default data, at the same number of trials.

For each pruner, one study with the default search space and base configs of params.yaml:
its best validation loss and the epochs it trained in total. The pruned studies keep
``search.patience`` (a trial stops when its val loss stops falling); the unpruned one
(``none``) runs every trial to ``--epochs``. Writes
bench/results/search_pruning.json and prints a summary. Aim: the pruned best within 2% of
the unpruned best at <= 40% of its epochs.

    .venv/bin/python bench/search_pruning.py --jobs 2    # 16 trials x 6 epochs, ~25 min
    .venv/bin/python bench/search_pruning.py --trials 8 --epochs 10 --pruners none hyperband
    .venv/bin/python bench/search_pruning.py --builtin trec6 classify --jobs 2

Data: data/split/{train,val}.parquet + data/vocab.json when the pipeline has made them,
else the built-in data set of params.yaml built in memory exactly as the encode stage does.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import optuna
import polars as pl
import torch
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attnlib.datasets import read_source  # noqa: E402
from attnlib.encode import EncodeOptions, encode_dataset, to_sequence_data  # noqa: E402
from attnlib.io import write_json_atomic  # noqa: E402
from attnlib.search import best_params, run_search  # noqa: E402
from attnlib.search_space import SearchConfig  # noqa: E402
from attnlib.tasks import get_task  # noqa: E402
from flows._params import (  # noqa: E402
    EncodeParams,
    IngestParams,
    SplitParams,
    load_params,
    model_and_train_configs,
    section,
    seed_of,
    task_of,
)

OUT = ROOT / "bench/results/search_pruning.json"


def load_data(params: dict, raw_path: Path | None, root: Path = ROOT):
    """(train, val, model fields, description): the pipeline's splits, or rebuilt alike."""
    task = task_of(params)
    split_dir, meta_path = root / "data/split", root / "data/vocab.json"
    if raw_path is None and (split_dir / "train.parquet").exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frames = {s: pl.read_parquet(split_dir / f"{s}.parquet") for s in ("train", "val")}
        source = "data/split (the pipeline's outputs)"
    else:
        ing = section(params, "ingest", IngestParams)
        enc, sp = section(params, "encode", EncodeParams), section(params, "split", SplitParams)
        if raw_path is not None:
            raw, source = pl.read_parquet(raw_path), f"{raw_path}"
        else:
            raw = read_source(ing.source, ing.format, limit=ing.limit or None, workers=ing.workers,
                              sep=ing.sep or None, columns=ing.columns())  # fmt: skip
            source = ing.source
        opt = EncodeOptions(val=sp.val, test=sp.test, seed=seed_of(params),
                            min_freq=enc.min_freq, max_size=enc.max_size)  # fmt: skip
        encoded, meta = encode_dataset(raw, task, opt)
        frames = {s: encoded.filter(pl.col("split") == s) for s in ("train", "val")}
        source += f", encoded and split as the encode stage does (seed {seed_of(params)})"
    # as the stages load them: the rows with something to predict (e.g. not 1-token sequences)
    frames = {s: get_task(task).usable(f) for s, f in frames.items()}
    data = {s: to_sequence_data(f, task, source=s) for s, f in frames.items()}
    fields = {"vocab_size": len(meta["tokens"]), **(meta.get("model_fields") or {})}
    if meta.get("labels"):
        fields["num_classes"] = max(2, len(meta["labels"]))
    return data["train"], data["val"], fields, source


def one_study(cfg: SearchConfig, train, val, model, train_cfg, storage: str, threads: int) -> dict:
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = run_search(cfg, train, val, model=model, train_config=train_cfg, storage=storage)
    trials = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    return {
        "pruner": cfg.pruner,
        "patience": cfg.patience,
        "trials": len(trials),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "best_val_loss": study.best_value,
        "best_params": best_params(study),
        "total_epochs": sum(t.user_attrs["epochs"] for t in trials),
        "max_epochs": cfg.epochs * len(trials),
        "epochs_per_trial": [t.user_attrs["epochs"] for t in trials],
        "values": [t.value for t in trials],
        "curves": [[v for _, v in sorted(t.intermediate_values.items())] for t in trials],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--pruners", nargs="+", default=["none", "halving", "median"])
    ap.add_argument("--jobs", type=int, default=1, help="studies run in parallel (1 thread each)")
    ap.add_argument("--raw", type=Path, help="a raw Parquet (ingest's output) instead of ingest")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--builtin", nargs=2, metavar=("NAME", "TASK"),
                    help="another built-in set: ingest, encode and split run as the pipeline "
                    "does, in a scratch project (e.g. --builtin trec6 classify)")  # fmt: skip
    args = ap.parse_args()

    root, args.out = ROOT, args.out.resolve()  # before any chdir
    if args.builtin:
        from recipe_validation import prepare  # the pipeline's first three stages

        root = Path(tempfile.mkdtemp(prefix="pruning-"))
        prepare(*args.builtin, root)
        os.chdir(root)  # the encode stage's files (pretrained input layer) are relative
    params = load_params(root / "params.yaml")
    t0 = time.perf_counter()
    train, val, fields, source = load_data(params, args.raw, root)
    if args.builtin:
        source = f"builtin:{args.builtin[0]}, ingest / encode / split run in a scratch project"
    print(f"data: {source}: {len(train)} train / {len(val)} val sequences, "
          f"{train.num_real_tokens} train targets ({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    # the search stage's base configs: `auto` params decided from the training data
    model, train_cfg = model_and_train_configs(params, None, train, **fields)
    train_cfg = train_cfg.model_copy(update={"progress": False})
    base = params.get("search") or {}
    threads = torch.get_num_threads() if args.jobs == 1 else 1
    with (
        tempfile.TemporaryDirectory() as tmp,
        ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool,
    ):
        futures = []
        for pruner in args.pruners:
            cfg = SearchConfig.from_params(
                {
                    **base,
                    "n_trials": args.trials,
                    "epochs": args.epochs,
                    "pruner": pruner,
                    # the unpruned reference runs every trial's epochs in full
                    **({"patience": 0} if pruner == "none" else {}),
                    "timeout": 0,
                    "storage": "",
                }  # fmt: skip
            )
            url = f"sqlite:///{tmp}/{pruner}.db"
            futures.append(pool.submit(one_study, cfg, train, val, model, train_cfg, url, threads))
        results = []
        for fut in futures:
            res = fut.result()
            results.append(res)
            print(f"{res['pruner']:>9}: best val loss {res['best_val_loss']:.4f}, "
                  f"{res['total_epochs']}/{res['max_epochs']} epochs, {res['pruned']} pruned, "
                  f"{res['seconds']:.0f} s", flush=True)  # fmt: skip

    ref = next((r for r in results if r["pruner"] == "none"), None)
    for r in results:
        if ref and r is not ref:
            r["best_gap_pct"] = round(100 * (r["best_val_loss"] / ref["best_val_loss"] - 1), 2)
            r["epochs_pct"] = round(100 * r["total_epochs"] / ref["total_epochs"], 1)
            r["meets_aim"] = r["best_gap_pct"] <= 2.0 and r["epochs_pct"] <= 40.0
            print(f"{r['pruner']:>9} vs none: best {r['best_gap_pct']:+.2f}% at "
                  f"{r['epochs_pct']:.0f}% of the epochs -> aim "
                  f"{'met' if r['meets_aim'] else 'NOT met'}")  # fmt: skip
    report = {
        "command": "python bench/search_pruning.py " + " ".join(sys.argv[1:]),
        "data": source,
        "train_sequences": len(train),
        "val_sequences": len(val),
        "n_trials": args.trials,
        "epochs_per_trial": args.epochs,
        "space": base.get("space"),
        "search": {k: v for k, v in base.items() if k != "space"},
        "model": model.model_dump(),
        "train": train_cfg.model_dump(exclude={"progress"}),
        "machine": {
            "torch_threads_per_study": threads,
            "parallel_studies": args.jobs,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "optuna": optuna.__version__,
        },  # fmt: skip
        "note": "seconds are wall time on a shared machine; epochs are the measure",
        "aim": "pruned best within 2% of unpruned best at <= 40% of its epochs",
        "results": results,
    }
    write_json_atomic(args.out, report)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
