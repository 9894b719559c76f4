"""Is the attention faithful? Erasure tests (ERASER, DeYoung et al. 2020) and agreement with
integrated gradients (captum).

For each item the prediction c is the model's top class on the whole sequence. Steps are
then *dropped* (a shorter sequence with its length updated, so the mask guarantees they are
gone, unlike zeroing an embedding) in three orders: most attended first, least attended
first, random. For k = 1 and k = 10 % / 20 % of the length:
  comprehensiveness = mean (p_full[c] - p_erased[c]) and the share of flipped decisions;
  sufficiency = mean (p_full[c] - p_kept[c]) when only the k steps are kept.
If attention marks the steps the model relies on, erasing the top-k hurts more than random.

The model is seen only through a :class:`Scorer` (``scorer(model)`` builds one), so
nothing here depends on model internals.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from attnlib.vocab import PAD_ID

ORDERS = ("top", "random", "bottom")
FRACTIONS = (0.1, 0.2)


class Scorer(NamedTuple):
    """What the trust checks need from a model.

    forward(x, lengths) -> (logits (B, K), attention (B, T) over the input steps).
    layer: the embedding layer (token inputs: integrated gradients on its output), or None
    (numeric inputs: integrated gradients on the input itself).
    """

    forward: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    layer: nn.Module | None


def scorer(model: nn.Module) -> Scorer:
    """Adapt an :class:`~attnlib.models.AttentionLSTM` that outputs class logits.

    Read from the shapes it returns: pooled attention (B, T) with a binary (B,) logit or
    (B, K) logits (a classifier); or per-step attention (B, T, T) with per-step logits
    (B, T, V) (next-state: the prediction after the last real step is the one checked).
    A partner the model mixes in last (:class:`~attnlib.models.partner.Partner`) is mixed
    here instead, into the rows checked only. The model is put in eval mode.
    """
    model.eval()
    cnn = getattr(model, "cnn", None)
    pool = model.config.cnn_pool if cnn is not None else 1
    # a partner is mixed last in forward: here after the one step read of per-step outputs
    partner = getattr(model, "partner", None)
    late = partner is not None and partner.active

    def forward(x: torch.Tensor, lengths: torch.Tensor):
        with partner.unmixed() if late else nullcontext():
            out, w = model(x, lengths, return_attention=True)
        z = partner(x, lengths) if late else None  # what forward would have mixed in
        if w.ndim == 3:  # per-step predictions: keep the one after the last real step
            rows = torch.arange(len(lengths), device=out.device)
            last = lengths.to(out.device) - 1
            out, w = out[rows, last], w[rows, last]  # (B, V), (B, T)
            z = z[rows, last] if late else None
        if late:
            out = partner.mixed(out, z)
        if out.ndim == 1:  # binary: the 2-class softmax over [0, z] is sigmoid(z)
            out = torch.stack([torch.zeros_like(out), out], dim=1)  # (B, 2)
        if out.ndim != 2:
            raise ValueError(f"faithfulness needs class logits, got an output {tuple(out.shape)}")
        if pool > 1:  # CNN: a pooled step's weight is shared by the input steps it covers
            w = w.repeat_interleave(pool, dim=1)[:, : x.shape[1]] / pool  # (B, T)
        return out, w

    # token ids: attribute at the input layer's output (an embedding, or the word input
    # layer with char n-grams / pretrained vectors); numeric values: at the input itself
    if model.config.input_kind != "tokens":
        return Scorer(forward, None)  # numeric models (ALSTM-FCN) may have no input layer
    # an ensemble has one input layer per member: attribute at the first member's (the
    # others' embeddings of the same ids stay fixed), enough for a rank correlation
    layer = getattr(model, "input", None) or getattr(model, "members", [model])[0].input
    return Scorer(forward, layer)


def drop_steps(x: torch.Tensor, lengths: torch.Tensor, drop: torch.Tensor):
    """Remove the steps marked in ``drop`` (B, T) from each sequence.

    Returns: (x' (B, T'), or (B, T', C), lengths' (B,)), the kept steps in their order,
    padded with PAD_ID / 0.0.
    """
    T = x.shape[1]
    steps = torch.arange(T, device=x.device)[None, :]
    lengths, drop = lengths.to(x.device), drop.to(x.device)
    real = steps < lengths[:, None]  # (B, T)
    keep = real & ~drop
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)  # kept steps first
    new_len = keep.sum(1)
    idx = order if x.ndim == 2 else order.unsqueeze(-1).expand_as(x)
    out = torch.gather(x, 1, idx)
    out[steps >= new_len[:, None]] = PAD_ID  # PAD_ID is 0 = numeric padding
    return out[:, : int(new_len.max())], new_len.cpu()


@torch.no_grad()
def _run(sc: Scorer, x, lengths, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (N, K) and attention (N, T) in batches."""
    probs, att = [], []
    T = x.shape[1]
    for s in range(0, len(x), batch_size):
        xb, lb = x[s : s + batch_size], lengths[s : s + batch_size]
        tb = int(lb.max())
        logits, w = sc.forward(xb[:, :tb], lb)
        probs.append(torch.softmax(logits.float(), -1).cpu().numpy())
        att.append(np.pad(w.float().cpu().numpy(), ((0, 0), (0, T - w.shape[1]))))
    return np.concatenate(probs), np.concatenate(att)


def _ranks(att: np.ndarray, lengths: np.ndarray, order: str, rng) -> np.ndarray:
    """Rank (0 = first to erase) of every real step under ``order``; padding ranks last."""
    N, T = att.shape
    real = np.arange(T)[None, :] < lengths[:, None]
    big = T + 1.0
    if order == "top":
        key = np.where(real, -att, big)
    elif order == "bottom":
        key = np.where(real, att, big)
    else:
        key = np.where(real, rng.random((N, T)), big)
    pos = np.argsort(key, axis=1, kind="stable")
    ranks = np.empty_like(pos)
    np.put_along_axis(ranks, pos, np.arange(T)[None, :].repeat(N, 0), axis=1)
    return ranks


def _ks(lengths: np.ndarray) -> dict[str, np.ndarray]:
    """k per item: 1, and 10 % / 20 % of the length (at least 1, at most length - 1)."""
    out = {"k1": np.ones_like(lengths)}
    for f in FRACTIONS:
        out[f"k{round(f * 100)}pct"] = np.maximum(1, np.ceil(f * lengths).astype(int))
    return {name: np.minimum(k, lengths - 1) for name, k in out.items()}


def integrated_gradients(sc: Scorer, x, lengths, target, *, steps: int = 8) -> np.ndarray:
    """|Integrated gradients| per step (N, T) towards class ``target`` (baseline: padding,
    i.e. zero embeddings / zero values), summed over the embedding or channel axis."""
    from captum.attr import IntegratedGradients, LayerIntegratedGradients

    def logits(xb, lb):
        return sc.forward(xb, lb)[0]

    ig = LayerIntegratedGradients(logits, sc.layer) if sc.layer else IntegratedGradients(logits)
    base = torch.full_like(x, PAD_ID) if sc.layer else torch.zeros_like(x)
    with torch.backends.cudnn.flags(enabled=False):  # cuDNN RNNs have no backward in eval mode
        attr = ig.attribute(x, baselines=base, target=torch.as_tensor(target),
                            additional_forward_args=(lengths,), n_steps=steps,
                            internal_batch_size=len(x) * min(steps, 8))  # fmt: skip
    return attr.detach().sum(-1).abs().cpu().numpy()  # (N, T)


def _spearman(att: np.ndarray, attr: np.ndarray, lengths: np.ndarray) -> list[float]:
    from scipy import stats

    rhos = []
    for a, g, n in zip(att, attr, lengths, strict=True):
        if n >= 3 and np.ptp(a[:n]) > 0 and np.ptp(g[:n]) > 0:
            rhos.append(float(stats.spearmanr(a[:n], g[:n]).statistic))
    return rhos


def _erasure(sc: Scorer, xs, ls, p_full, att, rng, batch_size: int):
    """Erasure by each order and k; returns (erasure, sufficiency, per-item top - random
    comprehensiveness averaged over the k settings (n,))."""
    lens = ls.numpy()
    c = p_full.argmax(1)  # (n,) the decision on the whole sequence
    rows = np.arange(len(c))
    ranks = {o: _ranks(att, lens, o, rng) for o in ORDERS}
    erasure, sufficiency, diffs = {}, {}, []
    for name, k in _ks(lens).items():
        erasure[name], sufficiency[name], comp = {}, {}, {}
        for o in ORDERS:
            first_k = torch.as_tensor(ranks[o] < k[:, None])  # (n, T)
            p, _ = _run(sc, *drop_steps(xs, ls, first_k), batch_size)
            comp[o] = p_full[rows, c] - p[rows, c]
            flips = float((p.argmax(1) != c).mean())
            erasure[name][o] = {"comprehensiveness": float(comp[o].mean()), "flip_rate": flips}
            if o != "bottom":  # sufficiency: keep only the first k
                p, _ = _run(sc, *drop_steps(xs, ls, ~first_k), batch_size)
                sufficiency[name][o] = float((p_full[rows, c] - p[rows, c]).mean())
        diffs.append(comp["top"] - comp["random"])
    return erasure, sufficiency, np.mean(diffs, axis=0)


def _ig_agreement(sc: Scorer, xs, ls, c, att, steps: int, batch_size: int) -> list[float]:
    """Spearman's rho of attention and |integrated gradients| per item (n <= len(xs))."""
    parts = []
    for s in range(0, len(xs), batch_size):
        lb = ls[s : s + batch_size]
        a = integrated_gradients(sc, xs[s : s + batch_size, : int(lb.max())], lb,
                                 c[s : s + batch_size], steps=steps)  # fmt: skip
        parts.append(np.pad(a, ((0, 0), (0, xs.shape[1] - a.shape[1]))))
    return _spearman(att, np.concatenate(parts), ls.numpy()) if parts else []


def faithfulness_report(
    sc: Scorer, x: torch.Tensor, lengths: torch.Tensor, *, n_items: int = 200, seed: int = 0,
    ig_items: int = 64, ig_steps: int = 8, batch_size: int = 64,
) -> dict:  # fmt: skip
    """Erasure and integrated-gradient checks of the attention on a seeded subsample.

    Args:
        sc: the model, through :func:`scorer`.
        x: (N, T) token ids or (N, T, C) values of the test split, padded; lengths (N,).
        n_items: items checked (a seeded random subsample; items of length 1 are skipped).
        ig_items: items (the first of the subsample) whose integrated gradients are compared
            with their attention; the costliest part (a backward pass per step).
        ig_steps: integration steps of integrated gradients (0 = skip that check).
    Returns:
        ``{"n_items", "erasure": {k: {order: {"comprehensiveness", "flip_rate"}}},
        "sufficiency": {k: {"top", "random"}}, "top_minus_random", "p_value",
        "attention_beats_random", "ig_spearman", "verdict" ("yes" / "no", for
        ``dvc exp show``), "verdict_line" (the sentence for the card)}``; k in k1, k10pct,
        k20pct. Comprehensiveness / sufficiency are falls in the predicted class's probability.
        With no item of 2 or more steps, ``{"n_items": 0, "verdict": "n/a", "verdict_line"}``.
    """
    rng = np.random.default_rng(seed)
    lens = lengths.cpu().numpy()
    eligible = np.flatnonzero(lens >= 2)
    if len(eligible) == 0:  # single-token texts (a name as one word): nothing to rank
        return {"n_items": 0, "verdict": "n/a", "verdict_line": "not checked: every test "
                "item is one step long, so attention has no step to rank"}  # fmt: skip
    pick = np.sort(rng.choice(eligible, min(n_items, len(eligible)), replace=False))
    lens = lens[pick]
    xs, ls = x[torch.as_tensor(pick)][:, : int(lens.max())], torch.as_tensor(lens)
    p_full, att = _run(sc, xs, ls, batch_size)
    c = p_full.argmax(1)  # (n,) the decision on the whole sequence
    erasure, sufficiency, d = _erasure(sc, xs, ls, p_full, att, rng, batch_size)
    from scipy import stats  # here: the import costs ~0.5 s, and every task module loads us

    p_value = float(stats.wilcoxon(d, alternative="greater").pvalue) if np.any(d != 0) else 1.0
    beats = bool(d.mean() > 0 and p_value < 0.05)
    n_ig = min(ig_items, len(c)) if ig_steps else 0
    rhos = _ig_agreement(sc, xs[:n_ig], ls[:n_ig], c[:n_ig], att[:n_ig], ig_steps, batch_size)
    diff = float(d.mean())
    verdict = "yes" if beats else "no"
    line = (
        f"attention top-k erasure hurts more than random: {verdict}, by {diff:+.3f} in the "
        f"predicted class's probability (mean over k = 1, 10 %, 20 % of the length; "
        f"{len(c)} test items, one-sided Wilcoxon p = {p_value:.2g})"
    )
    return {
        "n_items": len(c),
        "seed": seed,
        "erasure": erasure,
        "sufficiency": sufficiency,
        "top_minus_random": diff,
        "p_value": p_value,
        "attention_beats_random": beats,
        "ig_spearman": float(np.mean(rhos)) if rhos else None,
        "ig_items": len(rhos),
        "verdict": verdict,
        "verdict_line": line,
    }
