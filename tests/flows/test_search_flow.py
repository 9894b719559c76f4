"""The search stage: reads train/val only, writes best.yaml / trials / plots, continues."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml

from attnlib.vocab import Vocabulary

TOKENS = [f"t{i}" for i in range(8)]
PARAMS = {
    "task": "next_state",
    "seed": 0,
    "search": {
        "enabled": True,
        "n_trials": 3,
        "epochs": 2,
        "pruner": "median",
        "space": {
            "lr": {"min": 1.0e-3, "max": 5.0e-2, "log": True},
            "dropout": {"min": 0.0, "max": 0.4, "step": 0.2},
            "attention": {"values": ["general", "dot"]},
        },
    },
    "train": {"embedding_dim": 8, "hidden_dim": 8, "batch_size": 16, "device": "cpu"},
}


def _frame(n: int, offset: int, vocab: Vocabulary) -> pl.DataFrame:
    tokens = [[TOKENS[(i + j) % 8] for j in range(4 + i % 5)] for i in range(offset, offset + n)]
    ids = [vocab.encode(t) for t in tokens]
    return pl.DataFrame(
        {
            "id": [f"s{i}" for i in range(offset, offset + n)],
            "tokens": tokens,
            "ids": pl.Series(ids, dtype=pl.List(pl.Int32)),
            "length": pl.Series([len(s) for s in ids], dtype=pl.Int32),
        }
    )


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory after the split stage; its test split is unreadable garbage."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    vocab = Vocabulary(TOKENS)
    (tmp_path / "data/split").mkdir(parents=True)
    (tmp_path / "data/vocab.json").write_text(json.dumps({**vocab.to_dict(), "labels": None}))
    _frame(40, 0, vocab).write_parquet(tmp_path / "data/split/train.parquet")
    _frame(12, 40, vocab).write_parquet(tmp_path / "data/split/val.parquet")
    (tmp_path / "data/split/test.parquet").write_bytes(b"not parquet: the search must not look")
    reads = []
    real = pl.read_parquet
    monkeypatch.setattr(
        pl, "read_parquet", lambda p, *a, **k: reads.append(str(p)) or real(p, *a, **k)
    )
    return tmp_path, reads


def test_search_configs_match_what_train_builds_from_best_yaml():
    from attnlib.config import ModelConfig, TrainConfig
    from attnlib.search_space import apply_overrides
    from flows._params import model_and_train_configs

    base = model_and_train_configs(PARAMS, vocab_size=10)
    for overrides in ({"lr": 0.01, "dropout": 0.2}, {"attention": "dot", "batch_size": 8}):
        m, t = apply_overrides(*base, overrides)
        assert (m, t) == model_and_train_configs(PARAMS, overrides, vocab_size=10)
        assert isinstance(m, ModelConfig) and isinstance(t, TrainConfig)


def test_disabled_search_writes_empty_outputs(project, prefect_api):
    from flows.search import search

    tmp, _ = project
    params = {**PARAMS, "search": {**PARAMS["search"], "enabled": False}}
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    assert search() == {}
    assert (tmp / "search/best.yaml").read_text() == "{}\n"
    assert pl.read_parquet(tmp / "search/trials.parquet").height == 0
    assert json.loads((tmp / "search/plots/history.json").read_text()) == []
    assert (tmp / "search/study.db").exists()  # dvc.yaml tracks it
    assert (tmp / "search/plots/importance.png").stat().st_size > 0


def test_search_stage_end_to_end_never_reads_test(project, prefect_api):
    from flows._params import model_and_train_configs
    from flows.search import search

    tmp, reads = project
    state = search(return_state=True)
    best = state.result()
    assert set(best) == {"lr", "dropout", "attention"}
    assert _gpu_tasks(state.state_details.flow_run_id) == ["tune"]  # the gpu limit caps trials
    assert yaml.safe_load((tmp / "search/best.yaml").read_text()) == best
    model_and_train_configs(PARAMS, best, vocab_size=10)  # train accepts it
    trials = pl.read_parquet(tmp / "search/trials.parquet")
    assert trials.height == 3 and set(trials["state"]) <= {"COMPLETE", "PRUNED"}
    assert {"params_lr", "params_dropout", "params_attention", "epochs", "seconds"} <= set(
        trials.columns
    )
    hist = json.loads((tmp / "search/plots/history.json").read_text())
    assert hist and set(hist[0]) == {"trial", "value", "best_so_far"}
    for png in ("history.png", "importance.png"):
        assert (tmp / "search/plots" / png).read_bytes()[:4] == b"\x89PNG"
    assert search() == best  # a re-run continues the finished study: nothing new
    assert pl.read_parquet(tmp / "search/trials.parquet").height == 3
    assert reads and not any("test" in p.rsplit("/", 1)[-1] for p in reads), reads


def _gpu_tasks(flow_run_id) -> list[str]:
    """Names of the flow run's task runs tagged ``gpu``."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterTags,
    )
    from prefect.settings import PREFECT_API_URL

    from flows.worker import client

    with client(PREFECT_API_URL.value()) as c:
        runs = c.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(tags=TaskRunFilterTags(all_=["gpu"])),
        )
    return [r.name.rsplit("-", 1)[0] for r in runs]


def test_cli_rejects_zero_workers(monkeypatch):
    from flows import search as stage

    monkeypatch.setattr("sys.argv", ["flows.search", "--workers", "0"])
    with pytest.raises(SystemExit) as exc:
        stage.main()
    assert exc.value.code == 2
