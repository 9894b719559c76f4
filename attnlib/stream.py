"""Streaming next-state prediction: one new token in, the next state's scores out.

A next-state model's prediction at step t depends on the LSTM's state after step t and
on attention over steps 0..t. :class:`StreamStep` keeps both between calls: the
recurrent state ``(h, c)`` per layer and a cache of what attention needs from every step
seen (the step's top-layer output, and for the additive scorer its projected key). A new
token then costs one LSTM step per layer, the head's two linear layers, and attention over
the cache: its only cost that grows with the history is the scores and the weighted sum
(one dot product per earlier step, or per step one ``tanh`` of a cached key for the
additive scorer).

The LSTM cell is written out (``gates = W_ih x + b_ih + W_hh h + b_hh``, PyTorch's gate
order i, f, g, o) rather than calling ``nn.LSTM`` for one step: same numbers to float
rounding, less per-call overhead, and an ONNX graph of plain MatMuls
(:mod:`attnlib.export_stream`).
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from attnlib.baselines.ngram import BOS
from attnlib.errors import ConfigError, DataError
from attnlib.files import split_tokens
from attnlib.models.attention import AdditiveScorer
from attnlib.models.heads import NextStateHead
from attnlib.vocab import UNK

log = logging.getLogger(__name__)


def _cell(lstm: nn.LSTM, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """One step of a one-layer unidirectional ``lstm``: x (1, E), h and c (1, H)."""
    gates = nn.functional.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0) + nn.functional.linear(
        h, lstm.weight_hh_l0, lstm.bias_hh_l0
    )  # (1, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (1, H)
    return torch.sigmoid(o) * torch.tanh(c), c


class StreamStep(nn.Module):
    """One step of a next-state :class:`~attnlib.models.AttentionLSTM`, state in and out.

    Shapes: L layers, H hidden size, D = H (unidirectional), V vocabulary; the cache holds
    one row per step seen, of width K = D (dot, general, scaled_dot) or D + A (additive:
    the output then its projected key ``W_k h``).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        cfg = model.config
        if not isinstance(model.head, NextStateHead):  # the causal head is what streams
            raise ConfigError(f"streaming predicts next states; this model's task is {cfg.task}")
        self.embedding = model.input
        self.lstms = nn.ModuleList(layer[0] for layer in model.encoder.layers)
        self.head = model.head
        self.scorer = model.head.attention.scorer
        self.additive = isinstance(self.scorer, AdditiveScorer)
        self.num_layers, self.hidden = cfg.num_layers, cfg.hidden_dim
        self.cache_width = cfg.hidden_dim + (self.scorer.w_k.out_features if self.additive else 0)
        # a Kneser-Ney partner in use reads the last order - 1 tokens (``recent``)
        partner = getattr(model, "partner", None)
        self.partner = partner if partner is not None and partner.active else None
        self.recent_width = max(1, self.partner.n - 1) if self.partner is not None else 0

    def initial_recent(self) -> torch.Tensor:
        """``recent`` before the first token: (1, W) begin-of-sequence ids (-1), W = 0
        without a partner."""
        return torch.full((1, self.recent_width), BOS, device=self.head.out.weight.device)

    @staticmethod
    def remember(recent: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
        """``recent`` (1, W) with ``token`` appended and the oldest dropped."""
        return torch.cat([recent[:, 1:], token.view(1, 1)], dim=1)

    def mixed(self, logits: torch.Tensor, recent: torch.Tensor) -> torch.Tensor:
        """The head's logits (1, V) mixed with the partner's after ``recent`` (1, W), the
        newest token last (as the full model mixes them; unchanged without a partner)."""
        if self.partner is None:
            return logits
        return self.partner.mixed(logits, self.partner(recent)[:, -1])

    def initial_state(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(h, c, cache)`` before the first token: zeros (L, 1, H) and an empty (1, 0, K)."""
        w = self.head.out.weight
        h = torch.zeros(self.num_layers, 1, self.hidden, dtype=w.dtype, device=w.device)
        return h, h.clone(), torch.zeros(1, 0, self.cache_width, dtype=w.dtype, device=w.device)

    def advance(self, token: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """Run the LSTM one step. token (1,) int64; h, c (L, 1, H).

        Returns: (entry (1, K): this step's cache row, top (1, D), h, c).
        """
        x = self.embedding(token)  # (1, E)
        hs, cs = [], []
        for i, lstm in enumerate(self.lstms):
            x, ci = _cell(lstm, x, h[i], c[i])  # (1, H) each; dropout is off in eval
            hs.append(x)
            cs.append(ci)
        entry = torch.cat([x, self.scorer.w_k(x)], dim=-1) if self.additive else x  # (1, K)
        return entry, x, torch.stack(hs), torch.stack(cs)

    def readout(self, top: torch.Tensor, cache: torch.Tensor):
        """Logits of the next state from the newest output and the cache of all steps.

        Args: top (1, D), the newest step's output; cache (1, T, K), steps 0..t, newest last.
        Returns: logits (1, V) and attention weights (1, T).
        """
        D = self.hidden
        values = cache[..., :D]  # (1, T, D)
        if self.additive:
            q = self.scorer.w_q(top).unsqueeze(1)  # (1, 1, A)
            scores = self.scorer.v(torch.tanh(q + cache[..., D:])).squeeze(-1)  # (1, T)
        else:
            scores = self.scorer(top.unsqueeze(1), values).squeeze(1)  # (1, T)
        weights = torch.softmax(scores, dim=-1)  # (1, T): every cached step is allowed
        context = (weights.unsqueeze(1) @ values).squeeze(1)  # (1, D)
        z = torch.tanh(self.head.combine(torch.cat([context, top], dim=-1)))  # (1, D)
        return self.head.out(z), weights  # (1, V)

    def forward(self, token, h, c, cache, length, recent=None):
        """The exported step: (token (1,), h, c (L, 1, H), cache (1, >=n, K), length (1,) = n
        [, recent (1, W)]) -> (logits (1, V), h, c, cache (1, n + 1, K), length + 1
        [, recent with the token appended and the oldest dropped]). Rows past ``length``
        of the incoming cache are ignored, so a caller may pass a larger buffer."""
        entry, top, h, c = self.advance(token, h, c)
        seen = torch.index_select(cache, 1, torch.arange(length[0]))  # (1, n, K)
        cache = torch.cat([seen, entry.unsqueeze(1)], dim=1)  # (1, n + 1, K)
        logits, _ = self.readout(top, cache)
        if recent is None:
            return logits, h, c, cache, length + 1
        recent = self.remember(recent, token)
        return self.mixed(logits, recent), h, c, cache, length + 1, recent


class StreamingPredictor:
    """Feeds one token at a time to a next-state model and scores the next state.

    Predictions equal the full model's at the same position (to float rounding).
    Example::

        stream = StreamingPredictor(model)
        for token_id in ids:
            logits = stream.push(token_id)  # (V,) scores of the token after it

    Args:
        model: a next-state :class:`~attnlib.models.AttentionLSTM` (put in eval mode).
        capacity: initial cache rows; the cache doubles when full.
    """

    def __init__(self, model: nn.Module, capacity: int = 256):
        self.step = StreamStep(model.eval())
        self._capacity = max(1, capacity)
        self.weights: torch.Tensor | None = None  # attention of the last push, (n,)
        self.reset()

    def reset(self) -> None:
        """Forget the sequence so far: the next push starts a new one."""
        self.h, self.c, empty = self.step.initial_state()
        self._cache = empty.new_zeros(1, self._capacity, self.step.cache_width)
        self.length = 0
        self.recent = self.step.initial_recent()

    @torch.no_grad()
    def push(self, token_id: int) -> torch.Tensor:
        """Append a token; return the logits (V,) of the state that follows it."""
        token = torch.tensor([token_id], device=self._cache.device)
        entry, top, self.h, self.c = self.step.advance(token, self.h, self.c)
        if self.length == self._cache.shape[1]:  # full: double (amortised O(1) per push)
            self._cache = torch.cat([self._cache, torch.zeros_like(self._cache)], dim=1)
        self._cache[:, self.length] = entry
        self.length += 1
        logits, weights = self.step.readout(top, self._cache[:, : self.length])
        self.weights = weights[0]
        if self.step.partner is not None:
            self.recent = self.step.remember(self.recent, token)
            logits = self.step.mixed(logits, self.recent)
        return logits[0]

    def probs(self, token_id: int) -> torch.Tensor:
        """Append a token; return the probabilities (V,) of the state that follows it."""
        return torch.softmax(self.push(token_id), dim=-1)

    def extend(self, token_ids: list[int]) -> torch.Tensor:
        """Push several tokens; return their logits stacked, (n, V)."""
        return torch.stack([self.push(t) for t in token_ids])


def stream_lines(stream: StreamingPredictor, vocab, lines, write, *, top_k: int = 5,
                 sep: str | None = None, strict: bool = False, warn=None) -> int:  # fmt: skip
    """Read tokens as they come and write one prediction per token: the top-k next states.

    Args:
        stream: the predictor (its state carries over between lines).
        vocab: the bundle's :class:`~attnlib.vocab.Vocabulary` (unknown tokens -> ``<unk>``).
        lines: an iterable of text lines, one or more tokens each (separated by whitespace,
            or by ``sep``: tokens that hold spaces); a blank line starts a new sequence.
        write: called with each output line (no newline), e.g. ``print`` with flush.
        top_k: states per line, most likely first, separated by ``sep`` (else a space).
        strict: an unknown token is an error (nothing is written for its line), else
            ``warn`` (default: logged) is called once for each new unknown token.
    Returns:
        the number of predictions written.

    Raises:
        DataError: ``strict`` and a token the model does not know (the line is named).
    """
    k, n, unknown = min(top_k, len(vocab)), 0, set()
    for number, line in enumerate(lines, start=1):
        tokens = split_tokens(line, sep)
        if not tokens:
            stream.reset()
            continue
        new = [t for t in tokens if (t not in vocab or t == UNK) and t not in unknown]
        if new:
            message = (f"line {number}: {', '.join(map(repr, new[:5]))} unknown to this model, "
                       f"read as {UNK}")  # fmt: skip
            if strict:
                raise DataError(f"standard input, {message}")
            unknown.update(new)
            (warn or log.warning)(message)
        for token_id in vocab.encode(tokens):
            top = torch.topk(stream.push(token_id), k).indices.tolist()
            write((sep or " ").join(vocab.itos[i] for i in top))
            n += 1
    return n
