"""Pre-tensorised data sets and length-bucketed batches.

Every sequence is padded once, when the data set is built, into one tensor; a batch is
then an index slice cut to its longest member (no per-sample Python in the hot loop).
Batches are (x, lengths, y); padding is PAD_ID for tokens and 0.0 for values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch

from attnlib.errors import DataError
from attnlib.vocab import PAD_ID


class Batch(NamedTuple):
    x: torch.Tensor  # (B, T) int64 token ids, or (B, T, C) float32 values
    lengths: torch.Tensor  # (B,) int64, >= 1
    y: torch.Tensor  # next_state (B, T) int64; classify (B,) int64; forecast (B, H, K) float32

    def to(self, device: torch.device | str) -> Batch:
        if str(device) == "cpu":
            return self
        return Batch(*(t.to(device, non_blocking=True) for t in self))


class SequenceData:
    """N sequences held as one padded tensor plus lengths and targets.

    Args:
        x: (N, Tmax) or (N, Tmax, C) padded inputs.
        lengths: (N,) real lengths, each >= 1.
        y: targets, first dim N; if ``y_per_step``, (N, Tmax) aligned with x.
        y_per_step: targets follow the time axis (next-state) and are cut with x.
    """

    def __init__(self, x: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor, y_per_step=False):
        if len(x) == 0:
            raise DataError("data set is empty: no sequence to train or evaluate on")
        if int(lengths.min()) < 1:
            raise DataError("data set has an empty sequence (length 0)")
        self.x, self.lengths, self.y, self.y_per_step = x, lengths.long(), y, y_per_step

    @classmethod
    def next_state(cls, sequences: Sequence[Sequence[int]]) -> SequenceData:
        """Token-id sequences; position t predicts token t+1 (sequences shorter than 2 skipped)."""
        seqs = [s for s in sequences if len(s) >= 2]
        if not seqs:
            raise DataError("no sequence has 2 or more tokens: nothing to predict")
        full = _pad_int([list(s) for s in seqs])  # (N, Tmax+1)
        lengths = torch.tensor([len(s) - 1 for s in seqs])
        x = full[:, :-1].clone()
        x[torch.arange(x.shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)] = PAD_ID
        return cls(x, lengths, full[:, 1:].contiguous(), y_per_step=True)

    @classmethod
    def classify_tokens(
        cls, sequences: Sequence[Sequence[int]], labels: Sequence[int]
    ) -> SequenceData:
        return cls(
            _pad_int(sequences), torch.tensor([len(s) for s in sequences]), torch.tensor(labels)
        )

    @classmethod
    def numeric(cls, series: Sequence[np.ndarray], targets: Sequence | np.ndarray) -> SequenceData:
        """Numeric sequences, each (T_i, C) float; targets: class ids, or (N, H, K) floats."""
        lengths = torch.tensor([len(s) for s in series])
        C = series[0].shape[1]
        x = torch.zeros(len(series), int(lengths.max()), C)
        for i, s in enumerate(series):
            x[i, : len(s)] = torch.as_tensor(s, dtype=torch.float32)
        t = np.asarray(targets)
        y = torch.as_tensor(t, dtype=torch.float32 if t.dtype.kind == "f" else torch.int64)
        return cls(x, lengths, y)

    @classmethod
    def concat(cls, a: SequenceData, b: SequenceData) -> SequenceData:
        """``a``'s sequences then ``b``'s, padded to the longer of the two."""
        T = max(a.x.shape[1], b.x.shape[1])

        def pad(t: torch.Tensor, value) -> torch.Tensor:  # the time axis (dim 1) to T
            if t.shape[1] == T:
                return t
            shape = (t.shape[0], T - t.shape[1], *t.shape[2:])
            return torch.cat([t, torch.full(shape, value, dtype=t.dtype)], dim=1)

        fill = PAD_ID if not a.x.is_floating_point() else 0.0
        x = torch.cat([pad(a.x, fill), pad(b.x, fill)])
        ys = [pad(t.y, PAD_ID) if a.y_per_step else t.y for t in (a, b)]
        return cls(x, torch.cat([a.lengths, b.lengths]), torch.cat(ys), a.y_per_step)

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def num_real_tokens(self) -> int:
        return int(self.lengths.sum())

    def batch(self, idx: torch.Tensor) -> Batch:
        """The sequences at ``idx``, cut to their longest member."""
        lengths = self.lengths[idx]
        T = int(lengths.max())
        y = self.y[idx, :T] if self.y_per_step else self.y[idx]
        return Batch(self.x[idx, :T], lengths, y)


def _pad_int(sequences: Sequence[Sequence[int]]) -> torch.Tensor:
    T = max(len(s) for s in sequences)
    out = np.full((len(sequences), T), PAD_ID, dtype=np.int64)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return torch.from_numpy(out)


class Batches:
    """Iterate over a :class:`SequenceData` in batches.

    Shuffling is seeded by ``(seed, epoch)`` alone, so a resumed run sees the same
    batches. With ``bucket``, each pool of 50 batches' worth of shuffled sequences is
    sorted by length before it is cut into batches, and the batch order is shuffled:
    batches hold similar lengths (little padding) yet stay random.

    For data-parallel training, :meth:`shard` makes this a distributed sampler: every
    rank draws the same global batches and keeps its own slice ``idx[rank::world]`` of
    each, so N ranks with batch B/N see exactly the batches one process with B sees.
    """

    POOL = 50

    def __init__(self, data: SequenceData, batch_size: int, *, shuffle=False, bucket=False, seed=0):
        self.data, self.batch_size = data, batch_size
        self.shuffle, self.bucket, self.seed = shuffle, bucket, seed
        self.epoch = 0
        self.rank, self.world = 0, 1

    def shard(self, rank: int, world: int) -> Batches:
        """Keep this rank's slice of every global batch (``batch_size`` stays global)."""
        self.rank, self.world = rank, world
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        if self.world > 1:
            return len(self.indices())
        return -(-len(self.data) // self.batch_size)

    def indices(self) -> list[torch.Tensor]:
        n, bs = len(self.data), self.batch_size
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        if self.bucket:
            pool = bs * self.POOL
            lengths = self.data.lengths
            chunks = []
            for start in range(0, n, pool):
                chunk = order[start : start + pool]
                chunks.append(chunk[torch.argsort(lengths[chunk], stable=True, descending=True)])
            order = torch.cat(chunks)
        batches = list(order.split(bs))
        if self.bucket and self.shuffle:
            perm = torch.randperm(len(batches), generator=gen).tolist()
            batches = [batches[i] for i in perm]
        if self.world > 1:  # a rank with an empty slice would stall the others: drop such tails
            batches = [b[self.rank :: self.world] for b in batches if len(b) >= self.world]
        return batches

    def __iter__(self) -> Iterator[Batch]:
        for idx in self.indices():
            yield self.data.batch(idx)
