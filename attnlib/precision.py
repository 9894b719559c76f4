"""Reduced precision for training on the CPU: bf16 autocast where the CPU has it natively.

On a CPU with AVX-512 BF16 or AMX, oneDNN runs the LSTM and the linear layers in bf16
with fp32 accumulation, and ``torch.autocast("cpu", dtype=torch.bfloat16)`` trained a
BiLSTM 1.45x faster than fp32 on one such CPU. Elsewhere bf16 is emulated and slower, so
``train.precision: auto`` turns it on only where it is native. Losses, softmax and the
optimiser stay in fp32 (autocast's own lists), weights are kept in fp32, and validation
always runs in fp32, so the checkpoint chosen by early stopping is judged at full precision.
CUDA keeps its own switch (``train.amp``: fp16 with a gradient scaler).
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX-512 BF16 or AMX tiles)."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)
        if check is not None and check():
            return True
    return False


def training_autocast(precision: str, device: torch.device, amp: bool) -> tuple[bool, torch.dtype]:
    """(enabled, dtype) for ``torch.autocast(device.type, ...)`` around the training forward.

    Args:
        precision: ``train.precision``: ``auto`` (bf16 where the CPU has it natively),
            ``fp32`` or ``bf16`` (asked for: used even where emulated, with a warning).
        device: the training device.
        amp: ``train.amp`` (CUDA mixed precision).
    """
    if device.type == "cuda":
        return amp, torch.float16
    if device.type != "cpu" or precision == "fp32":
        return False, torch.float32
    native = cpu_has_native_bf16()
    if precision == "bf16" and not native:
        log.warning("train.precision bf16: this CPU has no native bf16; it is emulated (slower)")
    if precision == "bf16" or native:
        return True, torch.bfloat16
    return False, torch.float32
