"""``train.ensemble: 3`` trains three members, one gpu-tagged task each in a worker process
(all three side by side, even on 2 cores); member 0 is exactly the model ``ensemble: 1``
trains, the saved model averages them, and evaluate scores the ensemble as one model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml


def run_classify_stages(tmp_path, monkeypatch, request, source, stages, **train) -> None:
    """Run ``stages`` in ``tmp_path`` on ``source`` with the project's params.yaml: task
    classify, no search, a tiny LSTM + attention with ``train``'s settings."""
    params = yaml.safe_load((request.config.rootpath / "params.yaml").read_text())
    params["task"] = "classify"
    params["ingest"]["source"] = str(source)
    params["search"]["enabled"] = False
    params["train"].update(name="lstm_attention", min_steps=0, hidden_dim=8, batch_size=8,
                           resume=False, **train)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in stages:
        stage()


def test_members_train_side_by_side_up_to_twice_the_cores():
    from flows._fit import side_by_side

    assert side_by_side(3, 2) == 3  # not 2 rounds with one core idle in the second
    assert side_by_side(8, 2) == 4
    assert side_by_side(2, 8) == 2
    assert side_by_side(3, 1) == 2
    assert side_by_side(1, 1) == 1


def test_ensemble_members_and_average(tmp_path, monkeypatch, prefect_api, request):
    from attnlib.ensemble import Ensemble
    from attnlib.persistence import load_model
    from flows.encode import encode
    from flows.evaluate import evaluate
    from flows.ingest import ingest
    from flows.split import split
    from flows.train import train

    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(list("abcdef"), rng.integers(3, 14))) for _ in range(48)]
    (tmp_path / "d.txt").write_text("\n".join(lines) + "\n")
    params = yaml.safe_load((request.config.rootpath / "params.yaml").read_text())
    params["ingest"]["source"] = str(tmp_path / "d.txt")
    params["search"]["enabled"] = False
    params["train"].update(epochs=2, min_steps=0, hidden_dim=8, embedding_dim=8, batch_size=8,
                           resume=False)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for stage in (ingest, encode, split):
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        stage()

    results = {}
    for n in (1, 3):
        params["train"]["ensemble"] = n
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        train()
        results[n] = json.loads((tmp_path / "metrics/train.json").read_text())
    single, ens = results[1], results[3]
    assert len(ens["members"]) == 3 and ens["ensemble"] == 3
    assert ens["members"][0]["best_val_loss"] == pytest.approx(single["best_val_loss"], abs=1e-6)
    assert ens["members"][1]["best_val_loss"] != pytest.approx(single["best_val_loss"], abs=1e-6)
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("member-*")) == [
        "member-0",
        "member-1",
        "member-2",
    ]
    model, meta = load_model(tmp_path / "models/model")
    assert isinstance(model, Ensemble) and meta.ensemble == 3
    # averaging probabilities can only help the log loss (Jensen), up to the members' mean
    mean_member = np.mean([m["best_val_loss"] for m in ens["members"]])
    assert ens["best_val_loss"] <= mean_member + 1e-6
    evaluate()  # the ensemble is evaluated as one model
    assert "model" in json.loads((tmp_path / "metrics/eval.json").read_text())


def test_refitted_members_hold_out_rotated_folds_for_calibration(
    tmp_path, monkeypatch, prefect_api, request
):
    """A refitted ensemble of series: member k >= 1 holds out fold k of the training split,
    and evaluate fits the temperature and the conformal threshold on every member's
    out-of-fold predictions (val + 2 folds), not on the validation split alone."""
    import polars as pl
    import torch

    from attnlib.ensemble import Ensemble
    from attnlib.evaluate import predict
    from attnlib.folds import fold_frames
    from attnlib.persistence import load_heldout, read_meta
    from attnlib.tasks import get_task
    from attnlib.trust import fit_temperature
    from flows._data import read_split
    from flows.encode import encode
    from flows.evaluate import evaluate
    from flows.ingest import ingest
    from flows.split import split
    from flows.train import train

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 16)
    values = [((np.sin(6 * t) if i % 2 else t) + 0.6 * rng.standard_normal(16)).tolist()
              for i in range(90)]  # fmt: skip
    labels = [str(i % 2 + 1) for i in range(90)]
    pl.DataFrame({"values": values, "label": labels}).write_parquet(tmp_path / "d.parquet")
    run_classify_stages(tmp_path, monkeypatch, request, tmp_path / "d.parquet",
                        (ingest, encode, split, train, evaluate), epochs=2, ensemble=3,
                        refit=True)  # fmt: skip

    meta = read_meta(tmp_path / "models/model")
    assert meta.extra["calibration_folds"] == [0, 1, 2]
    task = get_task("classify")
    train_rows, val_rows = (task.usable(read_split(s)) for s in ("train", "val"))
    heldout = load_heldout(tmp_path / "models/model")
    assert isinstance(heldout, Ensemble)
    outs, ys, ids = [], [], set()
    for fold, member in enumerate(heldout.members):
        rows = fold_frames(train_rows, val_rows, fold, int(meta.train_config["seed"]))[1]
        ids |= set(rows["id"])
        o, y, _ = predict(member, task.tensors(rows, source="fold"))
        outs, ys = outs + o, ys + y
    assert len(ids) == sum(len(y) for y in ys) > 2 * len(val_rows)  # disjoint folds
    report = json.loads((tmp_path / "metrics/eval.json").read_text())
    assert report["conformal"]["fitted_on"].startswith("out-of-fold")
    assert report["conformal"]["n_calibration"] == len(ids)
    saved = json.loads((tmp_path / "models/calibration.json").read_text())
    z, y = torch.cat(outs).numpy(), torch.cat(ys).numpy()
    assert saved["temperature"] == pytest.approx(fit_temperature(z, y), rel=1e-6)
