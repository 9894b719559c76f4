"""``train.ensemble: 2`` trains two members, one gpu-tagged task each in a worker process;
member 0 is exactly the model ``ensemble: 1`` trains, the saved model averages both, and
evaluate scores the ensemble as one model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml


@pytest.fixture
def api(prefect_server, monkeypatch):
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # the members' worker processes read the server from the environment, as under make repro
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield
        APILogWorker.drain_all(timeout=5)


def test_ensemble_members_and_average(tmp_path, monkeypatch, api, request):
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
    for n in (1, 2):
        params["train"]["ensemble"] = n
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        train()
        results[n] = json.loads((tmp_path / "metrics/train.json").read_text())
    single, ens = results[1], results[2]
    assert len(ens["members"]) == 2 and ens["ensemble"] == 2
    assert ens["members"][0]["best_val_loss"] == pytest.approx(single["best_val_loss"], abs=1e-6)
    assert ens["members"][1]["best_val_loss"] != pytest.approx(single["best_val_loss"], abs=1e-6)
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("member-*")) == [
        "member-0",
        "member-1",
    ]
    model, meta = load_model(tmp_path / "models/model")
    assert isinstance(model, Ensemble) and meta.ensemble == 2
    # averaging probabilities can only help the log loss (Jensen), up to the members' mean
    mean_member = np.mean([m["best_val_loss"] for m in ens["members"]])
    assert ens["best_val_loss"] <= mean_member + 1e-6
    evaluate()  # the ensemble is evaluated as one model
    assert "model" in json.loads((tmp_path / "metrics/eval.json").read_text())
