"""Model directories: exact round-trip, clear errors, and no pickle ever executed."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from attnlib.config import ModelConfig, TrainConfig
from attnlib.errors import ModelFileError
from attnlib.models import build_model
from attnlib.persistence import (
    META_FILE,
    WEIGHTS_FILE,
    ModelMeta,
    load_model,
    load_torch_weights,
    save_model,
)
from attnlib.vocab import Vocabulary

TINY = dict(embedding_dim=8, hidden_dim=8, cnn_channels=8)
VOCAB = Vocabulary(["a", "b", "c", "d", "e"])  # 7 ids with <pad>, <unk>
CONFIGS = {
    "lstm_next_state": ModelConfig(name="lstm_attention", task="next_state", vocab_size=7, **TINY),
    "bilstm_classify": ModelConfig(
        name="bilstm_attention", task="classify", vocab_size=7, num_classes=3, query="last", **TINY
    ),
    "cnn_classify_binary": ModelConfig(
        name="cnn_bilstm_attention", task="classify", vocab_size=7, attention="general", **TINY
    ),
    "cnn_forecast_numeric": ModelConfig(
        name="cnn_bilstm_attention",
        task="forecast",
        input_kind="numeric",
        input_dim=3,
        horizon=2,
        num_layers=2,
        **TINY,
    ),
}


def _inputs(cfg: ModelConfig):
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([6, 2, 1, 4])
    if cfg.input_kind == "tokens":
        x = torch.randint(2, cfg.vocab_size, (4, 6), generator=g)
        x[torch.arange(6) >= lengths[:, None]] = 0
    else:
        x = torch.randn(4, 6, cfg.input_dim, generator=g)
    return x, lengths


@pytest.mark.parametrize("kind", CONFIGS)
def test_round_trip_reproduces_predictions_exactly(tmp_path, kind):
    cfg = CONFIGS[kind]
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    x, lengths = _inputs(cfg)
    with torch.no_grad():
        want = model(x, lengths, return_attention=True)
    save_model(tmp_path / "m", model, vocab=VOCAB if cfg.input_kind == "tokens" else None)
    loaded, meta = load_model(tmp_path / "m")
    assert not loaded.training
    assert meta.model_config.applicable_dump() == cfg.applicable_dump()  # the rest: defaults
    with torch.no_grad():
        got = loaded(x, lengths, return_attention=True)
    for w, g in zip(want, got, strict=True):
        assert torch.equal(w, g)


def test_metadata_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model(CONFIGS["bilstm_classify"])
    labels = {"neg": 0, "neu": 1, "pos": 2}
    train = TrainConfig(epochs=3, lr=0.01)
    save_model(
        tmp_path / "m",
        model,
        vocab=VOCAB,
        label_map=labels,
        train_config=train,
        metrics={"accuracy": np.float32(0.5), "best_epoch": 2},
        extra={"note": "é"},
    )
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [META_FILE, WEIGHTS_FILE]
    _, meta = load_model(tmp_path / "m")
    assert isinstance(meta, ModelMeta)
    assert meta.vocab == VOCAB and meta.vocab.itos == VOCAB.itos
    assert meta.label_map == labels
    assert meta.train_config == train.model_dump(mode="json")
    assert meta.metrics == {"accuracy": 0.5, "best_epoch": 2}
    assert meta.extra == {"note": "é"}
    assert meta.torch_version == torch.__version__


def test_save_replaces_a_model_directory_but_not_other_data(tmp_path):
    cfg = CONFIGS["lstm_next_state"]
    torch.manual_seed(0)
    save_model(tmp_path / "m", build_model(cfg))
    second = build_model(cfg.model_copy(update={"hidden_dim": 4}))
    save_model(tmp_path / "m", second)
    loaded, meta = load_model(tmp_path / "m")
    assert meta.model_config.hidden_dim == 4
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temp / backup dirs left

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious.csv").write_text("keep me")
    with pytest.raises(ModelFileError, match="not a model directory"):
        save_model(tmp_path / "data", second)
    assert (tmp_path / "data" / "precious.csv").read_text() == "keep me"


def test_tied_weights_are_saved(tmp_path):
    cfg = CONFIGS["lstm_next_state"]  # embedding (V, E) and output layer (V, D) with E == D
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    model.head.out.weight = model.input.weight  # share one tensor, as weight tying does
    x, lengths = _inputs(cfg)
    save_model(tmp_path / "m", model)
    loaded, _ = load_model(tmp_path / "m")
    with torch.no_grad():
        assert torch.equal(model(x, lengths), loaded(x, lengths))


def _model_dir(tmp_path):
    torch.manual_seed(0)
    return save_model(tmp_path / "m", build_model(CONFIGS["lstm_next_state"]))


def _edit_json(path, **changes):
    data = json.loads((path / META_FILE).read_text())
    data.update(changes)
    (path / META_FILE).write_text(json.dumps(data))


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("missing", "no such model directory"),
        ("file", "is a file"),
        ("empty_dir", "missing model.json, model.safetensors"),
        ("no_weights", "missing model.safetensors"),
        ("bad_json", "not valid JSON"),
        ("not_ours", "not an attnlib model"),
        ("version", "format version 99"),
        ("bad_config", "hidden_dim"),
        ("mismatched_weights", "weights do not match"),
        ("corrupt_weights", "unreadable model.safetensors"),
    ],
)
def test_bad_model_directories_raise_model_file_error(tmp_path, breakage, message):
    path = tmp_path / "m"
    if breakage == "file":
        path.write_text("hello")
    elif breakage == "empty_dir":
        path.mkdir()
    elif breakage != "missing":
        _model_dir(tmp_path)
        if breakage == "no_weights":
            (path / WEIGHTS_FILE).unlink()
        elif breakage == "bad_json":
            (path / META_FILE).write_text('{"format": "attnlib-model", ')
        elif breakage == "not_ours":
            (path / META_FILE).write_text("[1, 2]")
        elif breakage == "version":
            _edit_json(path, format_version=99)
        elif breakage == "bad_config":
            _edit_json(
                path, model_config={**CONFIGS["lstm_next_state"].model_dump(), "hidden_dim": -1}
            )
        elif breakage == "mismatched_weights":
            _edit_json(
                path, model_config={**CONFIGS["lstm_next_state"].model_dump(), "hidden_dim": 16}
            )
        elif breakage == "corrupt_weights":
            (path / WEIGHTS_FILE).write_bytes(b"\x00garbage")
    with pytest.raises(ModelFileError, match=message) as err:
        load_model(path)
    text = str(err.value)
    assert str(path) in text and "\n" not in text


class _Evil:
    """Unpickling this runs code that creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def test_the_evil_payload_is_live(tmp_path):
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Evil(marker)))  # control: a plain unpickle runs it
    assert marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the raw-pickle .pkl case
@pytest.mark.parametrize("suffix", [".pt", ".pth", ".pkl"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pkl":
        path.write_bytes(pickle.dumps({"w": _Evil(marker)}))
    else:
        torch.save({"w": torch.zeros(2), "evil": _Evil(marker)}, path)
    with pytest.raises(ModelFileError, match="refused") as err:
        load_torch_weights(path)
    assert str(path) in str(err.value)
    with pytest.raises(ModelFileError, match="pickle checkpoints are not loaded"):
        load_model(path)
    assert not marker.exists()


def test_plain_tensor_pickle_loads(tmp_path):
    torch.manual_seed(0)
    model = build_model(CONFIGS["bilstm_classify"])
    torch.save(model.state_dict(), tmp_path / "w.pt")
    state = load_torch_weights(tmp_path / "w.pt")
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    save_model(tmp_path / "m", model)
    assert load_torch_weights(tmp_path / "m" / WEIGHTS_FILE).keys() == state.keys()


def test_non_dict_or_missing_weights_are_refused(tmp_path):
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    with pytest.raises(ModelFileError, match="dict of name -> tensor"):
        load_torch_weights(tmp_path / "list.pt")
    torch.save({"a": 1}, tmp_path / "ints.pt")
    with pytest.raises(ModelFileError, match="dict of name -> tensor"):
        load_torch_weights(tmp_path / "ints.pt")
    with pytest.raises(ModelFileError, match="no such weights file"):
        load_torch_weights(tmp_path / "absent.pt")


def test_model_json_holds_only_the_fields_that_apply(tmp_path):
    save_model(tmp_path / "n", build_model(CONFIGS["lstm_next_state"]), vocab=VOCAB)
    stored = json.loads((tmp_path / "n" / "model.json").read_text())["model_config"]
    assert "num_classes" not in stored and "horizon" not in stored and "input_dim" not in stored
    assert "cnn_channels" not in stored and stored["vocab_size"] == 7


def test_the_model_card_shows_only_the_fields_that_apply():
    from attnlib.card import model_card

    card = model_card(ModelMeta(CONFIGS["lstm_next_state"]), data={}, eval_metrics={},
                      export_metrics={})  # fmt: skip
    assert '"vocab_size": 7' in card and "num_classes" not in card and "horizon" not in card


CAL = {"temperature": 1.5, "ece_before": 0.04, "ece_after": 0.02, "n": 100}
CONF = {"alpha": 0.1, "coverage": 0.9, "mean_set_size": 0.95, "empty_sets": 0.06}


@pytest.mark.parametrize(
    ("section", "entry", "says"),
    [
        ("calibration", {**CAL, "fitted_on": "val"}, "fitted on validation,"),
        ("calibration", {**CAL, "fitted_on": "val, pre-refit model"},
         "the model trained on train alone, before the refit"),
        ("calibration", {**CAL, "fitted_on": "out-of-fold: val and 2 training folds, each "
                         "predicted by the pre-refit members that held it out"},
         "each ensemble member held out its own fold"),
        ("conformal", {**CONF, "rule": "exact"},
         "coverage 0.900, mean set size 0.95; exact APS: coverage is guaranteed >= 1 - alpha"
         " and at most 1/(n+1) above it, so a set may be empty (no class is needed for "
         "that coverage; share of empty sets 0.060)"),
        ("conformal", {**CONF, "rule": "nonempty"}, "coverage is at least the accuracy"),
        ("conformal", {**CONF, "rule": "exact", "threshold": None},
         "too few calibration items for a threshold: every set is every class"),
        ("conformal", {**CONF, "rule": "nonempty", "threshold": None},
         "too few calibration items for a threshold: every set is every class"),
    ],
)  # fmt: skip
def test_the_model_card_says_how_the_trust_figures_were_made(section, entry, says):
    """What the temperature was fitted on; which rule made the conformal sets."""
    from attnlib.card import model_card

    card = model_card(ModelMeta(CONFIGS["lstm_next_state"]), data={},
                      eval_metrics={section: entry}, export_metrics={})  # fmt: skip
    heading = {"calibration": "- Calibration", "conformal": "- Conformal"}[section]
    line = next(x for x in card.splitlines() if x.startswith(heading))
    assert says in line


def test_a_refitted_model_directory_keeps_its_heldout_start(tmp_path):
    from attnlib.ensemble import Ensemble
    from attnlib.persistence import HELDOUT_FILE, load_heldout

    cfg = ModelConfig(vocab_size=9, embedding_dim=4, hidden_dim=4)
    torch.manual_seed(0)
    model, start = build_model(cfg), build_model(cfg)
    save_model(tmp_path / "plain", model)
    assert load_heldout(tmp_path / "plain") is None
    save_model(tmp_path / "refit", model, heldout=start)
    loaded = load_heldout(tmp_path / "refit")
    for p, q in zip(start.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    assert not loaded.training
    members = [build_model(cfg) for _ in range(2)]
    save_model(tmp_path / "ens", Ensemble(members[:1] + [model]), heldout=Ensemble(members))
    again = load_heldout(tmp_path / "ens")
    assert isinstance(again, Ensemble) and len(again) == 2
    (tmp_path / "refit" / HELDOUT_FILE).write_bytes(b"not safetensors")
    with pytest.raises(ModelFileError, match=f"unreadable {HELDOUT_FILE}"):
        load_heldout(tmp_path / "refit")
