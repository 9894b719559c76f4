"""Seed ensembles: probability averaging, save / load, ONNX export as one graph."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.ensemble import Ensemble, mean_probability_logits, member_configs
from attnlib.errors import ModelFileError
from attnlib.export import export_onnx, parity_check
from attnlib.models import build_model
from attnlib.persistence import load_model, save_model

V, C = 9, 3
TINY = dict(embedding_dim=8, hidden_dim=8, vocab_size=V)


def members(cfg: ModelConfig, n=3):
    out = []
    for k in range(n):
        torch.manual_seed(k)
        out.append(build_model(cfg).eval())
    return out


def batch(cfg, lengths=(5, 2, 4)):
    lengths = torch.tensor(lengths)
    T = int(lengths.max())
    if cfg.input_kind == "tokens":
        x = torch.randint(2, V, (len(lengths), T))
    else:
        x = torch.randn(len(lengths), T, C)
    return x, lengths


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(task="classify", num_classes=4, **TINY),
        ModelConfig(task="next_state", **TINY),
        ModelConfig(name="bilstm_attention", task="classify", num_classes=2, **TINY),
    ],
    ids=["multiclass", "next_state", "binary"],
)
def test_output_is_log_of_mean_probability(cfg):
    ms = members(cfg)
    x, lengths = batch(cfg)
    with torch.no_grad():
        y, w = Ensemble(ms)(x, lengths, return_attention=True)
        outs = [m(x, lengths, return_attention=True) for m in ms]
    if cfg.num_classes == 2 and cfg.task == "classify":
        want = torch.stack([torch.sigmoid(o) for o, _ in outs]).mean(0)
        torch.testing.assert_close(torch.sigmoid(y), want)
    else:
        want = torch.stack([o.softmax(-1) for o, _ in outs]).mean(0)
        torch.testing.assert_close(y.softmax(-1), want)
        torch.testing.assert_close(y.exp().sum(-1), torch.ones(y.shape[:-1]))  # log-probs
    torch.testing.assert_close(w, torch.stack([a for _, a in outs]).mean(0))
    assert not torch.allclose(outs[0][0], outs[1][0])  # members do differ


def test_forecast_is_the_mean_forecast():
    cfg = ModelConfig(task="forecast", input_kind="numeric", input_dim=C, horizon=2, **TINY)
    ms = members(cfg)
    x, lengths = batch(cfg)
    with torch.no_grad():
        want = torch.stack([m(x, lengths) for m in ms]).mean(0)
        torch.testing.assert_close(Ensemble(ms)(x, lengths), want)


def test_binary_average_is_stable_for_confident_members():
    logits = [torch.tensor([200.0, -200.0, 3.0]), torch.tensor([-200.0, -200.0, 3.0])]
    z = mean_probability_logits(logits, binary=True)
    assert torch.isfinite(z).all()
    assert torch.sigmoid(z)[0].item() == pytest.approx(0.5)
    assert z[2].item() == pytest.approx(3.0, abs=1e-5)


def test_member_configs_differ_only_in_seed():
    cfgs = member_configs(TrainConfig(seed=7, ensemble=3, lr=0.01))
    assert [c.seed for c in cfgs] == [7, 8, 9]
    assert {c.model_dump_json(exclude={"seed"}) for c in cfgs} == {
        cfgs[0].model_dump_json(exclude={"seed"})
    }


def test_members_must_share_one_config():
    a = build_model(ModelConfig(task="classify", **TINY))
    b = build_model(ModelConfig(task="classify", **{**TINY, "hidden_dim": 4}))
    with pytest.raises(ValueError, match="share one model config"):
        Ensemble([a, b])


def test_save_and_load_round_trip(tmp_path):
    cfg = ModelConfig(task="classify", num_classes=3, **TINY)
    ens = Ensemble(members(cfg))
    path = save_model(tmp_path / "ens", ens, label_map=["a", "b", "c"])
    assert json.loads((path / "model.json").read_text())["ensemble"] == 3
    keys = load_file(path / "model.safetensors").keys()
    assert {k.split(".")[1] for k in keys} == {"0", "1", "2"}  # members.<k>.<param>
    loaded, meta = load_model(path)
    assert isinstance(loaded, Ensemble) and meta.ensemble == 3
    x, lengths = batch(cfg)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, lengths), ens(x, lengths), atol=0, rtol=0)
    single, meta = load_model(save_model(tmp_path / "one", Ensemble(members(cfg, 1))))
    assert not isinstance(single, Ensemble) and meta.ensemble == 1


def test_bad_member_count_is_refused(tmp_path):
    cfg = ModelConfig(task="classify", **TINY)
    path = save_model(tmp_path / "ens", Ensemble(members(cfg, 2)))
    meta = json.loads((path / "model.json").read_text())
    (path / "model.json").write_text(json.dumps({**meta, "ensemble": 3}))
    with pytest.raises(ModelFileError, match="weights do not match"):
        load_model(path)
    (path / "model.json").write_text(json.dumps({**meta, "ensemble": 0}))
    with pytest.raises(ModelFileError, match="'ensemble' must be a member count"):
        load_model(path)


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(name="bilstm_attention", task="classify", num_classes=2, **TINY),
        ModelConfig(task="next_state", **TINY),
        ModelConfig(
            name="alstm_fcn",
            task="classify",
            input_kind="numeric",
            input_dim=C,
            num_classes=3,
            fcn_filters=(8, 12, 8),
            se_reduction=4,
            **TINY,
        ),  # fmt: skip
    ],
    ids=["binary", "next_state", "alstm_fcn"],
)
def test_onnx_export_is_one_graph_matching_the_eager_ensemble(cfg, tmp_path):
    ens = Ensemble(members(cfg))
    g = torch.Generator().manual_seed(2)
    lengths = torch.randint(2, 10, (13,), generator=g).tolist()
    if cfg.task == "next_state":
        data = SequenceData.next_state([torch.randint(2, V, (n,)).tolist() for n in lengths])
    elif cfg.input_kind == "tokens":
        data = SequenceData.classify_tokens(
            [torch.randint(2, V, (n,)).tolist() for n in lengths], [0] * 13
        )
    else:
        data = SequenceData.numeric([np.random.randn(n, C) for n in lengths], [0] * 13)
    example = next(iter(Batches(data, batch_size=4)))
    path = export_onnx(ens, tmp_path / "ens.onnx", example=example)
    batches = Batches(data, batch_size=5, shuffle=True, bucket=False, seed=3)
    assert parity_check(ens, path, batches) <= 1e-4
    assert all(m.encoder.packed == "auto" for m in ens.members)  # restored after export


@pytest.mark.parametrize("cfg", [ModelConfig(task="classify", num_classes=4, **TINY)])
def test_a_calibrated_ensemble_exports_with_its_temperature(cfg, tmp_path):
    from attnlib.trust.calibration import TemperatureScaled

    scaled = TemperatureScaled(Ensemble(members(cfg)), 1.7)
    data = SequenceData.classify_tokens(
        [torch.randint(2, V, (n,)).tolist() for n in (3, 7, 5, 2)], [0, 1, 2, 3]
    )
    example = next(iter(Batches(data, batch_size=4)))
    path = export_onnx(scaled, tmp_path / "scaled.onnx", example=example)
    assert parity_check(scaled, path, Batches(data, batch_size=2)) <= 1e-4
    x, lengths = example.x, example.lengths
    torch.testing.assert_close(scaled(x, lengths), scaled.model(x, lengths) / 1.7)


def test_a_next_state_ensemble_has_no_streaming_graph_and_says_why(tmp_path):
    from attnlib.errors import ConfigError
    from attnlib.predict import Predictor
    from attnlib.tasks import get_task

    cfg = ModelConfig(task="next_state", **TINY)
    ens = Ensemble(members(cfg, 2))
    data = SequenceData.next_state([[2, 3, 4, 5], [3, 4]])
    extras = get_task("next_state").export_extras(ens, tmp_path, test=data, opset=17)
    assert "ensemble" in extras["stream_onnx"] and not (tmp_path / "stream.onnx").exists()
    predictor = Predictor.__new__(Predictor)  # only what stream() reads
    predictor.bundle, predictor._model = tmp_path, ens
    with pytest.raises(ConfigError, match="train.ensemble: 1"):
        predictor.stream()
