"""The task seam: the registry, and a fourth job added through the protocol alone.

``SeriesMean`` (regress the mean level of a numeric series) is defined here, registered
at test time and run encode -> split -> train -> evaluate -> save -> predict with the
library's own entry points: no other module knows it exists.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
import torch
from torch import nn

from attnlib.config import EvaluateConfig, ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.encode import EncodeOptions, encode_dataset, to_sequence_data
from attnlib.encoding import encode_sequences, split_sequences
from attnlib.errors import ConfigError, DataError
from attnlib.evaluate import evaluate, predict
from attnlib.fitting import build_and_fit, train_metrics
from attnlib.models.heads import PooledHead
from attnlib.persistence import ModelMeta, save_model
from attnlib.predict import Predictor, predict_frame
from attnlib.scoring import bundle_scaler, score_batches
from attnlib.tasks import TASKS, CardNotes, EvalContext, Evaluation, Task, get_task


class SeriesMean(Task):
    """Regression of one number per sequence: the mean of its (standardised) values."""

    name = "series_mean"
    accepts = ("series",)
    needs = "numeric series"

    def encode(self, raw, kind, opt, *, source):
        frame, meta = encode_sequences(raw, kind, opt, task=self.name, labelled=False,
                                       source=source)  # fmt: skip
        means = [float(np.mean(x)) for x in frame["x"].to_list()]
        return frame.with_columns(pl.Series("target", means, dtype=pl.Float32)), meta

    def split(self, frame, *, source):
        return split_sequences(frame, source=source)

    def tensors(self, frame, *, source):
        series = [np.asarray(x, dtype=np.float32) for x in frame["x"].to_list()]
        return SequenceData.numeric(series, np.asarray(frame["target"].to_list(), np.float32))

    def build_head(self, cfg, dim):
        return PooledHead(dim, 1, cfg.attention, cfg.query, cfg.dropout, shape=())  # (B,)

    def loss(self, cfg, train=None):
        return nn.functional.mse_loss

    def onnx_axes(self, cfg):
        return {"output": {0: "batch"}, "attention": {0: "batch", 1: "time"}}

    def score(self, ctx: EvalContext) -> Evaluation:
        outputs, targets, _ = predict(ctx.model, ctx.test)
        pred, y = torch.cat(outputs).numpy(), torch.cat(targets).numpy()
        train_mean = float(np.mean(ctx.splits[0]["target"].to_numpy()))
        report = {"model": {"mae": float(np.abs(pred - y).mean())},
                  "train_mean": {"mae": float(np.abs(train_mean - y).mean())}}  # fmt: skip
        test = ctx.splits[-1]
        labels = [[str(t) for t in range(n)] for n in test["length"].to_list()]
        return Evaluation(report, heatmap_labels=labels, heatmap_ids=test["id"].to_list())

    def predict(self, predictor, frame, *, top_k, attention, batch_size):
        _, scaler = bundle_scaler(predictor)
        seqs = [scaler.transform(np.asarray(v, np.float64)) for v in frame["values"].to_list()]
        batches = score_batches(predictor, seqs, range(len(seqs)), pad=0.0, dtype=np.float32,
                                batch_size=batch_size)  # fmt: skip
        preds = {i: float(out) for i, out, _, _ in batches}
        return pl.DataFrame({"id": frame["id"], "predicted": [preds[i] for i in range(len(seqs))]})

    def card(self, cfg):
        return CardNotes(attention=".", intended_use="The mean level of a series.")


def series_frame(n: int = 80, seed: int = 0) -> pl.DataFrame:
    """Series of 4-14 steps around a level drawn per series (the level is what to learn)."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(-2, 2, n)
    values = [(lv + 0.2 * rng.standard_normal((rng.integers(4, 15), 1))).tolist() for lv in levels]
    schema = {"id": pl.String, "values": pl.List(pl.List(pl.Float32))}
    return pl.DataFrame({"id": [f"s{i}" for i in range(n)], "values": values}, schema=schema)


@pytest.fixture
def toy(monkeypatch):
    task = SeriesMean()
    monkeypatch.setitem(TASKS, task.name, task)
    return task


def test_a_fourth_task_runs_encode_train_evaluate_predict(toy, tmp_path):
    raw = series_frame()
    frame, meta = encode_dataset(raw, toy.name, EncodeOptions(val=0.2, test=0.2, seed=0))
    assert meta["task"] == toy.name and "target" in frame.columns
    parts = get_task(toy.name).split(frame, source="toy")
    train, val, test = (to_sequence_data(parts[s], toy.name) for s in ("train", "val", "test"))
    model_cfg = ModelConfig(task=toy.name, input_kind="numeric", input_dim=1,
                            embedding_dim=8, hidden_dim=16, attention="dot")  # fmt: skip
    train_cfg = TrainConfig(epochs=40, batch_size=8, lr=1e-2, patience=40, progress=False)
    model, hist = build_and_fit(model_cfg, train_cfg, train, val)
    assert model(test.x, test.lengths).shape == (len(test),)  # the toy head's shape
    assert set(train_metrics(model_cfg, hist)) >= {"best_val_loss", "best_epoch"}

    ctx = EvalContext(model, ModelMeta(model_cfg), meta, (parts["train"], parts["val"],
                      parts["test"]), test, EvaluateConfig(heatmaps=2), plots=tmp_path)  # fmt: skip
    report = evaluate(toy, ctx).report
    assert report["model"]["mae"] < 0.5 * report["train_mean"]["mae"]  # it learnt the level
    assert sorted(p.name for p in (tmp_path / "attention").glob("*.png")) == ["00.png", "01.png"]
    examples = json.loads((tmp_path / "attention/examples.json").read_text())  # the report's
    assert [len(e["weights"]) for e in examples] == [len(e["tokens"]) for e in examples]
    assert [e["id"] for e in examples] == parts["test"]["id"].to_list()[:2]

    save_model(tmp_path / "bundle", model, extra={"data": toy.data_spec(meta)})
    scored = predict_frame(Predictor(tmp_path / "bundle", engine="torch"), raw.head(5))
    assert scored.columns == ["id", "predicted"] and scored.height == 5


def test_report_extensions_add_entries_to_the_evaluation(toy, tmp_path):
    raw = series_frame(40)
    frame, meta = encode_dataset(raw, toy.name, EncodeOptions(val=0.2, test=0.2))
    parts = toy.split(frame, source="toy")
    test = toy.tensors(parts["test"], source="toy")
    model = build_and_fit(
        ModelConfig(task=toy.name, input_kind="numeric", input_dim=1, embedding_dim=4,
                    hidden_dim=4),
        TrainConfig(epochs=1, progress=False), toy.tensors(parts["train"], source="toy"),
        toy.tensors(parts["val"], source="toy"),
    )[0]  # fmt: skip
    seen = []

    @toy.extend_report
    def items(ctx, result):
        seen.append(result.report["model"]["mae"])
        return {"items": {"test": len(ctx.test)}}

    ctx = EvalContext(model, ModelMeta(model.config), meta, tuple(parts.values()), test,
                      EvaluateConfig(heatmaps=0), plots=tmp_path)  # fmt: skip
    report = evaluate(toy, ctx).report
    assert report["items"] == {"test": len(test)} and seen == [report["model"]["mae"]]


def test_data_a_task_does_not_accept_is_one_clear_error(toy):
    tokens = pl.DataFrame({"id": ["a", "b"], "tokens": [["x", "y"], ["y", "z"]]})
    with pytest.raises(DataError, match="task 'series_mean' needs numeric series; this data "
                       r"holds token sequences \(a 'tokens' or 'text' column"):  # fmt: skip
        encode_dataset(tokens, toy.name, EncodeOptions())


def test_unknown_task_is_one_line_listing_the_known_ones():
    with pytest.raises(ConfigError) as err:
        get_task("translate")
    assert str(err.value) == "unknown task 'translate' (known: next_state, classify, forecast)"
    with pytest.raises(ValueError, match="unknown task 'translate'"):
        ModelConfig(task="translate", vocab_size=5)


@pytest.mark.parametrize("name", ["next_state", "classify", "forecast"])
def test_builtin_tasks_implement_the_protocol(name):
    task = get_task(name)
    assert isinstance(task, Task) and task.name == name and TASKS[name] is task


def test_reading_data_does_not_import_torch():
    """Task modules load when first asked for: listing or reading data stays light."""
    code = "import sys, attnlib.datasets, attnlib.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
