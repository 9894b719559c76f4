"""Training throughput, ours vs the reference, and the LSTM's share of the matmul peak.

Ours is the product path: :class:`SequenceData` built once, length-bucketed shuffled
:class:`Batches`, :func:`build_model` and :func:`fit`. The reference is
``bench/reference.py``. Both train the same number of epochs with Adam (lr 3e-3, clip
1.0) on the same split; their epochs are interleaved (one of ours, then one of the
reference's, from a ``fit`` callback) so that load from other processes hits both alike.

Throughput counts *real* (non-padding) input tokens per second of training loop
(validation excluded). The reference trains with our threads (same-threads speed and
the validation losses) and is also timed with torch's default threads (see
:func:`train_both`).
"""

from __future__ import annotations

import copy
import math
import time

import reference as ref
import torch
from common import DEFAULT_THREADS, Split, matmul_peak
from torch import nn

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.models import build_model, loss_fn
from attnlib.models.encoders import LSTMEncoder, segment_plan
from attnlib.train import fit

BATCH = 64


def sizes(split: Split) -> ModelConfig:
    """Our model at the reference's sizes."""
    if split.num_classes:  # Attention-BiLSTM classifier
        return ModelConfig(name="bilstm_attention", task="classify", vocab_size=split.vocab_size,
                           embedding_dim=128, hidden_dim=128, num_classes=split.num_classes,
                           attention="additive", query="learned", dropout=0.0)  # fmt: skip
    return ModelConfig(name="lstm_attention", task="next_state", vocab_size=split.vocab_size,
                       embedding_dim=128, hidden_dim=256, num_layers=2, attention="general",
                       dropout=0.0)  # fmt: skip


def reference_model(split: Split) -> tuple[nn.Module, object, object]:
    """(model, collate, loss) of the reference for this data set."""
    if split.num_classes:
        model = ref.AttentionBiLSTM(split.vocab_size, 128, 128, split.num_classes)
        return model, ref.collate_classify, ref.classify_loss
    model = ref.SeqLabLSTM(split.vocab_size, 128, 256, 2)
    return model, ref.collate_next_state, ref.next_state_loss


def our_data(split: Split) -> tuple[SequenceData, SequenceData]:
    if split.num_classes:
        return (SequenceData.classify_tokens(split.train_x, split.train_y),
                SequenceData.classify_tokens(split.val_x, split.val_y))  # fmt: skip
    return SequenceData.next_state(split.train_x), SequenceData.next_state(split.val_x)


class TimedBatches:
    """Batches that add the wall time of each full pass (the training loop) to ``seconds``."""

    def __init__(self, batches: Batches):
        self.batches, self.data, self.seconds = batches, batches.data, 0.0

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        t0 = time.perf_counter()
        yield from self.batches
        self.seconds += time.perf_counter() - t0


def padding_share(shapes: list[tuple[int, int]], real: int) -> float:
    """Share of the computed (B x T) positions that are padding."""
    return 1 - real / sum(b * t for b, t in shapes)


def train_both(split: Split, epochs: int, threads: int, slice_seconds: float = 6.0) -> dict:
    """Train ours and the reference ``epochs`` epochs each, interleaved; speeds and losses.

    The reference trains with our thread count, so the losses and the same-threads speed
    compare like with like. After every other epoch a throw-away copy of it also trains
    for ``slice_seconds`` with torch's default threads: the reference as users run it.

    Args:
        split: the data.
        epochs: the fixed budget, in epochs, for each.
        threads: our intra-op threads.
        slice_seconds: time per slice spent measuring the reference at default threads.
    """
    cfg = sizes(split)
    train, val = our_data(split)
    torch.manual_seed(0)
    ours = build_model(cfg)
    tc = TrainConfig(epochs=epochs, batch_size=BATCH, lr=3e-3, grad_clip=1.0,
                     patience=epochs + 1, device="cpu", progress=False, seed=0)  # fmt: skip
    train_batches = TimedBatches(Batches(train, BATCH, shuffle=True, bucket=True, seed=0))
    val_batches = Batches(val, BATCH, bucket=True)

    torch.manual_seed(0)
    ref_net, collate, ref_loss = reference_model(split)
    per_step = not split.num_classes
    max_len = ref.MAX_LEN if split.num_classes else None
    ref_train = ref.loader(ref.ListDataset(split.train_x, split.train_y or split.train_x, max_len),
                           collate, BATCH, shuffle=True)  # fmt: skip
    ref_val = ref.loader(ref.ListDataset(split.val_x, split.val_y or split.val_x, max_len),
                         collate, BATCH, shuffle=False)  # fmt: skip
    trainer = ref.Trainer(ref_net, ref_train, ref_loss, lr=3e-3, clip=1.0)
    ref_val_losses: list[float] = []
    default = {"tokens": 0, "seconds": 0.0}

    def reference_epoch(epoch: int, logs: dict) -> None:
        trainer.epoch()
        ref_val_losses.append(trainer.evaluate(ref_val, per_step))
        if DEFAULT_THREADS != threads and epoch % 2 == 0:
            torch.set_num_threads(DEFAULT_THREADS)
            tokens, seconds = reference_slice(trainer, slice_seconds, per_step)
            default["tokens"] += tokens
            default["seconds"] += seconds
            torch.set_num_threads(threads)

    torch.set_num_threads(threads)
    hist = fit(ours, train_batches, val_batches, tc, loss_fn=loss_fn(cfg),
               callbacks=[reference_epoch])  # fmt: skip

    tokens = split.real_tokens("train")
    ours_tps = tokens * epochs / train_batches.seconds
    same_tps = tokens * epochs / trainer.seconds
    default_tps = default["tokens"] / default["seconds"] if default["seconds"] else same_tps
    ours_batches = list(Batches(train, BATCH, shuffle=True, bucket=True))
    ours_shapes = [tuple(b.x.shape[:2]) for b in ours_batches]
    plans = [segment_plan(sorted(b.lengths.tolist(), reverse=True)) for b in ours_batches]
    lstm_steps = sum(rows * (t1 - t0) for plan in plans for t0, t1, rows in plan)
    ref_shapes = [tuple(x.shape[:2]) for x, _ in ref_train]
    best_ref = min(ref_val_losses)
    return {
        "data": split.name,
        "model": cfg.name,
        "sizes": {
            "vocab": cfg.vocab_size,
            "embedding": 128,
            "hidden": cfg.hidden_dim,
            "layers": cfg.num_layers,
            "batch": BATCH,
        },  # fmt: skip
        "epochs_each": epochs,
        "real_tokens_per_epoch": tokens,
        "threads_ours": threads,
        "threads_reference_default": DEFAULT_THREADS,
        "padding_share_ours": padding_share(ours_shapes, tokens),
        "padding_share_reference": padding_share(ref_shapes, tokens),
        "lstm_padding_share_ours": 1 - tokens / lstm_steps,  # after the encoder's segments
        "train_tokens_per_s_ours": ours_tps,
        "train_tokens_per_s_reference": default_tps,
        "train_tokens_per_s_reference_same_threads": same_tps,
        "train_speedup_vs_reference": ours_tps / default_tps,
        "train_speedup_vs_reference_same_threads": ours_tps / same_tps,
        "val_loss_ours": hist.best_val_loss,
        "val_loss_reference": best_ref,
        "val_loss_ours_minus_reference": hist.best_val_loss - best_ref,
        "val_loss_equal_or_better": hist.best_val_loss <= best_ref,
        "val_loss_by_epoch_ours": hist.val_loss,
        "val_loss_by_epoch_reference": ref_val_losses,
    }


def reference_slice(trainer: ref.Trainer, seconds: float, per_step: bool) -> tuple[int, float]:
    """Train a copy of the reference for about ``seconds`` (at least one batch).

    Returns:
        (real tokens, seconds) of the batches it ran.
    """
    model = copy.deepcopy(trainer.model).train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    tokens, t0 = 0, time.perf_counter()
    for x, y in trainer.train:
        loss = trainer.loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), trainer.clip)
        opt.step()
        loss.item()
        tokens += int((x != ref.PAD).sum())
        if time.perf_counter() - t0 >= seconds:
            break
    return tokens, time.perf_counter() - t0


# --- the LSTM's share of the matmul peak --------------------------------------------------


def lstm_flops_per_token(cfg: ModelConfig) -> float:
    """Forward + backward FLOPs of the LSTM cells per real token: 3 x 2 x 4H(E_in + H)."""
    H, dirs = cfg.hidden_dim, 2 if cfg.bidirectional else 1
    total = 0.0
    for layer in range(cfg.num_layers):
        e_in = cfg.embedding_dim if layer == 0 else H * dirs
        total += dirs * 3 * 2 * 4 * H * (e_in + H)
    return total


def _lstm_pass(encoder: nn.Module, batches: list, ours: bool) -> list[float]:
    """Seconds for forward + backward of the encoder, per batch."""
    times = []
    for x, lengths in batches:
        t0 = time.perf_counter()
        out = encoder(x, lengths)[0] if ours else encoder(x)[0]
        out.sum().backward()
        times.append(time.perf_counter() - t0)
    return times


def lstm_share(split: Split, threads: int, rounds: int = 3) -> dict:
    """LSTM FLOPs per real token x tokens / time, over the measured fp32 matmul peak.

    Times our encoder (the model's own :class:`LSTMEncoder`, input gradients included as
    in training) over one epoch of bucketed batches, and the reference's ``nn.LSTM``
    over its randomly padded batches, both with our threads. Peak and LSTM are measured
    in alternation, ``rounds`` times; each batch keeps its fastest time and the peak its
    fastest matmul, as load from other processes can only slow things down.
    """
    cfg = sizes(split)
    train, _ = our_data(split)
    E, H = cfg.embedding_dim, cfg.hidden_dim
    torch.manual_seed(0)
    encoder = LSTMEncoder(in_dim=E, hidden_dim=H, num_layers=cfg.num_layers,
                          bidirectional=cfg.bidirectional, dropout=0.0)  # fmt: skip
    reference = nn.LSTM(E, H, num_layers=cfg.num_layers, batch_first=True,
                        bidirectional=cfg.bidirectional)  # fmt: skip

    def inputs(shape):
        return torch.randn(*shape, E, requires_grad=True)

    ours_batches = [(inputs(b.x.shape[:2]), b.lengths)
                    for b in Batches(train, BATCH, shuffle=True, bucket=True)]  # fmt: skip
    ref_lengths = torch.tensor([len(s) - (0 if split.num_classes else 1) for s in split.train_x])
    order = torch.randperm(len(ref_lengths), generator=torch.Generator().manual_seed(0))
    ref_batches = [(inputs((len(i), int(ref_lengths[i].max()))), None) for i in order.split(BATCH)]
    tokens = int(ref_lengths.sum())
    flops = lstm_flops_per_token(cfg) * tokens
    peaks: dict[int, float] = {}
    best = {"ours": [math.inf] * len(ours_batches), "reference": [math.inf] * len(ref_batches)}
    for _ in range(rounds):
        for n, g in matmul_peak(seconds=0.5)["by_threads"].items():
            peaks[n] = max(peaks.get(n, 0.0), g)
        torch.set_num_threads(threads)  # both at our threads: this compares kernels and padding
        for name, enc, batches in (("ours", encoder, ours_batches),
                                   ("reference", reference, ref_batches)):  # fmt: skip
            times = _lstm_pass(enc, batches, name == "ours")
            best[name] = [min(a, b) for a, b in zip(best[name], times, strict=True)]
    peak = max(peaks.values())
    ours_gflops = flops / sum(best["ours"]) / 1e9
    ref_gflops = flops / sum(best["reference"]) / 1e9
    return {
        "data": split.name,
        "lstm": {
            "embedding": E,
            "hidden": H,
            "layers": cfg.num_layers,
            "bidirectional": cfg.bidirectional,
            "batch": BATCH,
        },  # fmt: skip
        "lstm_flops_per_real_token": lstm_flops_per_token(cfg),
        "matmul_peak_gflops": peak,
        "matmul_peak_gflops_by_threads": peaks,
        "lstm_gflops_ours": ours_gflops,
        "lstm_gflops_reference": ref_gflops,
        "lstm_share_of_matmul_peak_ours": ours_gflops / peak,
        "lstm_share_of_matmul_peak_reference": ref_gflops / peak,
        "lstm_share_of_peak_at_same_threads_ours": ours_gflops / peaks[threads],
        "lstm_speedup_vs_reference": ours_gflops / ref_gflops,
    }
