"""A token classifier's linear partner: logistic regression on n-grams of its tokens, whose
probabilities are mixed with the network's (fitting and mixing: :mod:`attnlib.models.partner`).

On short texts a bag of n-grams is a strong classifier of its own (NBSVM, Wang & Manning
2012), and it errs where a recurrent network does not: mixing the two beats either (Mesnil
et al. 2015, "Ensemble of Generative and Discriminative Techniques for Sentiment Analysis
of Movie Reviews", NBSVM with a recurrent model). Its penalty is
one of :data:`PENALTIES`, chosen on validation.

Features (:meth:`NgramPartner.features`): each unigram (its token id) and bigram (hashed
into ``buckets`` rows) of the sequence (of characters, :func:`partner_fields`: every
n-gram up to :data:`CHAR_ORDER`, hashed into rows sized by the training split), weighted
by its idf on the training split (0 for an n-gram the training split lacks: it adds
nothing, not even to the norm, as in scikit-learn's ``TfidfVectorizer`` with a fixed
vocabulary), the whole divided by the root of the sum of the squared weights (the l2 norm
when no n-gram repeats). Fitting and prediction compute them with the same code, so the
torch model (and its ONNX graph) reproduces the fitted regression; only padding-free
positions count, so a sequence alone equals it padded.

Shapes: B batch, T steps, N n-gram slots (2T - 1 for bigrams), F = V + buckets rows, O outputs
(1 for binary, else K).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from attnlib.config import ModelConfig
from attnlib.data import SequenceData
from attnlib.models.partner import ROWS, RegressionPartner

PENALTIES = (2.0, 8.0, 32.0, 128.0)  # scikit-learn's C (inverse penalty) tried on validation
PRIME = 1_000_003  # bigram (a, b) -> bucket (a * PRIME + b) mod buckets
# character tokens: n-grams up to this order, as the text baseline's char_wb 2-5-grams
CHAR_ORDER = 5


def bigram_buckets(vocab_size: int) -> int:
    """Rows for hashed bigrams: a power of two >= 4 x the vocabulary, at most 2**20 (a
    text's distinct bigrams are a few times its words; a few share a row)."""
    return _power_of_two(4 * vocab_size)


def _power_of_two(n: int) -> int:
    return min(2**20, 1 << max(1, math.ceil(math.log2(max(n, 2)))))


def partner_fields(train_tokens: list[list[str]], chars: bool) -> dict:
    """The model fields that size the partner for this data, decided at encode time: none
    for words (unigrams and bigrams, :func:`bigram_buckets`); for characters the order
    :data:`CHAR_ORDER` and a power of two >= 2 x the train split's distinct 2-to-5-grams
    (a few thousand characters' bigrams would crowd rows sized by a 30-symbol vocabulary)."""
    if not chars:
        return {}
    distinct = {tuple(seq[i : i + k]) for seq in train_tokens
                for k in range(2, CHAR_ORDER + 1) for i in range(len(seq) - k + 1)}  # fmt: skip
    return {"ngram_order": CHAR_ORDER, "ngram_buckets": _power_of_two(2 * len(distinct))}


class NgramPartner(RegressionPartner):
    """(B, T) token ids and (B,) lengths -> (B,) binary or (B, K) logits of the regression."""

    penalties = PENALTIES

    def __init__(self, cfg: ModelConfig):
        vocab, buckets = cfg.vocab_size, cfg.ngram_buckets or bigram_buckets(cfg.vocab_size)
        super().__init__(cfg, vocab + buckets)
        self.vocab, self.order, self.buckets = vocab, cfg.ngram_order or 2, buckets
        self.register_buffer("idf", torch.zeros(vocab + buckets))

    def grams(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The n-gram rows (B, N) int64 and which are real (B, N) bool."""
        steps = torch.arange(x.shape[1], device=x.device)
        real1 = steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T) unigrams
        rows, real, h = [x], [real1], x
        for k in range(2, self.order + 1):  # (B, T - k + 1), none when T < k: order k, hashed
            h = torch.remainder(h[:, :-1] * PRIME + x[:, k - 1 :], self.buckets)
            rows.append(h + self.vocab)
            real.append(real1[:, k - 1 :])  # the n-gram's last token is real
        return torch.cat(rows, 1), torch.cat(real, 1)

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows (B, N), values (B, N)): the sequence's feature vector as (row, value)
        pairs (a repeated n-gram's values add up; padding has value 0)."""
        g, real = self.grams(x, lengths)
        w = self.idf[g] * real  # (B, N)
        norm = w.pow(2).sum(1, keepdim=True).sqrt().clamp_min(1e-12)  # (B, 1)
        return g, w / norm

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        g, v = self.features(x, lengths)
        z = (v.unsqueeze(-1) * self.weight[g]).sum(1) + self.bias  # (B, O)
        return z.squeeze(-1) if self.binary else z

    def prepare(self, train: SequenceData):
        _set_idf(self, train)
        return _matrix(self, train)

    def matrix(self, data: SequenceData):
        return _matrix(self, data)


def ngram_partner(cfg: ModelConfig) -> NgramPartner | None:
    """The model's partner if its config asks for one (``ngram_partner``), else None."""
    return NgramPartner(cfg) if cfg.ngram_partner else None


def _matrix(partner: NgramPartner, data: SequenceData):
    """The split's features as a scipy CSR matrix (n, F)."""
    from scipy.sparse import csr_matrix

    rows, cols, vals, dev = [], [], [], partner.weight.device
    for i in range(0, len(data), ROWS):
        g, v = partner.features(data.x[i : i + ROWS].to(dev), data.lengths[i : i + ROWS].to(dev))
        g, v = g.cpu(), v.cpu()
        keep = v != 0
        rows.append((torch.nonzero(keep)[:, 0] + i).numpy())
        cols.append(g[keep].numpy())
        vals.append(v[keep].double().numpy())
    shape = (len(data), partner.weight.shape[0])  # duplicates (repeated n-grams) add up
    return csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape)


def _set_idf(partner: NgramPartner, train: SequenceData) -> None:
    """idf = ln((1 + n) / (1 + df)) + 1 of the n-grams the training split has, else 0."""
    rows = partner.weight.shape[0]
    df = np.zeros(rows, dtype=np.int64)
    for i in range(0, len(train), ROWS):
        g, real = partner.grams(train.x[i : i + ROWS], train.lengths[i : i + ROWS])  # CPU data
        seq = torch.arange(len(g)).unsqueeze(1).expand_as(g)
        pairs = np.unique((seq[real] * rows + g[real]).numpy())  # one per sequence and n-gram
        df += np.bincount(pairs % rows, minlength=rows)
    n = len(train)
    idf = np.where(df > 0, np.log((1 + n) / (1 + df)) + 1, 0.0)
    partner.idf.copy_(torch.from_numpy(idf).to(partner.idf))
