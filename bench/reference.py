"""The lean seed-style reference the benchmark measures attnlib against.

What a competent user writes in an afternoon: the sequences are tensorised once; each
epoch shuffles them and pads each batch of 64 to its longest with ``pad_sequence``; one
``nn.LSTM`` runs over the padded tensor (no packing: the backward direction of the
BiLSTM reads the padding first); the attention score is the Attention-BiLSTM seed's one
vector (``e_i = w . h_i``, padding masked); Adam at 1e-3; eager PyTorch for inference.

The models cost what ours cost at the benchmark's sizes (``train_speed.sizes``): a
BiLSTM classifier whose one-vector score equals our dot scorer with a learned query,
and a next-state LSTM with causal dot attention (query h_t) and ``tanh(W [c; h])``, as
our next-state head with the dot scorer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

PAD = 0
MAX_LEN = 200  # the classifier's sequences are cut to this many tokens
LR = 1e-3


def tensorise(
    sequences: Sequence[Sequence[int]], targets: Sequence[int] | None, max_len: int | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Once, before training: (x, y) per sequence. Classification: y is the class id;
    next-state (``targets`` None): x = tokens 0..n-2, y = tokens 1..n-1."""
    if targets is None:
        return [(torch.tensor(s[:-1]), torch.tensor(s[1:])) for s in sequences]
    return [
        (torch.tensor(s[:max_len]), torch.tensor(y))
        for s, y in zip(sequences, targets, strict=True)
    ]


def batches(
    data: list[tuple[torch.Tensor, torch.Tensor]],
    batch_size: int = 64,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled (``generator`` given) or in order; each batch padded to its longest."""
    order = torch.randperm(len(data), generator=generator) if generator else range(len(data))
    order = list(order)
    for start in range(0, len(order), batch_size):
        chunk = [data[i] for i in order[start : start + batch_size]]
        x = pad_sequence([x for x, _ in chunk], batch_first=True, padding_value=PAD)  # (B, T)
        ys = [y for _, y in chunk]
        if ys[0].dim() == 0:
            yield x, torch.stack(ys)  # (B,)
        else:
            yield x, pad_sequence(ys, batch_first=True, padding_value=PAD)  # (B, T)


class SeedBiLSTM(nn.Module):
    """Embedding -> BiLSTM -> one-vector attention score (padding masked) -> linear."""

    def __init__(self, vocab: int, emb: int = 128, hidden: int = 128, classes: int = 6):
        super().__init__()
        D = 2 * hidden
        self.embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.score = nn.Linear(D, 1, bias=False)
        self.out = nn.Linear(D, classes)

    def forward(self, x):
        h, _ = self.lstm(self.embedding(x))  # (B, T, D), padding included
        e = self.score(h).squeeze(-1).masked_fill(x == PAD, float("-inf"))  # (B, T)
        alpha = torch.softmax(e, dim=-1)
        return self.out((alpha.unsqueeze(-1) * h).sum(1))  # (B, classes)


class SeedNextState(nn.Module):
    """Embedding -> LSTM -> causal dot attention -> tanh(W [c; h]) -> vocabulary logits."""

    def __init__(self, vocab: int, emb: int = 128, hidden: int = 256, layers: int = 2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.embedding(x))  # (B, T, H)
        T = h.shape[1]
        future = torch.ones(T, T, dtype=torch.bool).triu(1)  # right padding is never seen
        scores = (h @ h.transpose(1, 2)).masked_fill(future, float("-inf"))  # (B, T, T)
        c = torch.softmax(scores, dim=-1) @ h  # (B, T, H)
        return self.out(torch.tanh(self.combine(torch.cat([c, h], dim=-1))))  # (B, T, V)


def classify_loss(out, y):
    return nn.functional.cross_entropy(out, y)


def next_state_loss(out, y):
    return nn.functional.cross_entropy(
        out.reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=PAD
    )


class Trainer:
    """The usual loop: Adam 1e-3, one shuffled epoch at a time, the loss logged per batch."""

    def __init__(self, model: nn.Module, train, loss, *, lr: float = LR, batch_size=64, seed=0):
        self.model, self.train, self.loss, self.batch_size = model, train, loss, batch_size
        self.opt = torch.optim.Adam(model.parameters(), lr=lr)
        self.gen = torch.Generator().manual_seed(seed)
        self.seconds = 0.0  # time spent in training epochs (validation excluded)

    def epoch(self) -> float:
        """One pass over the training data; returns its mean loss per batch."""
        self.model.train()
        t0, total, n = time.perf_counter(), 0.0, 0
        for x, y in batches(self.train, self.batch_size, self.gen):
            loss = self.loss(self.model(x), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            total, n = total + loss.item(), n + 1
        self.seconds += time.perf_counter() - t0
        return total / max(n, 1)

    @torch.no_grad()
    def evaluate(self, val, per_step: bool) -> tuple[float, float]:
        """Mean loss per real prediction and accuracy over real predictions."""
        self.model.eval()
        total, count, right = 0.0, 0, 0
        for x, y in batches(val, self.batch_size):
            out = self.model(x)
            real = y != PAD if per_step else torch.ones_like(y, dtype=torch.bool)
            n = int(real.sum())
            right += int(((out.argmax(-1) == y) & real).sum())
            total, count = total + float(self.loss(out, y)) * n, count + n
        return total / max(count, 1), right / max(count, 1)
