"""A next-state model's partner: the interpolated Kneser-Ney n-gram model of the training
split, whose next-token distribution is mixed with the network's (mixing:
:mod:`attnlib.models.partner`).

An n-gram model and a recurrent one err differently, and mixing their probabilities beats
either: the classic interpolation of a neural language model with a Kneser-Ney one
(Mikolov et al. 2011, "Empirical Evaluation and Combination of Advanced Language Modeling
Techniques"; Jozefowicz et al. 2016). On Hamlet's validation characters the network alone
was right .491 of the time, Kneser-Ney .508, the two half and half .524.

The model is :class:`attnlib.baselines.ngram.KneserNey` (the evaluate stage's baseline), its
order the one of :data:`ORDERS` with the lowest validation perplexity, fitted on the
training split only (validation chooses the order and the weight, and calibrates). Its
distribution after a context is the one of the longest suffix the training split holds
(Kneser-Ney passes an unseen context's mass down whole), so the partner stores one row per
context seen in training: ``table`` (R, V) log-probabilities, ``keys`` (R,) the contexts
as integers, sorted. A context's key writes its tokens in base V + 2, the newest least
significant, each as id + 2 (the begin-of-sequence symbol, -1, is 1; the empty context is
0, row 0). Forward looks each suffix up by binary search (a fixed number of gathers, so
the ONNX graph has no loop) and keeps the longest found: the partner equals the baseline's
``prob_dist`` at every position (tested), and a position reads only its own and earlier
tokens, so a sequence alone equals it padded.

Shapes: B batch, T steps, V vocabulary, R contexts; forward returns (B, T, V).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from attnlib.baselines.ngram import BOS, KneserNey, fit_best_order
from attnlib.config import ModelConfig
from attnlib.data import SequenceData
from attnlib.models.partner import Partner

ORDERS = range(1, 8)  # tried on validation, as the evaluate stage's baseline does by default
# the table's cells (contexts x vocabulary) an order may need: a higher order that needs
# more is not tried (4 bytes each: 128 MB per member at the cap)
MAX_CELLS = 2**25


class KneserNeyPartner(Partner):
    """(B, T) token ids and (B,) lengths -> (B, T, V) Kneser-Ney log-probabilities of the
    token after each position (the tables: ``keys``, ``table``; their row count is set by
    :meth:`fit` and by loading)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.binary = False
        self.vocab = cfg.vocab_size
        self.register_buffer("order", torch.zeros((), dtype=torch.int64))
        self.register_buffer("keys", torch.zeros(1, dtype=torch.int64))
        self.register_buffer("table", torch.zeros(1, cfg.vocab_size))
        self.sync()

    def sync(self) -> None:
        super().sync()
        # Python ints: the graph unrolls the suffixes and the binary search's steps
        self.n, self.rows = int(self.order), int(self.keys.shape[0])
        self.steps = max(1, math.ceil(math.log2(self.rows + 1)))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in ("keys", "table"):  # sized by the data: take the saved shapes
            saved = state_dict.get(prefix + name)
            if saved is not None:
                setattr(self, name, torch.empty_like(saved, device=getattr(self, name).device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def fitted(self) -> bool:
        return int(self.order) > 0

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        base = self.vocab + 2
        best = torch.zeros_like(x)  # row 0: the empty context
        key, prev = torch.zeros_like(x), x
        for k in range(1, self.n):  # suffixes of 1 .. order - 1 tokens, longest found kept
            if k > 1:  # the token k - 1 steps back; begin-of-sequence before the first
                prev = torch.cat([torch.full_like(prev[:, :1], BOS), prev[:, :-1]], 1)
            key = key + (prev + 2) * base ** (k - 1)
            row, found = self._find(key)
            best = torch.where(found, row, best)
        return self.table[best]  # (B, T, V)

    def _find(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Binary search of ``q`` in the sorted ``keys``: (row, found), both shaped as q."""
        rows = self.rows
        lo, hi = torch.zeros_like(q), torch.full_like(q, rows)
        for _ in range(self.steps):  # the first row with key >= q
            mid = torch.div(lo + hi, 2, rounding_mode="floor")
            below = self.keys[mid.clamp(max=rows - 1)] < q
            lo, hi = torch.where(below, mid + 1, lo), torch.where(below, hi, mid)
        row = lo.clamp(max=rows - 1)
        return row, self.keys[row] == q

    def fit(self, train: SequenceData, val: SequenceData, nll=None) -> dict:
        """Choose the order on ``val`` (perplexity: the exp of the loss ``nll`` would
        compute), count ``train``; returns the report."""
        tr, va = _sequences(train), _sequences(val)
        orders = [k for k in ORDERS if self._fits(k, tr)]
        order, ppl, lm = fit_best_order(tr, va, self.vocab, orders=orders)
        self._install(lm)
        return {"order": order, "partner_val_loss": round(math.log(ppl[order]), 6)}

    def refit(self, both: SequenceData, first: dict) -> None:
        if first.get("order"):
            self._install(KneserNey(first["order"]).fit(_sequences(both), self.vocab))

    def _fits(self, order: int, train: list[list[int]]) -> bool:
        """Whether an order's keys fit in int64 and its table under :data:`MAX_CELLS`
        (order 1, one row, always does)."""
        if order == 1:
            return True
        if (order - 1) * math.log2(self.vocab + 2) > 62:
            return False
        return most_rows(order, sum(len(s) for s in train), self.vocab) * self.vocab <= MAX_CELLS

    def _install(self, lm: KneserNey) -> None:
        contexts = lm.seen_contexts()
        base = self.vocab + 2
        keys = np.array([sum((t + 2) * base**j for j, t in enumerate(reversed(ctx)))
                         for ctx in contexts], dtype=np.int64)  # fmt: skip
        order = np.argsort(keys, kind="stable")
        probs = np.stack([lm.context_dist(contexts[i]) for i in order])  # <pad>'s 0 -> -69
        table = np.log(np.maximum(probs, 1e-30))
        dev = self.keys.device
        self.keys = torch.from_numpy(keys[order]).to(dev)
        self.table = torch.from_numpy(table).float().to(dev)
        self.order.fill_(lm.order)
        self.sync()


def most_rows(order: int, positions: int, vocab: int) -> int:
    """The most contexts an order's table can hold: the empty one, and per length k < order
    no more than the training split's positions, nor the (V + 1)^k sequences of ids and
    begin-of-sequence (a 20,000-word vocabulary's bigram table could otherwise need 4e8
    cells)."""
    return 1 + sum(min(positions, (vocab + 1) ** k) for k in range(1, order))


def _sequences(data: SequenceData) -> list[list[int]]:
    """The token sequences of next-state data: each input and its last target."""
    return [data.x[i, :n].tolist() + [int(data.y[i, n - 1])]
            for i, n in enumerate(data.lengths.tolist())]  # fmt: skip


def kn_partner(cfg: ModelConfig) -> KneserNeyPartner | None:
    """The model's partner if its config asks for one (``kn_partner``), else None."""
    return KneserNeyPartner(cfg) if cfg.kn_partner else None
