"""The bf16 training switch: on only where the CPU has bf16 natively (or when asked), and
training in bf16 reaches about the validation loss of fp32."""

import logging

import pytest
import torch

import attnlib.precision as P
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.models import build_model, loss_fn
from attnlib.precision import training_autocast
from attnlib.train import fit, seed_everything

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize(
    ("precision", "native", "expected"),
    [
        ("auto", True, (True, torch.bfloat16)),
        ("auto", False, (False, torch.float32)),
        ("fp32", True, (False, torch.float32)),
        ("bf16", True, (True, torch.bfloat16)),
    ],
)
def test_cpu_switch_follows_the_detector(monkeypatch, precision, native, expected):
    monkeypatch.setattr(P, "cpu_has_native_bf16", lambda: native)
    assert training_autocast(precision, CPU, amp=True) == expected


def test_bf16_asked_for_without_native_support_warns(monkeypatch, caplog):
    monkeypatch.setattr(P, "cpu_has_native_bf16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="attnlib.precision"):
        assert training_autocast("bf16", CPU, amp=False) == (True, torch.bfloat16)
    assert "emulated" in caplog.text


def test_cuda_keeps_its_own_amp_switch(monkeypatch):
    monkeypatch.setattr(P, "cpu_has_native_bf16", lambda: True)
    assert training_autocast("auto", CUDA, amp=True) == (True, torch.float16)
    assert training_autocast("bf16", CUDA, amp=False)[0] is False


def test_detector_reads_torch_probes(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert P.cpu_has_native_bf16() is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert P.cpu_has_native_bf16() is True


def _seqs(seed, n):
    g = torch.Generator().manual_seed(seed)
    return [
        [2 + (i + 3 * j) % 10 for j in range(int(torch.randint(4, 14, (1,), generator=g)))]
        for i in range(n)
    ]


class Recorder(torch.nn.Module):
    """Wraps a model; records the autocast state of every training forward."""

    def __init__(self, model):
        super().__init__()
        self.model, self.seen = model, []

    def forward(self, x, lengths):
        if self.training:
            self.seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu"))
        return self.model(x, lengths)


def train(precision, monkeypatch, native):
    monkeypatch.setattr(P, "cpu_has_native_bf16", lambda: native)
    seed_everything(0)
    cfg = ModelConfig(vocab_size=12, embedding_dim=16, hidden_dim=16, attention="dot")
    model = Recorder(build_model(cfg))
    tc = TrainConfig(epochs=8, batch_size=8, lr=1e-2, device="cpu", progress=False,
                     precision=precision)  # fmt: skip
    train_b = Batches(SequenceData.next_state(_seqs(1, 64)), 8, shuffle=True, bucket=True)
    val_b = Batches(SequenceData.next_state(_seqs(2, 24)), 8)
    hist = fit(model, train_b, val_b, tc, loss_fn=loss_fn(cfg))
    return hist, model


def test_fit_trains_in_bf16_only_where_switched_on_and_as_well(monkeypatch):
    off, m_off = train("auto", monkeypatch, native=False)
    fp32, _ = train("fp32", monkeypatch, native=True)
    on, m_on = train("auto", monkeypatch, native=True)
    assert set(m_off.seen) == {False} and set(m_on.seen) == {torch.bfloat16}
    assert off.val_loss == fp32.val_loss  # off is exactly fp32
    assert on.val_loss != fp32.val_loss  # the switch changed the arithmetic ...
    assert on.best_val_loss < 0.5 * off.val_loss[0]  # ... and it learnt
    assert on.best_val_loss == pytest.approx(fp32.best_val_loss, rel=0.1)  # ... about as well
