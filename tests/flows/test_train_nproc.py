"""``train.nproc: 2`` trains with DistributedDataParallel (torchrun, gloo on CPU) inside the
train stage and ends where one process ends: the global batch is the same."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml


def test_two_processes_match_one(tmp_path, monkeypatch, prefect_api, request):
    from flows.encode import encode
    from flows.ingest import ingest
    from flows.split import split
    from flows.train import train

    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(list("abcdef"), rng.integers(3, 14))) for _ in range(48)]
    (tmp_path / "d.txt").write_text("\n".join(lines) + "\n")
    params = yaml.safe_load((request.config.rootpath / "params.yaml").read_text())
    params["ingest"]["source"] = str(tmp_path / "d.txt")
    params["search"]["enabled"] = False
    # dropout 0 (AWD-LSTM's too): each rank draws its own masks, one process draws others
    params["train"].update(epochs=2, min_steps=0, hidden_dim=8, embedding_dim=8, batch_size=8,
                           dropout=0.0, embedding_dropout=0.0, locked_dropout=0.0,
                           weight_drop=0.0, resume=False)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for stage in (ingest, encode, split):
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        stage()

    results = {}
    for nproc in (1, 2):
        params["train"]["nproc"] = nproc
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        train()
        results[nproc] = json.loads((tmp_path / "metrics/train.json").read_text())
        assert (tmp_path / "models/model/model.json").is_file()
        assert not list(tmp_path.glob(".ddp-*"))  # the ranks' scratch directory is gone
    assert results[2]["epochs_run"] == results[1]["epochs_run"] == 2
    assert results[2]["best_val_loss"] == pytest.approx(results[1]["best_val_loss"], abs=1e-4)
    assert results[2]["train_loss"] == pytest.approx(results[1]["train_loss"], abs=1e-4)
