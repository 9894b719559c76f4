"""flows/nightly.py: the experiment name, the -S arguments, reading back dvc exp show."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import pytest

from attnlib.errors import ConfigError
from flows.nightly import (
    DEFAULT_NAME,
    PipelineError,
    check_project,
    experiment_metrics,
    experiment_name,
    metrics_markdown,
    set_args,
)

NOW = datetime(2025, 3, 4, 2, 0, 7, tzinfo=timezone.utc)


def test_experiment_name_from_template():
    assert experiment_name(DEFAULT_NAME, NOW) == "nightly-20250304-020007"
    assert experiment_name("night-{now:%Y%m%d}", NOW) == "night-20250304"


@pytest.mark.parametrize("template", ["nightly-{date}", "nightly-{now:%H:%M}", "a b", "x..y"])
def test_bad_experiment_names_name_the_parameter(template):
    with pytest.raises(ConfigError, match="parameter 'experiment'"):
        experiment_name(template, NOW)


def test_set_params_become_dvc_set_arguments():
    args = set_args({"train.epochs": 2, "train.name": "bilstm_attention",
                     "evaluate.ngram_orders": [1, 2], "train.resume": False})  # fmt: skip
    assert args == ["-S", "train.epochs=2", "-S", "train.name=bilstm_attention",
                    "-S", "evaluate.ngram_orders=[1, 2]", "-S", "train.resume=false"]  # fmt: skip
    assert set_args(None) == [] == set_args({})


SHOW = [  # the shape of `dvc exp show --json` (dvc 3)
    {"rev": "workspace", "name": None, "data": {}, "experiments": None},
    {
        "rev": "abc123",
        "name": "main",
        "data": {},
        "experiments": [
            {
                "name": "nightly-20250304-020007",
                "revs": [
                    {
                        "rev": "def456",
                        "name": "nightly-20250304-020007",
                        "data": {
                            "metrics": {
                                "metrics/eval.json": {"data": {"model": {"accuracy": 0.5}}},
                                "metrics/train.json": {"data": {"epochs_run": 2}},
                            }
                        },
                    }
                ],
            }
        ],
    },
]


def test_metrics_are_read_back_from_the_recorded_experiment():
    metrics = experiment_metrics(SHOW, "nightly-20250304-020007")
    assert metrics == {"metrics/eval.json": {"model": {"accuracy": 0.5}},
                       "metrics/train.json": {"epochs_run": 2}}  # fmt: skip
    with pytest.raises(PipelineError, match="not in `dvc exp show`"):
        experiment_metrics(SHOW, "nightly-19990101-000000")


def test_metrics_markdown_has_one_row_per_metric():
    text = metrics_markdown("n1", experiment_metrics(SHOW, "nightly-20250304-020007"))
    assert "| metrics/eval.json | model.accuracy | 0.5 |" in text
    assert "| metrics/train.json | epochs_run | 2 |" in text


def test_check_project_needs_dvc_and_a_git_commit(tmp_path):
    with pytest.raises(ConfigError, match="not a DVC project"):
        check_project.fn(tmp_path)
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / ".dvc").mkdir()
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    with pytest.raises(ConfigError, match="git repository with a commit"):
        check_project.fn(tmp_path)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
         "-m", "init"], cwd=tmp_path, check=True,
    )  # fmt: skip
    check_project.fn(tmp_path)
