"""Seed ensembles: N models that differ only in their seed, averaged as one model.

``train.ensemble: N`` trains members with seeds ``seed, seed + 1, ..., seed + N - 1``
(:func:`member_configs`; member 0 is exactly the single model ``ensemble: 1`` trains) and
wraps them in :class:`Ensemble`, which has the interface of one model, so evaluation,
prediction, saving (:mod:`attnlib.persistence`: one safetensors file, keys prefixed
``members.<k>.``) and ONNX export (one graph) work on it unchanged.

Averaging is over *probabilities* (Lakshminarayanan et al. 2017), not logits; the output is
the log of the mean probability, which softmax (or, for one binary logit, sigmoid) maps
back to that mean, so code that reads logits keeps working. Forecasts are averaged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches
from attnlib.fitting import VAL_BATCH, train_metrics
from attnlib.models import build_model, loss_fn
from attnlib.models.mixture import mixture_logits
from attnlib.tasks import get_task
from attnlib.train import History, evaluate_loss


def member_configs(config: TrainConfig) -> list[TrainConfig]:
    """One training config per member: the same settings with seeds seed, seed + 1, ..."""
    return [config.model_copy(update={"seed": config.seed + k}) for k in range(config.ensemble)]


def heldout_model(
    model_cfg: ModelConfig, hists: list[History], fitted: Sequence[nn.Module] = ()
) -> nn.Module | None:
    """The early-stopped model(s) a refit started from (an Ensemble for several members),
    or None when no member was refitted (or its weights did not come back).

    ``fitted``: the members as trained, in order; a member whose refit was discarded
    (:func:`attnlib.fitting.build_and_fit`) is its own early-stopped model and joins as it is.
    Evaluate fits the temperature and the conformal thresholds on these models' validation
    predictions and applies them to the refitted model, which trained on validation: the
    protocol of scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` (calibrate on
    predictions of data the model did not see, then keep the model fitted on everything).
    """
    if not any(h.heldout_state is not None for h in hists):
        return None
    members = []
    for k, h in enumerate(hists):
        if h.heldout_state is None and (h.refit_epochs or k >= len(fitted)):
            return None  # refitted, but its start is lost: nothing out of sample
        member = build_model(model_cfg.model_copy(update={"input_init": ""}))
        member.load_state_dict(h.heldout_state or fitted[k].state_dict())
        members.append(member.eval())
    if len(members) == 1:
        return members[0]
    return Ensemble(members).eval()


def mean_probability_logits(outputs: Sequence[torch.Tensor], binary: bool) -> torch.Tensor:
    """The logits whose softmax (sigmoid if ``binary``) is the mean of the members'.

    Args:
        outputs: each member's logits, (..., K), or (...) one logit per row if binary.
    Returns:
        log of the mean probability (..., K); binary: the logit of the mean probability.
    """
    outputs = list(outputs)
    first = outputs[0]
    equal = torch.full((len(outputs),), -math.log(len(outputs)), dtype=first.dtype,
                       device=first.device)  # fmt: skip
    return mixture_logits(outputs, equal, binary)


class Ensemble(nn.Module):
    """Members of one architecture, called as one model.

    ``forward(x, lengths, return_attention=False)`` returns what a member returns, averaged
    by the task (:meth:`attnlib.tasks.base.Task.average`): for tasks with classes the log
    of the members' mean probabilities (binary: the logit of the mean probability), for
    regression the mean; the attention weights
    are the members' mean (each member's rows sum to 1 over real steps, so the mean's do).

    Args:
        members: models built from one :class:`~attnlib.config.ModelConfig`.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        configs = {m.config.model_dump_json() for m in members}
        if len(configs) > 1:
            raise ValueError("ensemble members must share one model config (only seeds differ)")
        self.members = nn.ModuleList(members)
        self.config = members[0].config

    def __len__(self) -> int:
        return len(self.members)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, return_attention: bool = False):
        outs, weights = zip(
            *(m(x, lengths, return_attention=True) for m in self.members), strict=True
        )
        y = get_task(self.config.task).average(self.config, list(outs))  # as one member's
        if not return_attention:
            return y
        return y, torch.stack(weights).mean(0)  # (B, T) or (B, T, T)


def ensemble_metrics(model_cfg, ensemble: Ensemble, histories: list[History], val,
                     heldout: nn.Module | None = None,
                     held: list | None = None) -> dict:  # fmt: skip
    """train.json of an ensemble: its own val loss (the members' averaged probabilities;
    after a refit, of ``heldout``, the early-stopped members (:func:`heldout_model`), as a
    single model reports it: the refitted ones trained on val), and each member's metrics
    under ``members``. ``held``: each member's own held-out data (rotated folds,
    :mod:`attnlib.folds`); the loss is then each early-stopped member's on its own fold,
    weighted by the folds' sizes (out of sample: member k >= 1 trained on val)."""
    scored, loss = heldout or ensemble, loss_fn(model_cfg)  # no refit kept: the members
    if held is not None:
        pairs = list(zip(scored.members, held, strict=True))
        total = sum(len(d) for _, d in pairs)
        val_loss = sum(evaluate_loss(m, Batches(d, VAL_BATCH), loss, "cpu") * len(d)
                       for m, d in pairs) / total  # fmt: skip
    else:
        val_loss = evaluate_loss(scored, Batches(val, VAL_BATCH), loss, "cpu")
    hist = History(best_val_loss=val_loss)  # what the task derives its entries from
    return {
        "best_val_loss": val_loss,
        "ensemble": len(ensemble),
        "seconds": round(sum(h.seconds for h in histories), 2),
        "members": [train_metrics(model_cfg, h) for h in histories],
        **({"linear_base": histories[0].linear_base} if histories[0].linear_base else {}),
        **get_task(model_cfg.task).train_metrics(hist),
    }
