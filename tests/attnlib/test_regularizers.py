"""AWD-LSTM regularisers: embedding dropout, locked dropout, weight drop, weight tying."""

import pytest
import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.errors import ConfigError
from attnlib.models import build_model
from attnlib.models.encoders import LSTMEncoder
from attnlib.models.regularizers import EmbeddingDropout, LockedDropout
from attnlib.persistence import load_model, save_model

V = 11


def lm(**kw):
    cfg = dict(vocab_size=V, embedding_dim=8, hidden_dim=8, num_layers=2)
    return build_model(ModelConfig(**{**cfg, **kw}))


def test_embedding_dropout_drops_whole_words_in_train_mode_only():
    torch.manual_seed(0)
    emb = EmbeddingDropout(V, 5, p=0.5, padding_idx=0)
    x = torch.tensor([[3, 4, 3, 5, 6, 7, 8, 9, 10, 2], [4, 3, 2, 2, 5, 0, 0, 0, 0, 0]])
    plain = torch.nn.functional.embedding(x, emb.weight, 0)
    out = emb.train()(x)
    dropped = (out == 0).all(-1)  # (B, T): a whole vector is zero or none of it
    assert ((out == 0) == dropped.unsqueeze(-1)).all()
    torch.testing.assert_close(out[~dropped], plain[~dropped] * 2)  # kept: scaled by 1/(1-p)
    for token in x.unique().tolist():  # one draw per word type: all its occurrences alike
        assert dropped[x == token].unique().numel() == 1
    assert dropped[x != 0].any() and not dropped[x != 0].all()
    torch.testing.assert_close(emb.eval()(x), plain)


def test_locked_dropout_uses_one_mask_for_every_step():
    torch.manual_seed(0)
    h = torch.rand(3, 7, 16) + 0.1
    out = LockedDropout(0.5).train()(h)
    zero = out == 0  # (B, T, D)
    assert (zero == zero[:, :1]).all()  # the same units dropped at every step
    assert zero.any() and not zero.all()
    torch.testing.assert_close(LockedDropout(0.5).eval()(h), h)


def test_locked_dropout_in_the_model_and_encoder():
    torch.manual_seed(0)
    model = lm(locked_dropout=0.4)
    assert isinstance(model.encoder.dropout, LockedDropout)  # between layers
    x, lengths = torch.randint(2, V, (4, 6)), torch.tensor([6, 6, 4, 2])
    model.eval()
    ref = model(x, lengths)
    model.train()
    assert not torch.allclose(model(x, lengths), ref)
    model.eval()
    torch.testing.assert_close(model(x, lengths), ref)  # eval mode is deterministic


@pytest.mark.parametrize("packed", [True, False, "auto"])
def test_weight_drop_masks_w_hh_in_training_only(packed):
    torch.manual_seed(0)
    enc = LSTMEncoder(in_dim=4, hidden_dim=8, num_layers=2, bidirectional=True, dropout=0.0,
                      weight_drop=0.5)  # fmt: skip
    plain = LSTMEncoder(in_dim=4, hidden_dim=8, num_layers=2, bidirectional=True, dropout=0.0)
    plain.load_state_dict(enc.state_dict())
    enc.packed = plain.packed = packed
    x, lengths = torch.randn(3, 6, 4), torch.tensor([6, 4, 2])
    # in training the recurrent weights are dropped (dropout 0 elsewhere: only they differ)
    enc.train(), plain.train()
    out, _ = enc(x, lengths)
    assert not torch.allclose(out, plain(x, lengths)[0])
    out.sum().backward()  # the gradient reaches the real parameters, through the mask
    hh = enc.layers[1][1].weight_hh_l0
    assert isinstance(hh, nn.Parameter) and hh.grad is not None and hh.grad.abs().sum() > 0
    assert (hh.grad == 0).any()  # dropped entries get no gradient
    # one draw with every weight kept is the plain forward: the mask is the only change
    enc.weight_drop = 1e-9
    torch.testing.assert_close(enc(x, lengths)[0], plain(x, lengths)[0])
    # eval: the plain weights, deterministic
    enc.eval(), plain.eval()
    torch.testing.assert_close(enc(x, lengths)[0], plain(x, lengths)[0])


def test_weight_drop_reaches_the_encoder_from_the_config():
    assert lm(weight_drop=0.3).encoder.weight_drop == 0.3
    assert lm().encoder.weight_drop == 0.0


def test_tied_weights_share_storage_and_survive_save_load(tmp_path):
    torch.manual_seed(0)
    model = lm(tie_weights=True)
    assert model.head.out.weight is model.input.weight
    n_untied = sum(p.numel() for p in lm().parameters())
    assert sum(p.numel() for p in model.parameters()) == n_untied - V * 8
    loaded, _ = load_model(save_model(tmp_path / "m", model))
    assert loaded.head.out.weight.data_ptr() == loaded.input.weight.data_ptr()
    x, lengths = torch.randint(2, V, (2, 5)), torch.tensor([5, 3])
    torch.testing.assert_close(loaded(x, lengths), model.eval()(x, lengths))


def test_tie_weights_auto_ties_where_sizes_allow():
    assert ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=8, tie_weights="auto").tie_weights
    assert not ModelConfig(
        vocab_size=V, embedding_dim=8, hidden_dim=16, tie_weights="auto"
    ).tie_weights
    classify = ModelConfig(task="classify", vocab_size=V, embedding_dim=8, hidden_dim=8,
                           tie_weights="auto")  # fmt: skip
    assert classify.tie_weights is False
    assert ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=8).tie_weights is False  # stored


def test_tie_weights_true_with_unequal_sizes_is_a_config_error():
    with pytest.raises(ConfigError, match="tie_weights needs.*embedding_dim \\(8\\).*\\(16\\)"):
        build_model({"vocab_size": V, "embedding_dim": 8, "hidden_dim": 16, "tie_weights": True})


def test_embedding_dropout_needs_tokens():
    with pytest.raises(ConfigError, match="embedding_dropout"):
        build_model({"task": "forecast", "input_kind": "numeric", "input_dim": 2,
                     "embedding_dropout": 0.1})  # fmt: skip
