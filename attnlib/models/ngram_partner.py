"""A token classifier's linear partner: logistic regression on n-grams of its tokens, whose
probabilities are mixed with the network's.

On short texts a bag of n-grams is a strong classifier of its own (NBSVM, Wang & Manning
2012), and it errs where a recurrent network does not: mixing the two beats either (Mesnil
et al. 2015, "Ensemble of Generative and Discriminative Techniques for Sentiment Analysis
of Movie Reviews", NBSVM with a recurrent model). Here the partner is fitted first:
scikit-learn's ``LogisticRegression`` (L-BFGS) on the training split, its penalty the one
of :data:`PENALTIES` with the lowest validation loss. The network then trains as it
would alone (in training mode the model is the network only), and after it the mixing
weight ``w`` of :data:`MIXES` with the lowest validation loss of ``(1 - w) p_net + w p_bag``
is kept (:func:`mix_partner`; 0 drops the partner, and the model is the network alone).

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
import time

import numpy as np
import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.data import SequenceData
from attnlib.models.mixture import mixture_logits
from attnlib.tasks import get_task

PENALTIES = (2.0, 8.0, 32.0, 128.0)  # scikit-learn's C (inverse penalty) tried on validation
MIXES = tuple(k / 10 for k in range(10))  # the partner's weights tried: 0, 0.1, ..., 0.9
PRIME = 1_000_003  # bigram (a, b) -> bucket (a * PRIME + b) mod buckets
ROWS = 512  # sequences per chunk when the features of a whole split are computed
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


class NgramPartner(nn.Module):
    """(B, T) token ids and (B,) lengths -> (B,) binary or (B, K) logits of the regression.

    Its tables are buffers (saved with the model, never trained by the optimiser); ``mix``
    is the partner's weight in :meth:`combine` (0 until :func:`mix_partner` sets it).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.vocab, self.order = cfg.vocab_size, cfg.ngram_order or 2
        self.buckets = cfg.ngram_buckets or bigram_buckets(cfg.vocab_size)
        self.binary = cfg.num_classes == 2
        rows, out = self.vocab + self.buckets, 1 if self.binary else cfg.num_classes
        self.register_buffer("weight", torch.zeros(rows, out))
        self.register_buffer("bias", torch.zeros(out))
        self.register_buffer("idf", torch.zeros(rows))
        self.register_buffer("mix", torch.zeros(()))
        self.active = False  # mix > 0, kept as a Python bool: the graph has no branch on it
        self.register_load_state_dict_post_hook(NgramPartner._loaded)

    def sync(self) -> None:
        """Read ``active`` from the ``mix`` buffer (after loading or setting it)."""
        self.active = bool(self.mix > 0)

    def _loaded(self, _incompatible_keys) -> None:
        self.sync()

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

    def combine(self, y: torch.Tensor, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The network's logits ``y`` mixed with the partner's at weight ``mix`` (evaluation
        only: in training, and with ``mix`` 0, ``y`` unchanged)."""
        if self.training or not self.active:
            return y
        both = torch.stack([y, self(x, lengths).to(y.dtype)])
        log_w = torch.stack([torch.log1p(-self.mix), torch.log(self.mix)]).to(y.dtype)
        return mixture_logits(both, log_w, self.binary)


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


def _regression(x, y: np.ndarray, penalty: float, outputs: int):
    """scikit-learn's logistic regression on (x, y), on the columns the rows use (the others
    get weight 0). Returns (weights (F, O), bias (O,)) for ``outputs`` O: 1 (a binary
    model's logit) or K classes, where a class the rows lack gets bias -30; with two classes
    present scikit-learn fits one logit, the second's log-odds over the first.
    One BLAS thread: ensemble members fit side by side, and on 2 cores three TREC-6 members
    with a thread pool each took 77-80 s for their partners, 9 s with one thread each."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    used = np.unique(x.indices)
    with threadpool_limits(1):
        lr = LogisticRegression(C=penalty, max_iter=2000).fit(x[:, used], y)
    w = np.zeros((x.shape[1], outputs))
    if outputs == 1:
        w[used], b = lr.coef_.T, lr.intercept_
        return w, b
    b = np.full(outputs, -30.0)
    if len(lr.classes_) == 2:  # one logit: the second class's over the first's (logit 0)
        w[used, lr.classes_[1]], b[lr.classes_] = lr.coef_[0], [0.0, lr.intercept_[0]]
    else:
        w[np.ix_(used, lr.classes_)], b[lr.classes_] = lr.coef_.T, lr.intercept_
    return w, b


def _install(partner: NgramPartner, w: np.ndarray, b: np.ndarray) -> None:
    partner.weight.copy_(torch.from_numpy(np.asarray(w)).to(partner.weight))
    partner.bias.copy_(torch.from_numpy(np.asarray(b)).to(partner.bias))


def _logits(partner: NgramPartner, data: SequenceData) -> torch.Tensor:
    """The partner's logits of every sequence of ``data``, in order, on the CPU."""
    dev = partner.weight.device
    return torch.cat([partner(data.x[i : i + ROWS].to(dev), data.lengths[i : i + ROWS].to(dev))
                      for i in range(0, len(data), ROWS)]).cpu()  # fmt: skip


def _plain_loss(model: nn.Module):
    """The task's loss without smoothing (what early stopping reads): the partner's C and
    weight are chosen by the loss the network's epoch was."""
    return get_task(model.config.task).loss(model.config)


def _fit(partner: NgramPartner, data: SequenceData, penalty: float, x=None) -> tuple:
    """The regression of ``data``'s labels on its features (``x``: already made)."""
    x = _matrix(partner, data) if x is None else x
    return _regression(x, data.y.numpy(), penalty, partner.weight.shape[1])


@torch.no_grad()
def fit_partner(model: nn.Module, train: SequenceData, val: SequenceData) -> dict:
    """Fit ``model``'s partner on ``train`` (idf and regression), its penalty the one with the
    lowest loss on ``val`` (the sweep of :data:`PENALTIES` stops where the loss first rises:
    on 37 surname nationalities the fits took 47, 62 and 80 s, the loss fell, then rose);
    the mixing weight stays 0 until :func:`mix_partner`.

    Returns ``{"penalty", "partner_val_loss", "partner_seconds"}`` (scikit-learn's C, the
    partner's own validation loss and the fit's wall time); ``{"penalty": None, "why"}``
    when the training split holds one class
    (nothing to regress; the partner stays unused); ``{}`` for a model without a partner.
    """
    partner = getattr(model, "partner", None)
    if partner is None:
        return {}
    if len(torch.unique(train.y)) < 2:
        return {"penalty": None, "why": "one class in the training data: no partner"}
    t0, nll = time.perf_counter(), _plain_loss(model)
    _set_idf(partner, train)
    x, best = _matrix(partner, train), None
    for c in PENALTIES:  # weakest penalty last, and the slowest fit: stop at the first rise
        fitted = _fit(partner, train, c, x)
        _install(partner, *fitted)
        loss = float(nll(_logits(partner, val), val.y))
        if best is not None and loss >= best[0]:
            break
        best = (loss, c, fitted)
    loss, c, fitted = best
    _install(partner, *fitted)
    return {"penalty": c, "partner_val_loss": round(loss, 6),
            "partner_seconds": round(time.perf_counter() - t0, 2)}  # fmt: skip


@torch.no_grad()
def mix_partner(model: nn.Module, val: SequenceData) -> dict:
    """Set the partner's weight to the one of :data:`MIXES` with the lowest validation loss
    of the mixed model (``model`` as trained, the network's weights unchanged).

    Returns ``{"mix", "network_val_loss", "mixed_val_loss"}``, or ``{}`` without a partner.
    """
    partner = getattr(model, "partner", None)
    if partner is None or not partner.idf.any():  # not fitted (fit_partner found one class)
        return {}
    from attnlib.evaluate import predict

    set_mix(partner, 0.0)
    outputs, targets, _ = predict(model, val)  # eval mode, mix 0: the network alone
    z_net, y = torch.cat(outputs).float(), torch.cat(targets)
    z_bag = _logits(partner, val).float()  # predict keeps the split's order too
    losses, nll = {}, _plain_loss(model)
    for w in MIXES:
        log_w = torch.log(torch.tensor([1 - w, w]))
        losses[w] = float(nll(mixture_logits(torch.stack([z_net, z_bag]), log_w,
                                             partner.binary), y))  # fmt: skip
    best = min(MIXES, key=losses.get)
    set_mix(partner, best)
    return {"mix": best, "network_val_loss": round(losses[0.0], 6),
            "mixed_val_loss": round(losses[best], 6)}  # fmt: skip


def set_mix(partner: NgramPartner, weight: float) -> None:
    partner.mix.fill_(weight)
    partner.sync()


@torch.no_grad()
def refit_partner(model: nn.Module, both: SequenceData, first: dict) -> None:
    """A refit's partner: the first fit's penalty and weight (``first``, its report),
    the regression fitted on ``both`` (train + val)."""
    partner = getattr(model, "partner", None)
    if partner is None or not first.get("penalty"):
        return
    _set_idf(partner, both)
    _install(partner, *_fit(partner, both, first["penalty"]))
    set_mix(partner, first.get("mix", 0.0))
