"""ONNX export: parity with eager PyTorch on padded batches, dynamic batch and time axes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from attnlib.config import ModelConfig
from attnlib.data import Batches, SequenceData
from attnlib.errors import ModelFileError
from attnlib.export import OnnxPredictor, export_onnx, parity_check
from attnlib.models import build_model

TOL = 1e-4
TINY = dict(embedding_dim=8, hidden_dim=8, cnn_channels=8)
CONFIGS = {
    "lstm_next_state": ModelConfig(name="lstm_attention", task="next_state", vocab_size=9, **TINY),
    "lstm_classify_last": ModelConfig(
        name="lstm_attention", task="classify", vocab_size=9, num_classes=3, query="last", **TINY
    ),
    "bilstm_classify_binary": ModelConfig(
        name="bilstm_attention",
        task="classify",
        vocab_size=9,
        attention="dot",
        num_layers=2,
        **TINY,
    ),
    "cnn_classify": ModelConfig(
        name="cnn_bilstm_attention",
        task="classify",
        vocab_size=9,
        num_classes=4,
        attention="scaled_dot",
        **TINY,
    ),
    "bilstm_forecast": ModelConfig(
        name="bilstm_attention",
        task="forecast",
        input_kind="numeric",
        input_dim=3,
        horizon=2,
        attention="general",
        **TINY,
    ),
    "cnn_forecast": ModelConfig(
        name="cnn_bilstm_attention",
        task="forecast",
        input_kind="numeric",
        input_dim=3,
        horizon=2,
        num_targets=2,
        **TINY,
    ),
    "local_level_forecast": ModelConfig(  # each window minus its last real step, in-graph
        name="lstm_attention",
        task="forecast",
        input_kind="numeric",
        input_dim=3,
        horizon=2,
        local_level=True,
        **TINY,
    ),
    "alstm_fcn_classify": ModelConfig(
        name="alstm_fcn",
        task="classify",
        input_kind="numeric",
        input_dim=3,
        num_classes=3,
        fcn_filters=(8, 12, 8),
        se_reduction=4,
        **TINY,
    ),
}


def _data(cfg: ModelConfig, n: int, max_len: int, seed: int) -> SequenceData:
    """n sequences of lengths 1..max_len (the longest always present), padded."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, max_len + 1, (n,), generator=g).tolist()
    lengths[0] = max_len
    if cfg.task == "next_state":  # next_state drops one token: inputs are len - 1 long
        lengths[0] = max_len + 1
        return SequenceData.next_state(
            [torch.randint(2, cfg.vocab_size, (max(2, t),), generator=g).tolist() for t in lengths]
        )
    if cfg.input_kind == "tokens":
        seqs = [torch.randint(2, cfg.vocab_size, (t,), generator=g).tolist() for t in lengths]
        return SequenceData.classify_tokens(seqs, [0] * n)
    series = [torch.randn(t, cfg.input_dim, generator=g).numpy() for t in lengths]
    return SequenceData.numeric(series, np.zeros((n, cfg.horizon, cfg.num_targets), np.float32))


@pytest.fixture(scope="module", params=list(CONFIGS))
def exported(request, tmp_path_factory):
    cfg = CONFIGS[request.param]
    torch.manual_seed(0)
    model = build_model(cfg)
    example = next(iter(Batches(_data(cfg, 4, 7, seed=1), batch_size=4)))
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx", example=example)
    return cfg, model, path


def test_parity_on_padded_variable_length_batches(exported):
    cfg, model, path = exported
    assert model.training and model.encoder.packed  # both restored after export
    batches = Batches(_data(cfg, 13, 9, seed=2), batch_size=5, shuffle=True, bucket=False, seed=3)
    assert parity_check(model, path, batches) <= TOL
    assert model.training  # parity_check restores the mode too


def test_dynamic_batch_and_time_axes(exported):
    cfg, model, path = exported
    predictor = OnnxPredictor(path)
    assert predictor.session.get_inputs()[0].shape[:2] == ["batch", "time"]
    # batch 3 and length 15 (example: 4 x 7), then a lone length-1 sequence
    for n, max_len in [(3, 15), (1, 1)]:
        x, lengths, _ = _data(cfg, n, max_len, seed=4).batch(torch.arange(n))
        model.eval()
        with torch.no_grad():
            want_out, want_att = model(x, lengths, return_attention=True)
        model.train()
        out, att = predictor(x.numpy(), lengths.numpy())
        assert out.shape == tuple(want_out.shape) and att.shape == tuple(want_att.shape)
        assert np.abs(out - want_out.numpy()).max() <= TOL
        assert np.abs(att - want_att.numpy()).max() <= TOL


def test_opset_and_graph_io(exported):
    _, _, path = exported
    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in proto.graph.input] == ["x", "lengths"]
    assert [o.name for o in proto.graph.output] == ["output", "attention"]
    assert not list(path.parent.glob(".*"))  # no temp file left by the atomic write


def test_predictor_rejects_bad_lengths_and_files(exported, tmp_path):
    cfg, _, path = exported
    predictor = OnnxPredictor(path)
    x = (
        np.zeros((2, 4), np.int64)
        if cfg.input_kind == "tokens"
        else np.zeros((2, 4, 3), np.float32)
    )
    with pytest.raises(ValueError, match="lengths"):
        predictor(x, np.array([5, 1]))
    with pytest.raises(ValueError, match="lengths"):
        predictor(x, np.array([0, 1]))
    with pytest.raises(ModelFileError, match="no such ONNX file"):
        OnnxPredictor(tmp_path / "absent.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelFileError, match="junk.onnx"):
        OnnxPredictor(tmp_path / "junk.onnx")
