"""The model card written into every export bundle (Markdown)."""

from __future__ import annotations

import json

from attnlib.persistence import ModelMeta
from attnlib.tasks import get_task
from attnlib.versus import sentence


def model_card(meta: ModelMeta, *, data: dict, eval_metrics: dict, export_metrics: dict) -> str:
    """Markdown: model, data, training params, metrics, intended use and limits."""
    cfg = meta.model_config
    notes = get_task(cfg.task).card(cfg)
    lines = [
        f"# Model card: {cfg.name} ({cfg.task})",
        "",
        "## Model",
        f"{'Bidirectional' if cfg.bidirectional else 'Unidirectional'} LSTM "
        f"({cfg.num_layers} layer(s), hidden {cfg.hidden_dim}) with `{cfg.attention}` attention "
        f"over the valid (unpadded) steps{notes.attention}{_partner(meta)}",
        "",
        "```json",
        json.dumps(cfg.applicable_dump(), indent=2),  # as model.json: only what applies
        "```",
        "",
        "## Data",
        *[f"- {k}: {v}" for k, v in data.items()],
        "",
        "## Training",
        "```json",
        json.dumps(meta.train_config, indent=2, default=str),
        "```",
        "",
        "## Metrics (test split)",
        *_versus_lines(eval_metrics),
        "```json",
        json.dumps(eval_metrics, indent=2),
        "```",
        "Export checks (ONNX Runtime vs eager PyTorch, max abs differences; sizes in bytes):",
        "```json",
        json.dumps(export_metrics, indent=2),
        "```",
        "",
        *_trust_lines(eval_metrics),
        "## Intended use",
        notes.intended_use,
        "",
        "## Limits",
        "- Trained on the data above only; other distributions (another composer, domain or "
        "sampling rate) need retraining or at least re-evaluation.",
        "- Tokens not seen in training map to `<unk>`; the model cannot predict new states.",
        "- Attention weights show what the model attended to, not a causal explanation "
        "(see the faithfulness check above).",
        "- Files: `model.safetensors` + `model.json` (load with `attnlib.persistence.load_model`), "
        "`model.onnx` (inputs `x`, `lengths`; outputs `output`, `attention`).",
        *[f"- {line}" for line in notes.limits],
        "",
    ]
    return "\n".join(lines)


def _partner(meta: ModelMeta) -> str:
    """The card's sentence on a model's partner (attnlib.models.partner)."""
    cfg = meta.model_config
    if not (cfg.ngram_partner or cfg.kernel_partner or cfg.kn_partner):
        return ""
    runs = meta.metrics.get("members") or [meta.metrics]
    fits = [r["linear_base"] for r in runs if "mix" in r.get("linear_base", {})]
    mixes = [f["mix"] for f in fits]
    if not mixes:
        return ""
    kind = ("n-gram" if cfg.ngram_partner else "Kneser-Ney" if cfg.kn_partner
            else "kernel-feature")  # fmt: skip
    if not any(mixes):
        return f" No {kind} partner: validation gave it weight 0."
    weights = ", ".join(f"{w:g}" for w in mixes) + ("; per member" if len(mixes) > 1 else "")
    order = cfg.ngram_order
    orders = sorted({f["order"] for f in fits if "order" in f})
    what = ("TF-IDF logistic regression on "
            + (f"1- to {order}-grams of characters" if order else "unigrams and bigrams")
            if cfg.ngram_partner else
            f"Kneser-Ney {'/'.join(map(str, orders))}-gram model of the training split"
            if cfg.kn_partner else
            "logistic regression on random convolution-kernel features (MiniRocket)")  # fmt: skip
    equal = all(r.get("linear_base", {}).get("mix_rule") for r in runs)
    how = ("half and half (a validation split of a few series cannot choose the weight)"
           if equal else f"the weight validation chose ({weights})")  # fmt: skip
    probs = "next-state" if cfg.kn_partner else "class"
    return (f" Its {probs} probabilities are mixed with those of a {what}, at {how}: the "
            "attention weights explain the network's share only.")  # fmt: skip


def _floor(cal: dict) -> str:
    """The test split's ECE noise, where evaluate measured it."""
    if cal.get("ece_floor_p90_after") is None:
        return ""
    return (f" (a perfectly calibrated model would show up to {cal['ece_floor_p90_after']:.4f} "
            f"on these {cal['n']} items, 9 times in 10)")  # fmt: skip


def _shift(cal: dict, test_accuracy: float | None) -> str:
    """The accuracy of the predictions the temperature was fitted on beside the test's:
    a temperature carries over only between predictions that are alike."""
    if cal.get("accuracy_fitted_on") is None or test_accuracy is None:
        return ""
    return (f" Accuracy of the predictions it was fitted on {cal['accuracy_fitted_on']:.3f}, "
            f"on test {test_accuracy:.3f}.")  # fmt: skip


def _set_rule(conf: dict) -> str:
    """How a classifier's conformal sets were made (nothing for intervals)."""
    if "threshold" in conf and conf["threshold"] is None:  # sets' report only
        return "; too few calibration items for a threshold: every set is every class"
    if conf.get("rule") == "exact":
        return ("; exact APS: coverage is guaranteed >= 1 - alpha and at most 1/(n+1) above "
                "it, so a set may be empty (no class is needed for that coverage; share of "
                f"empty sets {conf.get('empty_sets', 0):.3f})")  # fmt: skip
    if conf.get("rule") == "nonempty":
        return "; every set holds the top class, so coverage is at least the accuracy"
    return ""


def _versus_lines(report: dict) -> list[str]:
    """The model against its baselines, in one sentence (eval.json's ``versus``)."""
    line = sentence(report)
    return [line, ""] if line else []


def _trust_lines(report: dict) -> list[str]:
    """The card's "Trust" section: calibration, coverage and the faithfulness verdict."""
    cal, conf, faith = (report.get(k) or {} for k in ("calibration", "conformal", "faithfulness"))
    lines = []
    if cal:
        fitted = str(cal.get("fitted_on", "val"))
        on = {"val, pre-refit model": "validation, as predicted by the model trained on "
              "train alone, before the refit"}.get(fitted, "validation")  # fmt: skip
        if fitted.startswith("out-of-fold"):
            on = (
                "out-of-fold predictions: each ensemble member held out its own fold of "
                "train + validation before the refit"
            )
        lines.append(f"- Calibration: temperature {cal['temperature']:.3f} (fitted on {on}, "
                     f"applied by the bundle); test ECE {cal['ece_before']:.4f} before, "
                     f"{cal['ece_after']:.4f} after" + _floor(cal) + "."
                     + _shift(cal, (report.get("model") or {}).get("accuracy")))  # fmt: skip
    if conf:
        size = conf.get("mean_set_size", conf.get("mean_width"))
        what = "mean set size" if "mean_set_size" in conf else "mean interval width"
        lines.append(f"- Conformal (alpha = {conf['alpha']}): test coverage "
                     f"{conf['coverage']:.3f}, {what} {size}{_set_rule(conf)}.")  # fmt: skip
    if faith:
        lines.append(f"- Faithfulness: {faith['verdict_line']}.")
    return ["## Trust", *lines, ""] if lines else []
