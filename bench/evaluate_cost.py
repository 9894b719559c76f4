"""What the trust checks add to the evaluate stage on the default data (issue #13's budget).

Trains the default project (chorales, every param at its default but ``search.enabled=false``
and ``train.epochs=3``: evaluate's cost does not depend on how well the model is trained),
then measures, in that project:

- ``stage_s``: the evaluate stage as ``dvc repro`` runs it (``sh flows/stage.sh evaluate``:
  Python start, imports, the Prefect flow, writing metrics and plots), the median of 3;
- ``work_s`` / ``work_without_trust_s``: the evaluation itself in one process (model and
  baselines, plots, heatmaps) with the task's report extensions (calibration, conformal
  sets, faithfulness) and without them, the median of 3 each, after one warm-up;
- ``trust_share`` = (work - work without trust) / (stage - that difference): the added
  time as a share of the stage without it (the budget is 0.20).

    python bench/evaluate_cost.py        # -> bench/results/evaluate_cost.json (~5 min)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, machine
from project import copy_project
from quality import project_env

BUDGET = 0.20
INPROCESS = """
import json, statistics, sys, time
sys.path.insert(0, ".")
from attnlib.evaluate import evaluate
from attnlib.persistence import load_model
from attnlib.tasks import EvalContext, get_task
from flows._data import load_data, load_meta, read_split
from flows._params import (MODEL_DIR, PLOTS_DIR, EvaluateParams, load_params, section,
                           seed_of, task_of)

params = load_params()
name = task_of(params)
task = get_task(name)
extensions = list(task.extensions)

def once(trust):
    task.extensions[:] = extensions if trust else []
    model, saved = load_model(MODEL_DIR)
    frame, test = load_data("test", name)
    splits = (read_split("train"), read_split("val"), frame)
    ctx = EvalContext(model, saved, load_meta(), splits, test,
                      section(params, "evaluate", EvaluateParams), seed_of(params), PLOTS_DIR)
    t0 = time.perf_counter()
    evaluate(task, ctx)
    return time.perf_counter() - t0

once(True)  # warm-up: first imports and allocations
runs = {"with": [], "without": []}
for _ in range(3):
    runs["with"].append(once(True))
    runs["without"].append(once(False))
print(json.dumps({k: statistics.median(v) for k, v in runs.items()}))
"""


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--help`` prints the docstring; anything else unknown is an error."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser.parse_args(argv)


def main() -> None:
    _args()
    with project_env() as env, tempfile.TemporaryDirectory(prefix="evaluate-cost-") as tmp:
        path = Path(tmp)
        copy_project(path)
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *cmd], cwd=path, check=True, env=env)
        run = ["dvc", "exp", "run", "-S", "search.enabled=false", "-S", "train.epochs=3"]
        subprocess.run(run, cwd=path, env=env, check=True, capture_output=True)
        stage = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(["sh", "flows/stage.sh", "evaluate"], cwd=path, env=env, check=True,
                           capture_output=True)  # fmt: skip
            stage.append(time.perf_counter() - t0)
        out = subprocess.run([sys.executable, "-c", INPROCESS], cwd=path, env=env, check=True,
                             capture_output=True, text=True)  # fmt: skip
        work = json.loads(out.stdout.strip().splitlines()[-1])
    stage_s = statistics.median(stage)
    added = work["with"] - work["without"]
    result = {
        "machine": machine(),
        "threads": os.environ.get("OMP_NUM_THREADS", "torch default"),
        "stage_s": round(stage_s, 2),
        "work_s": round(work["with"], 2),
        "work_without_trust_s": round(work["without"], 2),
        "trust_s": round(added, 2),
        "trust_share": round(added / (stage_s - added), 3),
        "budget": BUDGET,
    }
    result["met"] = result["trust_share"] <= BUDGET
    path = RESULTS / "evaluate_cost.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2), f"-> {path}", sep="\n")


if __name__ == "__main__":
    main()
