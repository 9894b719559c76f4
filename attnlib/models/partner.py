"""A model's fixed partner, fitted before the network trains, whose probabilities are
mixed with the network's after it.

The partners (:class:`Partner` subclasses): for classifiers a logistic regression
(:class:`RegressionPartner`) on n-grams of tokens (:mod:`attnlib.models.ngram_partner`) or
on random convolution kernels over numeric series (:mod:`attnlib.models.kernel_partner`):
scikit-learn's ``LogisticRegression`` (L-BFGS) on the training split, its penalty the one
of the partner's ``penalties`` with the lowest validation loss; for next-state models the
Kneser-Ney n-gram model of the training split (:mod:`attnlib.models.kn_partner`), its order
chosen on validation. The network then trains as it would alone (in training mode the
model is the network only); after it the mixing weight ``w`` of :data:`MIXES` with the
lowest validation loss of ``(1 - w) p_net + w p_partner`` is kept (:func:`mix_partner`; 0
drops the partner, and the model is the network alone). Forward computes the partner's
output with the same code the fit read it from, so the torch model (and its ONNX graph)
reproduces the fitted partner.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.data import Batches, SequenceData
from attnlib.models.mixture import mixture_logits
from attnlib.tasks import get_task
from attnlib.vocab import PAD_ID

MIXES = tuple(k / 10 for k in range(10))  # the partner's weights tried: 0, 0.1, ..., 0.9
# The weight where validation cannot choose (train.select: train, a few series): a network
# fitted to the last series scores a loss of ~0 on the dozen it holds out, and the weight
# chosen there is noise. Half and half is model averaging's prior of two families.
EQUAL = 0.5
ROWS = 512  # sequences per chunk when the features of a whole split are computed


class Partner(nn.Module):
    """A fixed model whose probabilities are mixed with the network's: ``forward`` gives its
    logits (or log-probabilities) shaped as the network's output.

    ``mix`` is the partner's weight in :meth:`combine` (0 until :func:`mix_partner` sets
    it). Subclasses give ``forward``, :meth:`fitted`, :meth:`fit` (its tables from the
    training split, returning its report) and :meth:`refit`.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.binary = cfg.num_classes == 2
        self.register_buffer("mix", torch.zeros(()))
        self.active = False  # mix > 0, kept as a Python bool: the graph has no branch on it
        self.register_load_state_dict_post_hook(Partner._loaded)

    def sync(self) -> None:
        """Read the Python-side state from the buffers (after loading or setting them)."""
        self.active = bool(self.mix > 0)

    def _loaded(self, _incompatible_keys) -> None:
        self.sync()

    def fitted(self) -> bool:
        raise NotImplementedError

    def fit(self, train: SequenceData, val: SequenceData, nll) -> dict:
        """Fit on ``train`` (``val`` and the loss ``nll`` choose its setting); the report."""
        raise NotImplementedError

    def refit(self, both: SequenceData, first: dict) -> None:
        """Fit again on ``both`` (train + val) with the setting ``first`` (the report) chose."""
        raise NotImplementedError

    def combine(self, y: torch.Tensor, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The network's logits ``y`` mixed with the partner's at weight ``mix`` (evaluation
        only: in training, and with ``mix`` 0, ``y`` unchanged)."""
        if self.training or not self.active:
            return y
        return self.mixed(y, self(x, lengths))

    @contextmanager
    def unmixed(self) -> Iterator[Partner]:
        """Inside the block the model's forward returns the network alone; the caller mixes
        the rows it keeps with :meth:`mixed` (cheaper than mixing every step of a next-state
        model when one step is read)."""
        active, self.active = self.active, False
        try:
            yield self
        finally:
            self.active = active

    def mixed(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``y`` mixed with the partner's output ``z`` for the same rows (as :meth:`combine`)."""
        if self.training or not self.active:
            return y
        log_w = torch.stack([torch.log1p(-self.mix), torch.log(self.mix)]).to(y.dtype)
        return mixture_logits([y, z.to(y.dtype)], log_w, self.binary)


class RegressionPartner(Partner):
    """(B, T[, C]) input and (B,) lengths -> (B,) binary or (B, K) logits of a logistic
    regression on ``features`` rows of features.

    Its tables are buffers (saved with the model, never trained by the optimiser).
    Subclasses give ``penalties`` (scikit-learn's C, tried strongest first), :meth:`prepare`
    (the tables read from the training split, returning its features), :meth:`matrix` and
    ``forward``.
    """

    penalties: tuple[float, ...] = ()

    def __init__(self, cfg: ModelConfig, features: int):
        super().__init__(cfg)
        out = 1 if self.binary else cfg.num_classes
        self.register_buffer("weight", torch.zeros(features, out))
        self.register_buffer("bias", torch.zeros(out))

    def fitted(self) -> bool:
        return bool(self.weight.any() or self.bias.any())

    def prepare(self, train: SequenceData):
        """Set the feature tables that come from the training split (before a regression);
        returns its features as :meth:`matrix` would."""
        raise NotImplementedError

    def matrix(self, data: SequenceData):
        """The split's features, (n, F): a scipy CSR matrix or a NumPy array."""
        raise NotImplementedError

    def fit(self, train: SequenceData, val: SequenceData, nll) -> dict:
        """The regression on ``train``, its penalty the one of ``penalties`` with the lowest
        ``nll`` on ``val`` (the sweep stops where the loss first rises: on 37 surname
        nationalities the n-gram fits took 47, 62 and 80 s, the loss fell, then rose).
        ``{"penalty": None, "why"}`` when the training split holds one class (nothing to
        regress; the partner stays unused)."""
        if len(torch.unique(train.y)) < 2:
            return {"penalty": None, "why": "one class in the training data: no partner"}
        loss, c, fitted = self.sweep(self.prepare(train), train, val, nll)
        install(self, *fitted)
        return {"penalty": c, "partner_val_loss": round(loss, 6)}

    def sweep(self, x, train: SequenceData, val: SequenceData, nll) -> tuple:
        """(validation loss, penalty, (weights, bias)) of the penalty with the lowest loss
        on ``val``, regressions on ``x`` (``train``'s features, as :meth:`matrix` makes them
        with the partner's tables as they stand)."""
        best = None
        for c in self.penalties:  # weakest penalty last, and the slowest fit: stop at a rise
            fitted = _fit(self, train, c, x)
            install(self, *fitted)
            loss = float(nll(split_logits(self, val), val.y))
            if best is not None and loss >= best[0]:
                break
            best = (loss, c, fitted)
        return best

    def refit(self, both: SequenceData, first: dict) -> None:
        if first.get("penalty"):
            install(self, *_fit(self, both, first["penalty"], self.prepare(both)))


def regression(x, y: np.ndarray, penalty: float, outputs: int):
    """scikit-learn's logistic regression on (x, y), on the columns the rows use (the others
    get weight 0). Returns (weights (F, O), bias (O,)) for ``outputs`` O: 1 (a binary
    model's logit) or K classes, where a class the rows lack gets bias -30; with two classes
    present scikit-learn fits one logit, the second's log-odds over the first.
    One BLAS thread: ensemble members fit side by side, and on 2 cores three TREC-6 members
    with a thread pool each took 77-80 s for their partners, 9 s with one thread each."""
    from scipy.sparse import issparse
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    used = np.unique(x.indices) if issparse(x) else np.arange(x.shape[1])
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


def install(partner: Partner, w: np.ndarray, b: np.ndarray) -> None:
    partner.weight.copy_(torch.from_numpy(np.asarray(w)).to(partner.weight))
    partner.bias.copy_(torch.from_numpy(np.asarray(b)).to(partner.bias))


def split_logits(partner: Partner, data: SequenceData) -> torch.Tensor:
    """The partner's logits of every sequence of ``data``, in order, on the CPU."""
    dev = partner.weight.device
    return torch.cat([partner(data.x[i : i + ROWS].to(dev), data.lengths[i : i + ROWS].to(dev))
                      for i in range(0, len(data), ROWS)]).cpu()  # fmt: skip


def _plain_loss(model: nn.Module):
    """The task's loss without smoothing (what early stopping reads): the partner's C and
    weight are chosen by the loss the network's epoch was."""
    return get_task(model.config.task).loss(model.config)


def _fit(partner: Partner, data: SequenceData, penalty: float, x=None) -> tuple:
    """The regression of ``data``'s labels on its features (``x``: already made)."""
    x = partner.matrix(data) if x is None else x
    return regression(x, data.y.numpy(), penalty, partner.weight.shape[1])


@torch.no_grad()
def fit_partner(model: nn.Module, train: SequenceData, val: SequenceData) -> dict:
    """Fit ``model``'s partner on ``train``, its setting chosen on ``val``
    (:meth:`Partner.fit`); the mixing weight stays 0 until :func:`mix_partner`.

    Returns the partner's report (a regression's ``penalty``, a Kneser-Ney model's
    ``order``; ``partner_val_loss``, its own validation loss) with ``partner_seconds``, the
    fit's wall time; ``{"penalty": None, "why"}`` when there is nothing to fit; ``{}`` for
    a model without a partner.
    """
    partner = getattr(model, "partner", None)
    if partner is None:
        return {}
    t0 = time.perf_counter()
    report = partner.fit(train, val, _plain_loss(model))
    if "why" in report:
        return report
    return {**report, "partner_seconds": round(time.perf_counter() - t0, 2)}


@torch.no_grad()
def mix_partner(model: nn.Module, val: SequenceData, equal: bool = False) -> dict:
    """Set the partner's weight to the one of :data:`MIXES` with the lowest validation loss
    of the mixed model (``model`` as trained, the network's weights unchanged); with
    ``equal`` (the validation split cannot choose) to :data:`EQUAL`.

    Returns ``{"mix", "network_val_loss", "mixed_val_loss"}`` (and ``"mix_rule"`` with
    ``equal``), or ``{}`` without a partner.
    """
    partner = getattr(model, "partner", None)
    if partner is None or not partner.fitted():  # fit_partner found one class
        return {}
    set_mix(partner, 0.0)
    z_net, z_part, y = _val_outputs(model, partner, val)
    losses, nll = {}, _plain_loss(model)
    for w in MIXES:
        log_w = torch.log(torch.tensor([1 - w, w]))
        losses[w] = float(nll(mixture_logits([z_net, z_part], log_w, partner.binary), y))
    best = EQUAL if equal else min(MIXES, key=losses.get)
    set_mix(partner, best)
    rule = {"mix_rule": "equal: a validation split of a few series cannot choose"} if equal else {}
    return {"mix": best, "network_val_loss": round(losses[0.0], 6),
            "mixed_val_loss": round(losses[best], 6), **rule}  # fmt: skip


def _val_outputs(model: nn.Module, partner: Partner, val: SequenceData):
    """(network's outputs, partner's, targets) on ``val`` in eval mode with the partner's
    weight 0 (the network alone), one row per prediction: a next-state model's real
    positions (its outputs are per step, (B, T, V), and batches differ in T)."""
    model.eval()
    nets, parts, ys = [], [], []
    dev = partner.mix.device
    for b in Batches(val, ROWS):  # in order
        x, n = b.x.to(dev), b.lengths.to(dev)
        z, p, y = model(x, n).float().cpu(), partner(x, n).float().cpu(), b.y
        if z.dim() == 3:
            keep = y != PAD_ID
            z, p, y = z[keep], p[keep], y[keep]
        nets.append(z)
        parts.append(p)
        ys.append(y)
    return torch.cat(nets), torch.cat(parts), torch.cat(ys)


def set_mix(partner: Partner, weight: float) -> None:
    partner.mix.fill_(weight)
    partner.sync()


@torch.no_grad()
def refit_partner(model: nn.Module, both: SequenceData, first: dict) -> None:
    """A refit's partner before its network trains: the first fit's penalty (``first``, its
    report), its tables and regression fitted on ``both`` (train + val); its weight stays 0
    (:func:`mix_again`), so the refit's epochs evaluate the network alone, as the first
    fit's did (a series' kernel features per epoch would cost more than its training)."""
    partner = getattr(model, "partner", None)
    if partner is not None:
        partner.refit(both, first)


def mix_again(model: nn.Module, first: dict) -> nn.Module:
    """A refitted model with its partner's weight the first fit chose (``first``)."""
    partner = getattr(model, "partner", None)
    if partner is not None and partner.fitted():
        set_mix(partner, first.get("mix", 0.0))
    return model
