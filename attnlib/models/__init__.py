"""The assembled models and their registry.

``build_model(config)`` looks the name up in :data:`MODELS`; the three attention-LSTMs share
one class, :class:`AttentionLSTM`, and differ only in direction and front end;
``alstm_fcn`` (numeric series) is :class:`~attnlib.models.alstm_fcn.ALSTMFCN`. A model asks its task
for the head (``get_task(config.task).build_head(config, dim)``) and never branches on it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from attnlib.config import ModelConfig, TrainConfig
from attnlib.errors import ConfigError
from attnlib.models.alstm_fcn import ALSTMFCN
from attnlib.models.encoders import ConvFrontEnd, LSTMEncoder, length_mask, relative_to_last
from attnlib.models.heads import shaped
from attnlib.models.kernel_partner import kernel_partner
from attnlib.models.kn_partner import kn_partner
from attnlib.models.linear_base import linear_base
from attnlib.models.ngram_partner import ngram_partner
from attnlib.models.regularizers import LockedDropout
from attnlib.models.subword import token_input
from attnlib.tasks import get_task


class AttentionLSTM(nn.Module):
    """input layer -> [CNN] -> (Bi)LSTM -> masked attention -> task head.

    The head is the task's (:meth:`attnlib.tasks.base.Task.build_head`).

    ``forward(x, lengths)`` takes x (B, T) int64 token ids or (B, T, C) float values and
    lengths (B,) and returns the task output:
      next_state: logits (B, T, V); classify: (B,) logit if binary else (B, K) logits;
      forecast: (B, horizon, targets).
    With ``return_attention=True`` it also returns the weights: (B, T, T) for next_state
    (row t = what position t attended to), else (B, T') over encoder steps (T' = T, or
    ceil(T / pool) for the CNN model).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = cfg = config
        if cfg.input_kind == "tokens":  # an embedding (+ embedding dropout, char n-grams,
            self.input = token_input(cfg)  # pretrained vectors)
        else:
            self.input = nn.Linear(cfg.input_dim, cfg.embedding_dim)
        enc_in = cfg.embedding_dim
        self.cnn = None
        if cfg.name == "cnn_bilstm_attention":
            self.cnn = ConvFrontEnd(
                cfg.embedding_dim, cfg.cnn_channels, cfg.cnn_kernel, cfg.cnn_pool
            )
            enc_in = cfg.cnn_channels
        self.encoder = LSTMEncoder(
            in_dim=enc_in,
            hidden_dim=cfg.hidden_dim,
            num_layers=cfg.num_layers,
            bidirectional=cfg.bidirectional,
            dropout=cfg.dropout,
            locked_dropout=cfg.locked_dropout,
            weight_drop=cfg.weight_drop,
        )
        # AWD-LSTM: one dropout mask per sequence on the LSTM's input and output (0 = identity)
        self.locked = LockedDropout(cfg.locked_dropout)
        self.head = get_task(cfg.task).build_head(cfg, self.encoder.out_dim)
        self.linear_base = linear_base(cfg)  # forecast: a fixed ridge forecast under the head
        # mixed in: classify, an n-gram (tokens) or kernel-feature (series) regression;
        # next_state, a Kneser-Ney model
        self.partner = ngram_partner(cfg) or kernel_partner(cfg) or kn_partner(cfg)
        if cfg.tie_weights:  # next-state head's (V, E) output layer; the config checked E == D
            if not isinstance(self.input, nn.Embedding):
                raise ConfigError("train.tie_weights needs a plain word embedding; the input "
                                  "layer has char n-grams or pretrained vectors (encode.subwords, "
                                  "encode.vectors)")  # fmt: skip
            self.head.out.weight = self.input.weight

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, return_attention: bool = False):
        base = self.linear_base(x) if self.linear_base is not None else None  # the level kept
        tokens, real = x, lengths  # what the partner reads (the CNN shortens lengths)
        if self.config.local_level:
            x = relative_to_last(x, lengths)
        z = self.locked(self.input(x))  # (B, T, E)
        if self.cnn is not None:
            z, lengths = self.cnn(z, lengths)  # (B, T', C)
        h, last = self.encoder(z, lengths)  # (B, T', D), (B, D)
        h = self.locked(h)
        y, w = self.head(h, last, length_mask(lengths, h.shape[1]))
        y = shaped(self.head, y)
        y = y if base is None else y + base
        if self.partner is not None:
            y = self.partner.combine(y, tokens, real)
        return (y, w) if return_attention else y


MODELS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "lstm_attention": AttentionLSTM,
    "bilstm_attention": AttentionLSTM,
    "cnn_bilstm_attention": AttentionLSTM,
    "alstm_fcn": ALSTMFCN,
}


def build_model(config: ModelConfig | dict) -> nn.Module:
    """Build the model ``config.name`` names (a dict is validated first)."""
    if isinstance(config, dict):
        from attnlib.config import validate

        config = validate(ModelConfig, config, section="model")
    if config.name not in MODELS:
        raise ConfigError(f"unknown model '{config.name}' (known: {', '.join(MODELS)})")
    return MODELS[config.name](config)


def loss_fn(config: ModelConfig, train: TrainConfig | None = None) -> Callable:
    """The task's loss: ``loss(output, target) -> scalar mean over real predictions``.

    ``train`` may choose among the task's variants (``train.loss``: mse or huber).
    """
    return get_task(config.task).loss(config, train)


def plain_loss_fn(config: ModelConfig, train: TrainConfig) -> Callable:
    """:func:`loss_fn` without label smoothing: what early stopping, the search and the
    refit guard compare (smoothing is a training device only)."""
    return loss_fn(config, train.model_copy(update={"label_smoothing": 0.0}))
