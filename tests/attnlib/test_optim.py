"""The training recipe: AdamW's decoupled decay, lr schedules, label smoothing."""

import math

import pytest
import torch
from torch import nn

from attnlib.config import ModelConfig, TrainConfig
from attnlib.errors import ConfigError
from attnlib.models import loss_fn
from attnlib.optim import Schedule, build_optimizer, cosine_with_warmup


def one_param(value=2.0):
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def lrs(kind, total, lr=0.1, warmup=0.2, steps=None):
    opt = build_optimizer(one_param(), TrainConfig(lr=lr, schedule=kind, warmup=warmup))
    schedule = Schedule(opt, TrainConfig(lr=lr, schedule=kind, warmup=warmup), total)
    out = []
    for _ in range(steps or total):
        out.append(schedule.lr)  # the lr this batch's step uses
        opt.step()
        schedule.after_batch()
    return out


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adamw_decays_weights_decoupled_from_the_gradient(optimizer):
    model = one_param(2.0)
    cfg = TrainConfig(optimizer=optimizer, lr=0.1, weight_decay=0.5)
    opt = build_optimizer(model, cfg)
    model.weight.grad = torch.zeros_like(model.weight)  # a flat loss: only the decay acts
    opt.step()
    w = model.weight.item()
    if optimizer == "adamw":  # w <- w (1 - lr wd), whatever Adam's moments say
        assert w == pytest.approx(2.0 * (1 - 0.1 * 0.5), abs=1e-6)
    else:  # L2: decay enters the gradient and gets Adam's normalised step of ~lr
        assert w == pytest.approx(2.0 - 0.1, abs=1e-4)


def test_cosine_warms_up_linearly_then_decays_to_zero():
    got = lrs("cosine", total=50, lr=0.1, warmup=0.2)  # 10 warm-up steps
    want = [0.1 * cosine_with_warmup(s, 50, 10) for s in range(50)]
    assert got == pytest.approx(want, abs=1e-9)
    assert got[:10] == pytest.approx([0.1 * (s + 1) / 10 for s in range(10)])
    assert max(got) == pytest.approx(0.1) and got.index(max(got)) == 9
    assert got[-1] < 0.1 * 0.01 and all(a >= b for a, b in zip(got[9:], got[10:], strict=False))


def test_onecycle_rises_to_lr_then_anneals():
    got = lrs("onecycle", total=100, lr=0.1, warmup=0.3)
    assert got[0] == pytest.approx(0.1 / 25)  # torch's default div_factor
    peak = got.index(max(got))
    assert max(got) == pytest.approx(0.1, rel=1e-3) and 27 <= peak <= 30
    assert got[-1] < 0.1 / 1000
    assert all(a <= b for a, b in zip(got[:peak], got[1 : peak + 1], strict=True))


def test_plateau_halves_lr_after_patience_without_improvement():
    opt = build_optimizer(one_param(), TrainConfig(lr=0.1))
    schedule = Schedule(opt, TrainConfig(lr=0.1, schedule="plateau", patience=4), 10)
    seen = []
    for val in [1.0, 0.5, 0.6, 0.7, 0.8, 0.9]:  # patience 4 -> 2 bad epochs tolerated
        schedule.after_batch()  # per-batch steps leave the plateau schedule alone
        schedule.after_epoch(val)
        seen.append(schedule.lr)
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05])


def test_none_keeps_lr_constant():
    assert lrs("none", total=20) == [0.1] * 20


def test_label_smoothing_gives_the_smoothed_cross_entropy():
    torch.manual_seed(0)
    eps, K = 0.2, 4
    cfg = ModelConfig(task="classify", vocab_size=9, num_classes=K)
    logits, y = torch.randn(6, K), torch.tensor([0, 1, 2, 3, 1, 0])
    target = (1 - eps) * nn.functional.one_hot(y, K) + eps / K
    want = -(target * logits.log_softmax(-1)).sum(-1).mean()
    assert loss_fn(cfg, TrainConfig(label_smoothing=eps))(logits, y).item() == pytest.approx(
        want.item()
    )
    assert loss_fn(cfg)(logits, y).item() != pytest.approx(want.item())  # 0 = plain CE


def test_label_smoothing_binary_smooths_the_targets():
    eps = 0.1
    cfg = ModelConfig(task="classify", vocab_size=9, num_classes=2)
    logit, y = torch.tensor([3.0, -2.0, 0.5]), torch.tensor([1, 0, 1])
    p = torch.sigmoid(logit)
    t = torch.tensor([1 - eps / 2, eps / 2, 1 - eps / 2])
    want = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
    assert loss_fn(cfg, TrainConfig(label_smoothing=eps))(logit, y).item() == pytest.approx(
        want.item()
    )
    # the smoothed optimum is a finite logit: log((1 - eps/2) / (eps/2))
    z = torch.tensor([math.log((1 - eps / 2) / (eps / 2))], requires_grad=True)
    loss_fn(cfg, TrainConfig(label_smoothing=eps))(z, torch.tensor([1])).backward()
    assert abs(z.grad.item()) < 1e-6


def test_label_smoothing_is_refused_outside_classification():
    with pytest.raises(ConfigError, match="label_smoothing is for classify, not next_state"):
        loss_fn(ModelConfig(vocab_size=9), TrainConfig(label_smoothing=0.1))
