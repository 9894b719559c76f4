"""The performance suite: ours against the seed-style reference, side by side in one run.

    python bench/run.py            # everything (`make bench`; ~10 min on 2 busy cores)
    python bench/run.py --quick    # small budgets, for development
    python bench/run.py --only train,inference

Writes ``bench/results/perf.json`` (every figure, with the machine, its load and its
measured fp32 matmul peak) and ``bench/results/perf.md`` (the Markdown table, also
printed). Sections: training throughput and validation loss on TREC-6 and the Bach
chorales; the LSTM's share of the matmul peak; inference latency and throughput;
streaming next-state latency per token at a history of 500 steps; peak
RSS while training (each implementation in its own process); Prefect overhead per
stage; no-op ``dvc repro``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import torch
from common import RESULTS, ROOT
from project import update_readme
from report import table

from attnlib.io import write_json_atomic, write_text_atomic
from attnlib.train import tune_threads

SECTIONS = ("train", "lstm", "inference", "stream", "rss", "orchestration")
FULL = {"trec_epochs": 4, "chorale_epochs": 6, "lstm_rounds": 3, "passes": 3, "slice_s": 5.0}
QUICK = {"trec_epochs": 1, "chorale_epochs": 1, "lstm_rounds": 1, "passes": 1, "slice_s": 2.0}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_child(impl: str, epochs: int) -> dict:
    """In a fresh process: peak RSS of training on the chorales, ours or the reference."""
    import reference as ref

    split = common.chorales()
    threads = tune_threads()
    base = common.peak_rss_mb()
    if impl == "ours":
        from train_speed import BATCH, our_data, sizes

        from attnlib.config import TrainConfig
        from attnlib.data import Batches
        from attnlib.models import build_model, loss_fn
        from attnlib.train import fit

        cfg = sizes(split)
        train, val = our_data(split)
        tc = TrainConfig(epochs=epochs, batch_size=BATCH, device="cpu", progress=False)
        fit(build_model(cfg), Batches(train, BATCH, shuffle=True, bucket=True),
            Batches(val, BATCH), tc, loss_fn=loss_fn(cfg))  # fmt: skip
    else:
        from train_speed import BATCH, reference_data, reference_model

        model, loss = reference_model(split)
        trainer = ref.Trainer(model, reference_data(split), loss, batch_size=BATCH)
        for _ in range(epochs):
            trainer.epoch()
    return {"impl": impl, "threads": threads, "rss_after_imports_and_data_mb": base,
            "peak_rss_mb": common.peak_rss_mb()}  # fmt: skip


def peak_rss(epochs: int) -> dict:
    out = {}
    for impl in ("ours", "reference"):
        cmd = [sys.executable, __file__, "--rss-child", impl, "--epochs", str(epochs)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[impl] = json.loads(proc.stdout.strip().splitlines()[-1])
    ours, reference = out["ours"]["peak_rss_mb"], out["reference"]["peak_rss_mb"]
    return {
        "data": "bach_chorales",
        "epochs": epochs,
        "peak_rss_mb_ours": ours,
        "peak_rss_mb_reference": reference,
        "peak_rss_ratio_vs_reference": ours / reference,
        "peak_rss_above_baseline_mb_ours": ours - out["ours"]["rss_after_imports_and_data_mb"],
        "peak_rss_above_baseline_mb_reference": reference
        - out["reference"]["rss_after_imports_and_data_mb"],
    }


def orchestration(quick: bool) -> dict:
    from orchestration import ephemeral_overhead, noop_repro, prefect_server, stage_overhead

    with tempfile.TemporaryDirectory(prefix="bench-prefect-") as home:
        with prefect_server(Path(home)) as (server, start_s):
            log(f"Prefect server up in {start_s:.1f} s; trivial stages ...")
            out = {
                "prefect_server_start_s": start_s,
                **stage_overhead(server.url, 1 if quick else 3),
            }
            if not quick:
                log("dvc repro in a temporary copy of the project ...")
                out.update(noop_repro(server.url))
        log("a trivial stage with Prefect's temporary server ...")
        out.update(ephemeral_overhead(Path(home), out["trivial_stage_plain_python_s"],
                                      out["orchestration_overhead_per_stage_s"]))  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (development)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"some of {SECTIONS}")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--name", help="results file stem (default: perf, or perf_quick)")
    parser.add_argument("--rss-child", choices=["ours", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        print(json.dumps(rss_child(args.rss_child, args.epochs)))
        return 0
    sections = [s for s in args.only.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; known: {SECTIONS}")
    budget = QUICK if args.quick else FULL
    t_start = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = args.name or ("perf_quick" if args.quick else "perf")
    threads = tune_threads()
    results: dict = {"machine": common.machine(), "budget": budget, "threads_ours": threads}
    log(f"load {results['machine']['load_average_1min']:.1f}; our threads {threads}; peak ...")
    results["machine"]["matmul_fp32_gflops"] = common.matmul_peak()

    def save() -> None:
        results["machine"]["load_average_1min_end"] = os.getloadavg()[0]
        results["bench_seconds"] = time.perf_counter() - t_start
        write_json_atomic(RESULTS / f"{name}.json", results)  # partial results survive

    data = {}
    if {"train", "lstm", "inference", "stream", "rss"} & set(sections):
        log("data: TREC-6, Bach chorales (parsed once, then cached in bench/.cache) ...")
        data = {"trec6": common.trec(), "bach_chorales": common.chorales()}
    epochs = {"trec6": budget["trec_epochs"], "bach_chorales": budget["chorale_epochs"]}
    if "train" in sections:
        from train_speed import train_both

        for key, split in data.items():
            log(f"training {key}: ours vs reference, {epochs[key]} epochs each ...")
            results.setdefault("train", {})[key] = train_both(
                split, epochs[key], threads, budget["slice_s"]
            )
            save()
    if "lstm" in sections:
        from train_speed import lstm_share

        for key, split in data.items():
            log(f"LSTM share of the matmul peak at the {key} model's sizes ...")
            results.setdefault("lstm", {})[key] = lstm_share(split, threads, budget["lstm_rounds"])
            save()
    if "inference" in sections:
        from inference import measure

        for key, split in data.items():
            log(f"inference on {key} ...")
            n = 100 if split.num_classes else 16
            results.setdefault("inference", {})[key] = measure(
                split, threads, requests=n, passes=budget["passes"], compile_=args.compile,
                limit=None if split.num_classes else 128,
            )  # fmt: skip
            save()
    if "stream" in sections:
        from stream import measure_stream

        log("streaming next-state latency at a history of 500 steps ...")
        results["stream"] = measure_stream(data["bach_chorales"], threads, passes=budget["passes"])
        save()
    if "rss" in sections:
        log("peak RSS: one process each ...")
        results["rss"] = peak_rss(1)
        save()
    if "orchestration" in sections:
        results["orchestration"] = orchestration(args.quick)
        save()
    torch.set_num_threads(threads)
    save()
    md = table(results)
    write_text_atomic(RESULTS / f"{name}.md", md)
    if name == "perf" and set(sections) == set(SECTIONS):  # the full run: into README.md
        update_readme(md, "perf-table")
    print(md)
    log(f"done in {results['bench_seconds']:.0f} s: {RESULTS / name}.json, .md")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
