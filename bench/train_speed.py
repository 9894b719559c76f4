"""Training throughput, ours vs the lean reference, and the LSTM's share of the matmul peak.

Ours is the product path: :class:`SequenceData` built once, length-bucketed shuffled
:class:`Batches`, :func:`build_model` and :func:`fit` at its defaults (lr 3e-3, clip 1.0).
The reference is ``bench/reference.py``: the lean seed-style loop (tensorised once,
``pad_sequence`` per shuffled batch, Adam 1e-3), a model of the same cost. Both train the
same number of epochs on the same split; their epochs are interleaved (one of ours, then
one of the reference's, from a ``fit`` callback) so that load from other processes hits
both alike.

Throughput counts *real* (non-padding) input tokens per second of training loop
(validation excluded). The reference trains with our threads (same-threads speed and
the validation losses) and is also timed with torch's default threads (see
:func:`train_both`). The earlier DataLoader reference (``bench/reference_dataloader.py``)
is timed in slices beside it, as a second row.
"""

from __future__ import annotations

import copy
import math
import time

import reference as ref
import reference_dataloader as old_ref
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
    """Our model at the reference's sizes and cost (dot scorers, see ``reference.py``)."""
    if split.num_classes:  # Attention-BiLSTM classifier
        return ModelConfig(name="bilstm_attention", task="classify", vocab_size=split.vocab_size,
                           embedding_dim=128, hidden_dim=128, num_classes=split.num_classes,
                           attention="dot", query="learned", dropout=0.0)  # fmt: skip
    return ModelConfig(name="lstm_attention", task="next_state", vocab_size=split.vocab_size,
                       embedding_dim=128, hidden_dim=256, num_layers=2, attention="dot",
                       dropout=0.0)  # fmt: skip


def default_model(split: Split, weight: float = 0.3) -> nn.Module:
    """Our model at those sizes with the partner the defaults add (``train.linear_base:
    auto``: TF-IDF n-grams for token classification, Kneser-Ney for next-state), fitted on
    the training split and mixed in at ``weight`` (any weight > 0 costs the same), in eval
    mode. Its network is freshly initialised, as for every speed figure."""
    from attnlib.models.partner import fit_partner, set_mix

    torch.manual_seed(0)
    model = build_model(sizes(split).model_copy(update={"linear_base": True}))
    if split.num_classes:
        train = SequenceData.classify_tokens(split.train_x, split.train_y)
        val = SequenceData.classify_tokens(split.val_x, split.val_y)
    else:
        train, val = SequenceData.next_state(split.train_x), SequenceData.next_state(split.val_x)
    fit_partner(model, train, val)
    set_mix(model.partner, weight)
    return model.eval()


def reference_model(split: Split) -> tuple[nn.Module, object]:
    """(model, loss) of the lean reference for this data set."""
    if split.num_classes:
        return ref.SeedBiLSTM(split.vocab_size, 128, 128, split.num_classes), ref.classify_loss
    return ref.SeedNextState(split.vocab_size, 128, 256, 2), ref.next_state_loss


def reference_data(split: Split, part: str = "train"):
    x = split.train_x if part == "train" else split.val_x
    y = split.train_y if part == "train" else split.val_y
    if split.num_classes:
        return ref.tensorise(x, y, ref.MAX_LEN)
    return ref.tensorise(x, None)


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


@torch.no_grad()
def accuracy(model: nn.Module, batches: Batches, per_step: bool) -> float:
    """Share of real predictions (next-state: real next tokens) that are right."""
    model.eval()
    right = count = 0
    for b in batches:
        out = model(b.x, b.lengths)
        if per_step:
            real = b.y != 0
            right += int(((out.argmax(-1) == b.y) & real).sum())
            count += int(real.sum())
        else:
            right += int((out.argmax(-1) == b.y).sum())
            count += len(b.y)
    return right / max(count, 1)


def train_both(split: Split, epochs: int, threads: int, slice_seconds: float = 6.0) -> dict:
    """Train ours and the lean reference ``epochs`` epochs each, interleaved; speeds, losses.

    The reference trains with our thread count, so the losses and the same-threads speed
    compare like with like. After every other epoch a throw-away copy of it also trains
    for ``slice_seconds`` with torch's default threads (the reference as users run it),
    and the old DataLoader reference trains for ``slice_seconds`` at our threads.

    Args:
        split: the data.
        epochs: the fixed budget, in epochs, for each.
        threads: our intra-op threads.
        slice_seconds: time per slice spent measuring a reference variant.
    """
    cfg = sizes(split)
    train, val = our_data(split)
    torch.manual_seed(0)
    ours = build_model(cfg)
    tc = TrainConfig(epochs=epochs, batch_size=BATCH, patience=epochs + 1, device="cpu",
                     progress=False, seed=0)  # fmt: skip
    train_batches = TimedBatches(Batches(train, BATCH, shuffle=True, bucket=True, seed=0))
    val_batches = Batches(val, BATCH, bucket=True)

    torch.manual_seed(0)
    ref_net, ref_loss = reference_model(split)
    per_step = not split.num_classes
    trainer = ref.Trainer(ref_net, reference_data(split), ref_loss, batch_size=BATCH)
    ref_val = reference_data(split, "val")
    old = old_reference(split)
    ref_val_losses: list[float] = []
    ref_val_acc: list[float] = []
    default = {"tokens": 0, "seconds": 0.0}
    dataloader = {"tokens": 0, "seconds": 0.0}

    def reference_epoch(epoch: int, logs: dict) -> None:
        trainer.epoch()
        loss, acc = trainer.evaluate(ref_val, per_step)
        ref_val_losses.append(loss)
        ref_val_acc.append(acc)
        if epoch % 2 == 0:
            if DEFAULT_THREADS != threads:
                torch.set_num_threads(DEFAULT_THREADS)
                tokens, seconds = reference_slice(trainer, slice_seconds)
                default["tokens"] += tokens
                default["seconds"] += seconds
                torch.set_num_threads(threads)
            tokens, seconds = old_reference_slice(*old, slice_seconds)
            dataloader["tokens"] += tokens
            dataloader["seconds"] += seconds

    torch.set_num_threads(threads)
    hist = fit(ours, train_batches, val_batches, tc, loss_fn=loss_fn(cfg),
               callbacks=[reference_epoch])  # fmt: skip

    tokens = split.real_tokens("train")
    ours_tps = tokens * epochs / train_batches.seconds
    same_tps = tokens * epochs / trainer.seconds
    default_tps = default["tokens"] / default["seconds"] if default["seconds"] else same_tps
    old_tps = dataloader["tokens"] / dataloader["seconds"]
    ours_batches = list(Batches(train, BATCH, shuffle=True, bucket=True))
    ours_shapes = [tuple(b.x.shape[:2]) for b in ours_batches]
    plans = [segment_plan(sorted(b.lengths.tolist(), reverse=True)) for b in ours_batches]
    lstm_steps = sum(rows * (t1 - t0) for plan in plans for t0, t1, rows in plan)
    ref_shapes = [tuple(x.shape[:2]) for x, _ in ref.batches(trainer.train, BATCH)]
    best = min(range(len(ref_val_losses)), key=ref_val_losses.__getitem__)
    best_ref = ref_val_losses[best]
    return {
        "data": split.name,
        "model": cfg.name,
        "attention": cfg.attention,
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
        "train_tokens_per_s_dataloader_reference": old_tps,
        "train_speedup_vs_reference": ours_tps / default_tps,
        "train_speedup_vs_reference_same_threads": ours_tps / same_tps,
        "train_speedup_vs_dataloader_reference": ours_tps / old_tps,
        "val_loss_ours": hist.best_val_loss,
        "val_loss_reference": best_ref,
        "val_loss_ours_minus_reference": hist.best_val_loss - best_ref,
        "val_loss_equal_or_better": hist.best_val_loss <= best_ref,
        "val_accuracy_ours": accuracy(ours, val_batches, per_step),  # fit restored the best
        "val_accuracy_reference": ref_val_acc[best],
        "val_loss_by_epoch_ours": hist.val_loss,
        "val_loss_by_epoch_reference": ref_val_losses,
    }


def reference_slice(trainer: ref.Trainer, seconds: float) -> tuple[int, float]:
    """Train a copy of the lean reference for about ``seconds`` (at least one batch).

    Returns:
        (real tokens, seconds) of the batches it ran.
    """
    model = copy.deepcopy(trainer.model).train()
    opt = torch.optim.Adam(model.parameters(), lr=ref.LR)
    gen = torch.Generator().manual_seed(1)
    tokens, t0 = 0, time.perf_counter()
    for x, y in ref.batches(trainer.train, trainer.batch_size, gen):
        loss = trainer.loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        tokens += int((x != ref.PAD).sum())
        if time.perf_counter() - t0 >= seconds:
            break
    return tokens, time.perf_counter() - t0


def old_reference(split: Split):
    """(model, optimiser, loader, loss) of the earlier DataLoader reference."""
    torch.manual_seed(0)
    if split.num_classes:
        model = old_ref.AttentionBiLSTM(split.vocab_size, 128, 128, split.num_classes)
        collate, loss = old_ref.collate_classify, old_ref.classify_loss
    else:
        model = old_ref.SeqLabLSTM(split.vocab_size, 128, 256, 2)
        collate, loss = old_ref.collate_next_state, old_ref.next_state_loss
    data = old_ref.ListDataset(split.train_x, split.train_y or split.train_x,
                               old_ref.MAX_LEN if split.num_classes else None)  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    return model, opt, old_ref.loader(data, collate, BATCH), loss


def old_reference_slice(model, opt, loader, loss_fn, seconds: float) -> tuple[int, float]:
    """Train the DataLoader reference for about ``seconds``: (real tokens, seconds)."""
    model.train()
    tokens, t0 = 0, time.perf_counter()
    for x, y in loader:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        tokens += int((x != old_ref.PAD).sum())
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
