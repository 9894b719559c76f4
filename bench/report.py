"""The Markdown table of ``bench/results/perf.json``: every figure with its ratio."""

from __future__ import annotations

NAMES = {"trec6": "TREC-6", "bach_chorales": "chorales"}


def _f(v, unit: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if abs(v) >= 100:
        return f"{v:,.0f}{unit}"
    return f"{v:.3g}{unit}"


def _row(rows, figure, data, ours, ref, ratio, target="", met=None):
    rows.append(f"| {figure} | {data} | {_f(ours)} | {_f(ref)} | {_f(ratio, '×')} | {target} "
                f"| {'' if met is None else _f(met)} |")  # fmt: skip


def table(r: dict) -> str:
    """One row per figure: ours, the reference, ours ÷ reference, the target, met or not."""
    m = r["machine"]
    peak = m.get("matmul_fp32_gflops", {}).get("gflops")
    lines = [
        f"Machine: {m['cores']} cores ({m['cpu']}), torch {m['torch']}, onnxruntime "
        f"{m['onnxruntime']}; fp32 matmul peak {_f(peak)} GFLOP/s at the start of this run "
        "(the LSTM rows divide by a peak measured beside each); "
        f"1-min load average {m['load_average_1min']:.1f} at the start, "
        f"{m.get('load_average_1min_end', float('nan')):.1f} at the end; our threads "
        f"{r['threads_ours']} (torch's default {m['torch_default_threads']}); "
        f"{r.get('bench_seconds', 0):.0f} s in all.",
        "",
        "| figure | data | ours | reference | ours ÷ reference | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for key, t in r.get("train", {}).items():
        d = NAMES.get(key, key)
        _row(
            rows,
            "training, real tokens/s (lean reference: torch's default threads)",
            d,
            t["train_tokens_per_s_ours"],
            t["train_tokens_per_s_reference"],
            t["train_speedup_vs_reference"],
            "≥ 3×",
            t["train_speedup_vs_reference"] >= 3,
        )
        _row(
            rows,
            "training, real tokens/s (lean reference: our threads)",
            d,
            t["train_tokens_per_s_ours"],
            t["train_tokens_per_s_reference_same_threads"],
            t["train_speedup_vs_reference_same_threads"],
            "≥ 3×",
            t["train_speedup_vs_reference_same_threads"] >= 3,
        )
        _row(
            rows,
            f"best validation loss, {t['epochs_each']} epochs each",
            d,
            t["val_loss_ours"],
            t["val_loss_reference"],
            t["val_loss_ours"] / t["val_loss_reference"],
            "≤ reference",
            t["val_loss_equal_or_better"],
        )
        if "val_accuracy_ours" in t:
            acc, ref_acc = t["val_accuracy_ours"], t["val_accuracy_reference"]
            _row(rows, f"validation accuracy at the best epoch, {t['epochs_each']} epochs each",
                 d, acc, ref_acc, acc / ref_acc, "≥ reference", acc >= ref_acc)  # fmt: skip
        if "train_tokens_per_s_dataloader_reference" in t:
            _row(rows, "training, real tokens/s (earlier DataLoader reference, our threads)", d,
                 t["train_tokens_per_s_ours"], t["train_tokens_per_s_dataloader_reference"],
                 t["train_speedup_vs_dataloader_reference"])  # fmt: skip
        _row(rows, "padding share of the batches (B × T)", d, t["padding_share_ours"],
             t["padding_share_reference"], None)  # fmt: skip
        _row(rows, "padding share of the LSTM's steps (ours: after segmenting)", d,
             t["lstm_padding_share_ours"], t["padding_share_reference"], None)  # fmt: skip
    for key, s in r.get("lstm", {}).items():
        lstm = s["lstm"]
        size = (f"{'Bi' if lstm['bidirectional'] else ''}LSTM E{lstm['embedding']} "
                f"H{lstm['hidden']} L{lstm['layers']} B{lstm['batch']}")  # fmt: skip
        share = s["lstm_share_of_matmul_peak_ours"]
        _row(rows, f"LSTM share of the fp32 matmul peak ({size}, fwd+bwd, real tokens; "
                   f"peak {s['matmul_peak_gflops']:.0f} GFLOP/s)",
             NAMES.get(key, key), share, s["lstm_share_of_matmul_peak_reference"],
             s["lstm_speedup_vs_reference"], "≥ 0.75", share >= 0.75)  # fmt: skip
    for key, s in r.get("inference", {}).items():
        d, lat, tp = NAMES.get(key, key), s["batch1_latency_ms"], s["batch64_sequences_per_s"]
        ref_ms, ref_tp = lat["reference_eager"], tp["reference_eager"]
        for engine in ("onnxruntime", "torchscript", "eager", "compiled"):
            if f"ours_{engine}" not in lat:
                continue
            ratio = s[f"batch1_latency_ratio_vs_eager_reference_{engine}"]
            target = "≤ 0.4×" if engine == "onnxruntime" else ""
            _row(rows, f"batch-1 latency, ms: ours {engine} vs eager reference", d,
                 lat[f"ours_{engine}"], ref_ms, ratio, target,
                 ratio <= 0.4 if target else None)  # fmt: skip
        same = s["batch1_latency_ratio_vs_eager_reference_same_threads_onnxruntime"]
        _row(rows, "batch-1 latency, ms: ours onnxruntime vs eager reference at our threads",
             d, lat["ours_onnxruntime"], lat["reference_eager_same_threads"], same, "≤ 0.4×",
             same <= 0.4)  # fmt: skip
        for engine in ("onnxruntime", "eager"):
            _row(rows, f"batch-64 throughput, sequences/s: ours {engine} vs eager reference", d,
                 tp[f"ours_{engine}"], ref_tp,
                 s[f"batch64_throughput_ratio_vs_eager_reference_{engine}"])  # fmt: skip
    if "stream" in r:
        s, lat = r["stream"], r["stream"]["latency_ms"]
        n = s["history"]
        for engine in ("eager", "onnxruntime"):
            ms = lat[f"ours_stream_{engine}"]
            ratio = s[f"stream_{engine}_ratio_vs_recompute"]
            _row(rows, f"streaming next-state latency per token at {n} steps, ms: ours {engine} "
                 "vs recomputing the prefix (ours, eager)", "chorales", ms,
                 lat["ours_recompute_prefix_eager"], ratio, "≤ 0.1×", ratio <= 0.1)  # fmt: skip
            ratio = s[f"stream_{engine}_ratio_vs_eager_reference"]
            _row(rows, f"streaming next-state latency per token at {n} steps, ms: ours {engine} "
                 "vs the eager reference's batch-1 latency", "chorales", ms,
                 lat["reference_eager"], ratio, "≤ 0.4×", ratio <= 0.4)  # fmt: skip
            ratio = s[f"stream_{engine}_ratio_vs_eager_reference_same_threads"]
            _row(rows, "… the same, the eager reference at our threads", "chorales", ms,
                 lat["reference_eager_same_threads"], ratio, "≤ 0.4×", ratio <= 0.4)  # fmt: skip
    if "rss" in r:
        s = r["rss"]
        _row(rows, f"peak RSS while training, MB ({s['epochs']} epoch, own process)",
             NAMES[s["data"]], s["peak_rss_mb_ours"], s["peak_rss_mb_reference"],
             s["peak_rss_ratio_vs_reference"])  # fmt: skip
    if "orchestration" in r:
        o = r["orchestration"]
        eph = o.get("orchestration_overhead_per_stage_ephemeral_s")
        over = o["orchestration_overhead_per_stage_s"]
        _row(rows, "Prefect overhead per stage, s (ours: shared server; reference: "
             "Prefect's temporary server per process)", "trivial stage", over, eph,
             over / eph if eph else None, "≤ 2 s", over <= 2)  # fmt: skip
        nohb = o["orchestration_overhead_per_stage_no_heartbeat_s"]
        _row(rows, "… the same with flow-run heartbeats off", "trivial stage", nohb, eph,
             nohb / eph if eph else None, "≤ 2 s", nohb <= 2)  # fmt: skip
        if "dvc_noop_repro_s" in o:
            _row(rows, "no-op `dvc repro`, s (reference: the full tiny run)", "tiny project",
                 o["dvc_noop_repro_s"], o["dvc_full_repro_s"],
                 o["dvc_noop_repro_share_of_full_repro"])  # fmt: skip
    return "\n".join(lines + rows) + "\n"
