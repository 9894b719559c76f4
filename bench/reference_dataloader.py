"""The earlier, slower reference, kept as a second row: a DataLoader reference.

``bench/reference.py`` is the reference the targets are set against; this one is what
the benchmark compared with before, and flatters us (see that module).
Written the way these models often are: a ``Dataset`` of Python lists, a
``DataLoader`` whose per-sample collate pads each shuffled batch to its longest
sequence with ``pad_sequence``, one ``nn.LSTM`` run over the padded tensor (no
packing, no length masks: the backward direction of the BiLSTM reads the padding
first and attention spreads over it) and eager PyTorch for inference.

Sizes follow the issue: an Attention-BiLSTM classifier (vocabulary 20,000,
embedding 128, hidden 128 per direction, sequences up to 200, batch 64) and a SeqLab
next-state model (vocabulary ~500, embedding 128, hidden 256, 2 layers).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

PAD = 0
MAX_LEN = 200  # the classifier's sequences are cut to this many tokens


class ListDataset(Dataset):
    """Token-id lists and targets, kept as Python lists; tensors are made per sample."""

    def __init__(self, sequences: Sequence[Sequence[int]], targets: Sequence, max_len=MAX_LEN):
        self.sequences, self.targets, self.max_len = sequences, targets, max_len

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int):
        return torch.tensor(self.sequences[i][: self.max_len]), self.targets[i]


def collate_classify(samples):
    """Per-sample Python: pad the batch to its longest sequence."""
    xs = [x for x, _ in samples]
    x = pad_sequence(xs, batch_first=True, padding_value=PAD)  # (B, T)
    return x, torch.tensor([y for _, y in samples])


def collate_next_state(samples):
    """Inputs are tokens 0..n-2, targets tokens 1..n-1; padding targets are PAD (ignored)."""
    xs = [s[:-1] for s, _ in samples]
    ys = [s[1:] for s, _ in samples]
    return pad_sequence(xs, batch_first=True, padding_value=PAD), pad_sequence(
        ys, batch_first=True, padding_value=PAD
    )


def loader(dataset: ListDataset, collate, batch_size: int = 64, shuffle: bool = True, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate, generator=gen
    )


class AttentionBiLSTM(nn.Module):
    """Embedding -> BiLSTM -> additive attention with a learned query -> linear."""

    def __init__(self, vocab=20_000, emb=128, hidden=128, classes=6):
        super().__init__()
        D = 2 * hidden
        self.embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.query = nn.Parameter(torch.randn(D) / D**0.5)
        self.w_q = nn.Linear(D, D, bias=False)
        self.w_k = nn.Linear(D, D)
        self.v = nn.Linear(D, 1, bias=False)
        self.out = nn.Linear(D, classes)

    def forward(self, x):
        h, _ = self.lstm(self.embedding(x))  # (B, T, D), padding included
        e = torch.tanh(self.w_q(self.query) + self.w_k(h))  # (B, T, D)
        alpha = torch.softmax(self.v(e).squeeze(-1), dim=-1)  # (B, T), over padding too
        c = (alpha.unsqueeze(-1) * h).sum(1)  # (B, D)
        return self.out(c)


class SeqLabLSTM(nn.Module):
    """Embedding -> 2-layer LSTM -> causal general attention -> tanh(W[c; h]) -> vocab."""

    def __init__(self, vocab=500, emb=128, hidden=256, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True)
        self.w = nn.Linear(hidden, hidden, bias=False)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.embedding(x))  # (B, T, H)
        T = h.shape[1]
        scores = self.w(h) @ h.transpose(1, 2)  # (B, T, T)
        future = torch.ones(T, T, dtype=torch.bool).triu(1)  # right padding is never seen
        alpha = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        z = torch.tanh(self.combine(torch.cat([alpha @ h, h], dim=-1)))  # (B, T, H)
        return self.out(z)  # (B, T, V)


def classify_loss(out, y):
    return nn.functional.cross_entropy(out, y)


def next_state_loss(out, y):
    return nn.functional.cross_entropy(
        out.reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=PAD
    )


def real_targets(y: torch.Tensor, per_step: bool) -> int:
    return int((y != PAD).sum()) if per_step else len(y)


class Trainer:
    """The usual loop: Adam, gradient clipping, one epoch at a time."""

    def __init__(self, model: nn.Module, train: DataLoader, loss, *, lr=3e-3, clip=1.0):
        self.model, self.train, self.loss, self.clip = model, train, loss, clip
        self.opt = torch.optim.Adam(model.parameters(), lr=lr)
        self.seconds = 0.0  # time spent in training epochs (validation excluded)

    def epoch(self) -> float:
        """One pass over the training data; returns its mean loss per batch."""
        self.model.train()
        t0, total, n = time.perf_counter(), 0.0, 0
        for x, y in self.train:
            loss = self.loss(self.model(x), y)
            self.opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
            self.opt.step()
            total, n = total + loss.item(), n + 1
        self.seconds += time.perf_counter() - t0
        return total / max(n, 1)

    @torch.no_grad()
    def evaluate(self, val: DataLoader, per_step: bool) -> float:
        """Mean loss per real prediction."""
        self.model.eval()
        total, count = 0.0, 0
        for x, y in val:
            n = real_targets(y, per_step)
            total, count = total + float(self.loss(self.model(x), y)) * n, count + n
        return total / max(count, 1)
