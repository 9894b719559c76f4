"""Each task end to end on a tiny user file: ingest -> encode -> split -> train -> evaluate
(-> export), every stage's flow run against one local Prefect server.

The full ``dvc repro`` of next-state prediction is tests/test_pipeline_e2e.py; here the
flows are called in-process on tiny data, one task (and input kind) per case.
"""

from __future__ import annotations

import json
import math
from html import escape as html_escape

import numpy as np
import pytest
import yaml

from attnlib.versus import NOT_BASELINES

ROOT_PARAMS = "params.yaml"
TINY = {
    "search": {"enabled": False},
    "train": {
        "epochs": 2,
        "min_steps": 0,
        "hidden_dim": 8,
        "embedding_dim": 8,
        "batch_size": 8,
        "patience": 2,
    },
    "evaluate": {"heatmaps": 3, "ngram_orders": [1, 2]},  # of different lengths
    "export": {"parity_batches": 1},
}


def text_file(path):
    rng = np.random.default_rng(0)
    rows = ["text,label"]
    for i in range(60):
        good = i % 2 == 0
        words = rng.choice(["good", "great", "fine"] if good else ["bad", "awful", "poor"], 3)
        rows.append(f"{' '.join(words)} film {i},{'pos' if good else 'neg'}")
    path.write_text("\n".join(rows) + "\n")
    vectors = [
        f"{w} {' '.join(f'{v:.3f}' for v in rng.normal(size=5))}"
        for w in ("good", "great", "bad", "awful", "film")
    ]  # GloVe format, 5-d
    (path.parent / "vectors.txt").write_text("\n".join(vectors) + "\n")


def ucr_file(path):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(40):
        label = i % 2
        t = np.linspace(0, 1, 20)
        values = (np.sin(6 * t) if label else t) + 0.1 * rng.standard_normal(20)
        lines.append("\t".join([f"{label + 1}.0", *(f"{v:.4f}" for v in values)]))
    path.write_text("\n".join(lines) + "\n")


def long_file(path):
    t = np.arange(80)
    rows = ["date,load,temp"] + [
        f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{100 + i + 10 * np.sin(i / 2):.3f},{5 + i % 12}"
        for i in t
    ]
    path.write_text("\n".join(rows) + "\n")


def txt_file(path):
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(list("abcde"), rng.integers(2, 12))) for _ in range(40)]
    path.write_text("\n".join(lines) + "\n")


def seqlab_csv_file(path):
    rng = np.random.default_rng(0)
    rows = ["pitch\tdur"]
    for _ in range(40):
        for _ in range(rng.integers(2, 12)):
            rows.append(f"{rng.choice(list('abcde'))}4\t{rng.choice(['q', 'h'])}")
        rows.append(">*")
    path.write_text("\n".join(rows) + "\n")


def tsv_file(path):
    text_file(path.with_suffix(".csv"))
    path.write_text(path.with_suffix(".csv").read_text().replace(",", "\t"))


CASES = {
    "next_state": ("next_state", "d.txt", txt_file,  # calibrated on the refit's start
                   {"train": {**TINY["train"], "refit": True}}),
    "classify_text": ("classify", "d.csv", text_file,  # char n-grams, 5-d vectors -> 8
                      {"encode": {"vectors": "vectors.txt"}}),
    "classify_series": ("classify", "d.txt", ucr_file,  # pooled attention
                        {"train": {**TINY["train"], "name": "cnn_bilstm_attention"}}),
    "next_state_seqlab_csv": ("next_state", "d.csv", seqlab_csv_file,
                              {"evaluate": {**TINY["evaluate"], "top_k": 3}}),
    "classify_tsv_text": ("classify", "d.tsv", tsv_file,  # recorded for predict
                          {"encode": {"vectors": ""}, "ingest": {"encoding": "cp1252"}}),
    "forecast": ("forecast", "d.csv", long_file,  # the default: the network alone
                 {"encode": {"lookback": 8, "horizon": 4, "targets": ["load"]}}),
    "forecast_combined": ("forecast", "d.csv", long_file,  # with Holt-Winters (an option)
                          {"encode": {"lookback": 8, "horizon": 4, "targets": ["load"]},
                           "evaluate": {**TINY["evaluate"], "combine": "auto"}}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_task_end_to_end(case, tmp_path, monkeypatch, prefect_api, request):
    from attnlib.datasets import read_source
    from attnlib.persistence import read_meta
    from attnlib.predict import Predictor, predict_frame
    from attnlib.tasks import get_task
    from flows.encode import encode
    from flows.evaluate import evaluate
    from flows.export import export
    from flows.ingest import ingest
    from flows.split import split
    from flows.train import train

    task, name, make, extra = CASES[case]
    make(tmp_path / name)
    params = yaml.safe_load((request.config.rootpath / ROOT_PARAMS).read_text())
    params["task"] = task
    params["ingest"]["source"] = str(tmp_path / name)
    for section, values in {**TINY, **extra}.items():
        params[section].update(values)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in (ingest, encode, split, train, evaluate, export):
        stage()

    fitted = json.loads((tmp_path / "metrics/train.json").read_text())
    assert all(r["epochs_run"] <= 2 for r in fitted.get("members", [fitted]))  # TINY applies
    report = json.loads((tmp_path / "metrics/eval.json").read_text())
    saved = json.loads((tmp_path / "models/calibration.json").read_text())
    bundled = read_meta(tmp_path / "export").extra["trust"]
    assert bundled == saved and saved["alpha"] == 0.1
    trust = {k: report.pop(k) for k in ("calibration", "conformal") if k in report}
    assert 0 <= trust["conformal"]["coverage"] <= 1 and trust["conformal"]["alpha"] == 0.1
    html = (tmp_path / "export/report.html").read_text()
    assert "Model card" in html or "MODEL_CARD" in html or "model card" in html.lower()
    # the model against its baselines, by the task's headline metric, as the figures say
    against, key = report.pop("versus"), get_task(task).headline
    baselines = [m[key] for name, m in report.items() if name not in NOT_BASELINES and key in m]
    lower = key in ("perplexity", "mase")
    assert against["metric"] == key and against["model"] == report["model"][key]
    assert against["baseline"] == (min if lower else max)(baselines)
    ours = report["model"][key]
    assert against["beats_all"] == all(ours < b if lower else ours > b for b in baselines)
    assert f"The model {against['verdict']}." in (tmp_path / "export/MODEL_CARD.md").read_text()
    assert html_escape(against["verdict"]) in html
    if task != "forecast":  # classes: calibration, sets and the faithfulness verdict
        faith = report.pop("faithfulness")
        assert faith["verdict"] in ("yes", "no") and faith["verdict_line"] in html
        assert faith["verdict_line"] in (tmp_path / "export/MODEL_CARD.md").read_text()
        assert math.isfinite(faith["top_minus_random"])
        cal = trust["calibration"]
        assert cal["temperature"] == saved["temperature"] > 0
        # every real test prediction, as the model's own metrics count them
        assert cal["n"] == report["model"].get("test_tokens", report["model"]["test_sequences"])
        assert all(math.isfinite(cal[f"{m}_{w}"]) for m in ("ece", "brier", "nll")
                   for w in ("before", "after"))  # fmt: skip
        assert 0 < cal["ece_floor_after"] < cal["ece_floor_p90_after"]  # the split's noise
        card = (tmp_path / "export/MODEL_CARD.md").read_text()
        assert f"up to {cal['ece_floor_p90_after']:.4f} on these {cal['n']} items" in card
        # the accuracy of the predictions T was fitted on, beside the model's test accuracy
        assert 0 <= cal["accuracy_fitted_on"] <= 1
        assert (f"fitted on {cal['accuracy_fitted_on']:.3f}, on test "
                f"{report['model']['accuracy']:.3f}") in card  # fmt: skip
        if "nll" in report["model"]:  # next_state: the same NLL before scaling
            assert cal["nll_before"] == pytest.approx(report["model"]["nll"], rel=1e-4)
        # the default rule (exact APS) may leave a set empty, never more than every label
        assert trust["conformal"]["rule"] == saved["set_rule"] == "exact"
        assert trust["conformal"]["threshold"] == saved["set_threshold"]  # what predict uses
        if saved["set_threshold"] is None:  # too few calibration items: every set is full
            meta = read_meta(tmp_path / "export")
            assert trust["conformal"]["mean_set_size"] == len(meta.label_map or meta.vocab.itos)
        assert (tmp_path / "plots/evaluate/reliability.png").is_file()
    else:  # intervals: one width per horizon step and target
        assert len(trust["conformal"]["coverage_per_step"]) == 4
        assert np.shape(saved["half_width"]) == (4, 1) and "calibration" not in trust
    if task == "next_state":
        assert set(report) == {"model", "kneser_ney"}
        k = params["evaluate"]["top_k"]  # the model and the baseline report the same top-k
        for m in report.values():
            assert {f"top{k}_accuracy", "accuracy"} <= set(m)
            assert ("top5_accuracy" in m) == (k == 5)
    elif task == "classify":
        expected = {"model", "majority", "tfidf_svm" if case.endswith("text") else "nn1_euclidean"}
        assert set(report) == expected
        assert all(0 <= m["accuracy"] <= 1 and "macro_f1" in m for m in report.values())
        if case.endswith("text"):  # the word input layer: n-grams (+ vectors) in the bundle
            cfg = read_meta(tmp_path / "export").model_config
            assert cfg.subword_rows > 1 and cfg.vectors_dim == (5 if case == "classify_text" else 0)
    else:
        if case == "forecast_combined":  # equal weights: 2 validation windows cannot
            # choose one (attnlib.combination); the network alone beside the combination
            assert report["model"]["holt_winters_weight"] == saved["holt_winters_weight"] == 0.5
            assert "2 validation window(s)" in report["model"]["combine_rule"]
            assert set(report) == {"model", "network", "naive", "seasonal_naive", "holt_winters"}
        else:  # the default: the network alone
            assert report["model"]["holt_winters_weight"] == saved["holt_winters_weight"] == 0
            assert saved["holt_winters_history"] == 0  # predict fits no Holt-Winters
            assert set(report) == {"model", "naive", "seasonal_naive", "holt_winters"}
        for m in report.values():
            assert all(math.isfinite(m[k]) for k in ("mae", "rmse", "mape", "smape", "mase"))
        assert report["model"]["test_windows"] == 2  # 8 test steps = 2 horizons
        meta = read_meta(tmp_path / "export")
        assert meta.model_config.horizon == 4 and meta.model_config.input_dim == 2
        assert meta.extra["data"]["forecast"]["targets"] == ["load"]
    pictures = sorted(p.name for p in (tmp_path / "plots/evaluate").iterdir())
    assert pictures == (
        ["forecast.png"] if task == "forecast" else ["confusion.png", "reliability.png"]
    )  # the task's, no notes
    heatmaps = len(list((tmp_path / "plots/attention").glob("*.png")))
    assert heatmaps == (2 if task == "forecast" else 3)  # forecast: 2 test windows
    trained = read_meta(tmp_path / "export").extra["training_data"]
    assert trained.get("encoding") == extra.get("ingest", {}).get("encoding")  # none: UTF-8
    export_metrics = json.loads((tmp_path / "metrics/export.json").read_text())
    assert export_metrics["onnx_max_abs_diff"] < 1e-4
    streams = task == "next_state"  # the bundle holds the streaming step graph, checked
    assert (tmp_path / "export/stream.onnx").is_file() == streams
    assert ("stream_onnx_max_abs_diff" in export_metrics) == streams
    if streams:
        assert export_metrics["stream_onnx_max_abs_diff"] < 1e-5
        assert "stream.onnx" in (tmp_path / "export/MODEL_CARD.md").read_text()

    # the bundle scores the raw user file (its scaling statistics travel with it)
    scored = predict_frame(Predictor(tmp_path / "export"), read_source(tmp_path / name))
    if task == "next_state":
        assert scored["id"].n_unique() == 40
    elif task == "forecast":  # the point forecast inside its conformal interval
        assert scored.columns == ["step", "load", "load_lower", "load_upper"]
        assert scored["step"].to_list() == [1, 2, 3, 4]
        assert 50 < scored["load"].mean() < 400
        width = np.asarray(saved["half_width"], dtype=float)[:, 0]
        np.testing.assert_allclose(scored["load_upper"] - scored["load"], width, rtol=1e-6)
        np.testing.assert_allclose(scored["load"] - scored["load_lower"], width, rtol=1e-6)
        from attnlib.api import Model  # from Python, the value columns alone will do

        channels = read_source(tmp_path / name).drop("time")
        by_api = Model(tmp_path / "export").predict(channels)
        np.testing.assert_allclose(by_api["load"], scored["load"], rtol=1e-6)
        if case == "forecast_combined":
            combined_as_evaluated(tmp_path / "export", read_source(tmp_path / name), saved)
    else:
        assert scored.height == (60 if case.endswith("text") else 40)
        assert set(scored["predicted"].to_list()) <= {"pos", "neg", "1", "2"}
    if task != "forecast":
        calibrated_probabilities_and_sets(tmp_path, task, name, saved["temperature"])
    asked = params["train"].get("refit", "auto")  # auto: the rule's choice (train.json)
    fitted_on_the_heldout_start(tmp_path, task, trust, saved, fitted,
                                fitted.get("auto", {}).get("refit") if asked == "auto"
                                else asked is True)  # fmt: skip


def combined_as_evaluated(bundle, frame, saved):
    """``predict`` combines the network's forecast with Holt-Winters fitted on the whole
    input, at the weight and period evaluate saved."""
    import polars as pl

    from attnlib.api import Model
    from attnlib.baselines.forecast import holt_winters
    from attnlib.errors import DataError
    from attnlib.predict import Predictor, predict_frame

    predictor = Predictor(bundle)
    combined = predict_frame(predictor, frame)["load"].to_numpy()
    predictor.meta.extra["trust"]["holt_winters_weight"] = 0.0  # the network alone
    network = predict_frame(predictor, frame)["load"].to_numpy()
    hw = holt_winters(frame["load"].to_numpy(), 4, saved["season"])
    w = saved["holt_winters_weight"]
    np.testing.assert_allclose(combined, (1 - w) * network + w * hw, rtol=1e-6)
    assert not np.allclose(combined, network)
    predictor.meta.extra["trust"]["holt_winters_weight"] = w
    gap = frame.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(None)
                             .otherwise(pl.col("load")).alias("load"))  # fmt: skip
    with pytest.raises(DataError, match="column 'load', row 3: nan is not a number"):
        predict_frame(predictor, gap)  # Holt-Winters reads every row: none may be missing
    # evaluate fitted Holt-Winters on at least the history before the first validation
    # window; a shorter input would get another model (no seasons under two periods)
    need = saved["holt_winters_history"]
    assert 0 < need < frame.height
    predict_frame(predictor, frame.tail(need))
    with pytest.raises(DataError, match=f"{need - 1} rows: .* at least {need} steps of history"):
        predict_frame(predictor, frame.tail(need - 1))
    # the command line and the API name the file the rows came from
    with pytest.raises(DataError, match=r"^mine\.csv: .* steps of history"):
        Model(bundle).predict(frame.tail(need - 1), source="mine.csv")


def fitted_on_the_heldout_start(tmp_path, task, trust, saved, fitted: dict, asked: bool):
    """A refitted model (``asked``: the case sets ``train.refit: true``) is calibrated on
    the validation predictions of the early-stopped model the refit started from
    (``fitted``: metrics/train.json)."""
    import torch

    from attnlib.data import PAD_ID
    from attnlib.evaluate import predict
    from attnlib.folds import calibration_sets
    from attnlib.persistence import load_heldout, load_model
    from attnlib.tasks import get_task
    from attnlib.trust import fit_temperature, real_positions
    from flows._data import load_data, read_split

    refitted = any("refit_epochs" in m for m in [fitted, *fitted.get("members", [])])
    heldout = load_heldout(tmp_path / "models/model")
    assert (heldout is not None) == refitted == asked  # asked for, and kept by the guard
    model, meta = load_model(tmp_path / "models/model")
    folds = meta.extra.get("calibration_folds") or []  # a refitted ensemble: rotated folds
    assert bool(folds) == bool(asked and task == "classify" and meta.ensemble > 1)
    if any(folds):  # each member predicts the fold it held out (tests/attnlib/test_folds.py)
        assert trust["conformal"]["fitted_on"].startswith("out-of-fold")
        sets = calibration_sets(task, model, heldout, folds, int(meta.train_config["seed"]),
                                read_split("train"), read_split("val"))  # fmt: skip
        outs, ys = [], []
        for member, rows in sets:
            o, y, _ = predict(member, get_task(task).tensors(rows, source="fold"))
            outs, ys = outs + o, ys + y
        z, y = torch.cat(outs).numpy(), torch.cat(ys).numpy()
        assert saved["temperature"] == pytest.approx(fit_temperature(z, y), rel=1e-6)
        return
    assert trust["conformal"]["fitted_on"] == ("val, pre-refit model" if refitted else "val")
    if not refitted or task == "forecast":
        return
    outs, ys, _ = predict(heldout, load_data("val", task)[1])
    z, y = (real_positions(outs, ys, PAD_ID) if task == "next_state"
            else (torch.cat(outs).numpy(), torch.cat(ys).numpy()))  # fmt: skip
    assert saved["temperature"] == pytest.approx(fit_temperature(z, y), rel=1e-6)


def calibrated_probabilities_and_sets(root, task, name, temperature):
    """The ONNX bundle divides the logits by the fitted temperature (eager PyTorch on the
    bundle too); ``predict --sets`` writes each row's set, led by the predicted class."""
    from attnlib.data import Batches
    from attnlib.datasets import read_source
    from attnlib.predict import Predictor, predict_frame
    from flows._data import load_data

    _, test = load_data("test", task)
    b = next(iter(Batches(test, 8)))
    x, lengths = b.x.numpy(), b.lengths.numpy()
    model = Predictor(root / "models/model", engine="torch")
    raw, _ = model(x, lengths)  # not calibrated
    if temperature == 1.0:  # kept at 1 only when every validation item is right
        _, val = load_data("val", task)
        for vb in Batches(val, 64):
            z, _ = model(vb.x.numpy(), vb.lengths.numpy())
            pred = z.argmax(-1) if z.ndim == 2 else (z > 0).astype(int)
            assert (pred == vb.y.numpy()).all()
    for engine in ("onnx", "torch"):
        out, _ = Predictor(root / "export", engine=engine)(x, lengths)
        np.testing.assert_allclose(out, raw / temperature, rtol=1e-4, atol=1e-5)
    rows = predict_frame(Predictor(root / "export"), read_source(root / name), sets=True)
    members = rows["set_members"].to_list()
    assert all(m[:1] in ([], [p]) for m, p in zip(members, rows["predicted"], strict=True))
    again = predict_frame(Predictor(root / "export"), read_source(root / name), sets=True)
    assert again["set_members"].to_list() == members  # each row's U comes from its key
    assert all(set(m) <= set(Predictor(root / "export").meta.label_map or m) for m in members)
