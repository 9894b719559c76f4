"""End to end: ``dvc repro`` of the whole pipeline on a tiny copy of the project.

Every stage runs its Prefect flow against one shared local server (the ``prefect_server``
fixture), as ``make repro`` does. Then: a second ``dvc repro`` does nothing, and an
experiment with another ``train.hidden_dim`` is compared with ``dvc metrics diff`` /
``dvc exp show``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench.project import copy_project

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent  # the venv's bin: python, dvc
TINY = {
    "ingest": {"limit": 6, "workers": 1},
    "split": {"val": 0.2, "test": 0.2},  # 6 sequences: 4 / 1 / 1 (0.1 would leave val empty)
    "search": {"enabled": True, "n_trials": 2, "epochs": 1},  # auto would skip 6 sequences
    "train": {"epochs": 2, "min_steps": 0, "hidden_dim": 16, "embedding_dim": 16},
    "evaluate": {"ngram_orders": [1, 2, 3], "heatmaps": 1},
}
OUTPUTS = [
    "data/raw.parquet",
    "data/vocab.json",
    "data/encoded.parquet",
    "data/embedding.safetensors",  # empty: no text here
    "data/split/train.parquet",
    "data/split/val.parquet",
    "data/split/test.parquet",
    "search/best.yaml",
    "search/trials.parquet",
    "models/model/model.safetensors",
    "models/model/model.json",
    "metrics/train.json",
    "metrics/eval.json",
    "plots/evaluate/confusion.png",
    "plots/learning_curve.png",
    "plots/confusion.json",
    "export/model.onnx",
    "export/model.json",
    "export/MODEL_CARD.md",
    "metrics/export.json",
]


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float = 1200) -> str:
    """Run ``cmd``; fail the test with its output unless it exits 0. Returns stdout + stderr."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-6000:]}"
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_server) -> tuple[Path, dict]:
    """A git + DVC copy of the project with tiny params, and the environment to run it in."""
    path = tmp_path_factory.mktemp("project")
    copy_project(path)
    params = yaml.safe_load((path / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PREFECT_API_URL": prefect_server,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GIT_AUTHOR_NAME": "e2e",
        "GIT_AUTHOR_EMAIL": "e2e@example.com",
        "GIT_COMMITTER_NAME": "e2e",
        "GIT_COMMITTER_EMAIL": "e2e@example.com",
    }
    env.pop("VIRTUAL_ENV", None)
    _run(["git", "init", "-q", "-b", "main"], path, env)
    _run(["git", "add", "-A"], path, env)
    _run(["git", "commit", "-q", "-m", "tiny project"], path, env)
    return path, env


@pytest.fixture(scope="module")
def reproduced(project) -> tuple[Path, dict, str]:
    """The first ``dvc repro`` (every stage), committed as the baseline."""
    path, env = project
    out = _run(["dvc", "repro"], path, env)
    _run(["git", "add", "-A"], path, env)
    _run(["git", "commit", "-q", "-m", "baseline"], path, env)
    return path, env, out


def test_repro_writes_every_output(reproduced):
    path, _, out = reproduced
    for stage in ("ingest", "encode", "split", "search", "train", "evaluate", "export"):
        assert f"Running stage '{stage}'" in out
    missing = [name for name in OUTPUTS if not (path / name).is_file()]
    assert not missing, f"missing outputs: {missing}"

    assert len(list((path / "plots/attention").glob("*.png"))) == 1  # evaluate.heatmaps: 1

    scores = json.loads((path / "metrics/eval.json").read_text())
    for name in ("model", "kneser_ney"):  # the model and its n-gram baseline
        metrics = scores[name]
        for key in ("accuracy", "top5_accuracy", "perplexity"):
            assert key in metrics, f"metrics/eval.json {name} has no '{key}': {sorted(metrics)}"
            assert math.isfinite(metrics[key]), f"{name}.{key} = {metrics[key]}"
        assert 0 <= metrics["accuracy"] <= metrics["top5_accuracy"] <= 1
        assert metrics["perplexity"] > 1


def test_train_uses_the_searched_params(reproduced):
    path, _, _ = reproduced
    best = yaml.safe_load((path / "search/best.yaml").read_text())
    saved = json.loads((path / "models/model/model.json").read_text())
    assert set(best) == {"lr", "dropout", "attention"}  # params.yaml's search space
    for key, value in best.items():
        config = saved["model_config"] if key in saved["model_config"] else saved["train_config"]
        assert config[key] == pytest.approx(value) if isinstance(value, float) else value, key


def test_second_repro_does_nothing(reproduced):
    path, env, _ = reproduced
    out = _run(["dvc", "repro"], path, env)
    assert "Running stage" not in out, out
    assert "Data and pipelines are up to date" in out, out


def test_plots_show_renders_curves_and_attention(reproduced, tmp_path):
    path, env, _ = reproduced
    _run(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], path, env)
    html = (tmp_path / "plots" / "index.html").read_text()
    assert "Learning curves" in html and "val_loss" in html
    assert "plots/attention" in html  # the heatmap PNGs, embedded
    assert "plots/confusion.json" in html


def test_predict_on_the_bundle_reproduces_test_accuracy(reproduced, tmp_path):
    path, env, _ = reproduced
    out = tmp_path / "preds.parquet"
    _run([str(BIN / "attnlib"), "predict", "export", "data/split/test.parquet", "--out", str(out)],
         path, env)  # fmt: skip
    import polars as pl

    scored = pl.read_parquet(out)["correct"].drop_nulls()
    accuracy = json.loads((path / "metrics/eval.json").read_text())["model"]["accuracy"]
    assert len(scored) > 0
    assert scored.mean() == pytest.approx(accuracy, abs=1e-9)


def test_experiment_is_compared(reproduced):
    path, env, _ = reproduced
    out = _run(["dvc", "exp", "run", "-S", "train.hidden_dim=8"], path, env)
    assert "Running stage 'train'" in out
    assert "Running stage 'ingest'" not in out  # data stages do not read train params

    # the experiment (now in the workspace) against the committed baseline run
    diff = json.loads(_run(["dvc", "metrics", "diff", "--json"], path, env))
    ppl = diff["metrics/eval.json"]["model.perplexity"]
    assert ppl["old"] > 1 and ppl["new"] > 1 and ppl["old"] != ppl["new"], diff

    show = json.loads(_run(["dvc", "exp", "show", "--json"], path, env))
    text = json.dumps(show)
    assert '"hidden_dim": 8' in text and '"hidden_dim": 16' in text
    assert {ppl["old"], ppl["new"]} <= set(_values_of(show, "perplexity"))
    # the model against its baselines: a yes / no column per experiment
    beats = _values_of(show, "beats_all")
    assert len(beats) >= 2 and all(isinstance(b, bool) for b in beats), beats


def _values_of(tree, key: str) -> list:
    """Every value stored under ``key`` anywhere in a JSON tree."""
    if isinstance(tree, dict):
        return [v for k, sub in tree.items() for v in ([sub] if k == key else _values_of(sub, key))]
    if isinstance(tree, list):
        return [v for sub in tree for v in _values_of(sub, key)]
    return []


def test_a_changed_input_file_makes_ingest_stale(reproduced):
    path, env, _ = reproduced

    def ingest_status() -> str:
        status = json.loads(_run(["dvc", "status", "ingest", "--json"], path, env))
        return json.dumps(status.get("ingest", []))

    assert "data/input" not in ingest_status()
    mine = path / "data/input/mine.txt"
    mine.write_text("C G Am F\nG D Em C\n")
    try:
        assert "data/input" in ingest_status()  # a file in data/input changed: ingest re-runs
    finally:
        mine.unlink()
    assert "data/input" not in ingest_status()
