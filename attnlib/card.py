"""The model card written into every export bundle (Markdown)."""

from __future__ import annotations

import json

from attnlib.persistence import ModelMeta
from attnlib.tasks import get_task


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
        f"over the valid (unpadded) steps{notes.attention}",
        "",
        "```json",
        json.dumps(cfg.model_dump(), indent=2),
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
        "```json",
        json.dumps(eval_metrics, indent=2),
        "```",
        "Export checks (ONNX Runtime vs eager PyTorch, max abs differences; sizes in bytes):",
        "```json",
        json.dumps(export_metrics, indent=2),
        "```",
        "",
        "## Intended use",
        notes.intended_use,
        "",
        "## Limits",
        "- Trained on the data above only; other distributions (another composer, domain or "
        "sampling rate) need retraining or at least re-evaluation.",
        "- Tokens not seen in training map to `<unk>`; the model cannot predict new states.",
        "- Attention weights show what the model attended to, not a causal explanation.",
        "- Files: `model.safetensors` + `model.json` (load with `attnlib.persistence.load_model`), "
        "`model.onnx` (inputs `x`, `lengths`; outputs `output`, `attention`).",
        *[f"- {line}" for line in notes.limits],
        "",
    ]
    return "\n".join(lines)
