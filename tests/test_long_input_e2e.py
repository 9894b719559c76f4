"""A next-state file of 300 ordinary lines and one line of 200,000 tokens, through the real
ingest, encode, split and train stages: encode cuts the long line into windows
(``encode.max_length: auto``, logged) and training runs, with no traceback and no
allocation failure (whole, its T x T attention would need ~24 GB)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from bench.project import copy_project

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def test_a_200k_token_line_trains_in_windows(tmp_path, prefect_server):
    path = tmp_path / "p"
    copy_project(path)
    rng = random.Random(0)
    chords = [f"c{i}" for i in range(20)]
    lines = [" ".join(rng.choices(chords, k=rng.randint(5, 40))) for _ in range(300)]
    lines.insert(150, " ".join(rng.choices(chords, k=200_000)))
    (path / "data/input/long.txt").write_text("\n".join(lines) + "\n")
    params = yaml.safe_load((path / "params.yaml").read_text())
    params["ingest"].update(source="data/input/long.txt", workers=1)
    params["search"]["enabled"] = False
    params["train"].update(epochs=1, min_steps=0, hidden_dim=8, embedding_dim=8)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "PREFECT_API_URL": prefect_server, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                ["git", "commit", "-q", "-m", "long"]):  # fmt: skip
        subprocess.run(cmd, cwd=path, env=env, check=True)
    result = subprocess.run(["dvc", "repro", "train"], cwd=path, env=env, capture_output=True,
                            text=True, timeout=1500)  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-5000:]
    assert "Traceback" not in out and "allocate" not in out
    assert "1 sequence(s) longer than encode.max_length=" in out  # the policy, logged
    meta = json.loads((path / "data/vocab.json").read_text())
    cap = meta["input"]["max_length"]
    assert 40 <= cap <= 1000
    train = pl.read_parquet(path / "data/split/train.parquet")
    assert train["length"].max() <= cap
    assert (path / "models/model/model.safetensors").is_file()
