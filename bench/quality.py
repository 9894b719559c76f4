"""Quality report: every built-in data set through the real pipeline, with the defaults.

For each built-in set this copies the project into a temporary git repository and runs
``dvc exp run -S task=... -S ingest.source=builtin:NAME -S seed=S`` for each seed (no
other override: every other param is the default, ``auto`` choices included) against one
local Prefect server, then reads ``metrics/eval.json`` and ``metrics/train.json``. The seed
moves the validation carve-out, the initialisation and the batch order; the test split of
a set that ships one stays the same. Results go to ``bench/results/quality.json`` and a
Markdown table of means and spreads to ``bench/results/quality.md`` (and, with
``--readme``, into README.md between the ``quality-table`` markers).

    python bench/quality.py                    # every built-in set, seeds 0 1 2 (make quality)
    python bench/quality.py gunpoint trec6     # some of them
    python bench/quality.py --seeds 0 --merge  # one seed; other sets and seeds kept
    python bench/quality.py --render --readme  # re-render the tables from the JSON

``bench/unseen.py`` runs the same protocol on files of data sets that are not built in.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from project import copy_project, update_readme  # noqa: E402

from attnlib.datasets import BUILTINS  # noqa: E402
from attnlib.io import write_json_atomic, write_text_atomic  # noqa: E402
from attnlib.versus import NOT_BASELINES  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUDGET_S = 600  # the limit per built-in set and seed with the default params, on 2 cores

# Published accuracies (not re-run here). UCR: 1-NN DTW with a full window, from the UCR
# archive's results table; UEA: DTW_D from Bagnall et al. 2018 (the UEA multivariate
# archive paper); LSTM-FCN / MLSTM-FCN: Karim et al. 2017 / 2019.
PUBLISHED = {
    "gunpoint": {"1nn_dtw": 0.907, "lstm_fcn": 1.000},
    "italy_power_demand": {"1nn_dtw": 0.950, "lstm_fcn": 0.963, "rocket": 0.970},
    "basic_motions": {"1nn_dtw_d": 0.975, "mlstm_fcn": 1.000},
    "japanese_vowels": {"1nn_dtw_d": 0.949, "mlstm_fcn": 0.99},
    "trec6": {"cnn_kim2014": 0.912},
    "airline": {"sarima_mape": 2.90},
}
# The goals for the mean over seeds: (metric, "max" = at least / "min" = at most, value)
TARGETS = {
    "bach_chorales": ("perplexity", "min", 27.3),
    "hamlet_chars": ("accuracy", "max", 0.55),
    "trec6": ("accuracy", "max", 0.92),
    "rotten_tomatoes": ("accuracy", "max", 0.79),
    "gunpoint": ("accuracy", "max", 1.0),
    "italy_power_demand": ("accuracy", "max", 0.97),
    "basic_motions": ("accuracy", "max", 1.0),
    "japanese_vowels": ("accuracy", "max", 0.99),
    "airline": ("mape", "min", 2.2),
    "co2": ("mape", "min", 0.15),
}
# a set without a goal: the task's own headline (forecast: MASE, defined where MAPE is not)
HEADLINE = {"next_state": "accuracy", "classify": "accuracy", "forecast": "mase"}
LOWER_IS_BETTER = {"mape", "perplexity", "mase", "smape"}


def set_args(overrides: dict) -> list[str]:
    """``{"section.key": value}`` as ``dvc exp run`` arguments: ``-S section.key=value``."""
    args = []
    for key, value in overrides.items():
        text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True)
        args += ["-S", f"{key}={text.strip().removesuffix('...').strip()}"]
    return args


@contextmanager
def project_env() -> Iterator[dict]:
    """One local Prefect server for every run, and the environment the runs use."""
    from flows.server import temporary_server

    bin_dir = Path(sys.executable).parent
    with (tempfile.TemporaryDirectory(prefix="quality-prefect-") as home,
          temporary_server(Path(home)) as server):  # fmt: skip
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PREFECT_API_URL": server.url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "GIT_AUTHOR_NAME": "quality",
            "GIT_AUTHOR_EMAIL": "quality@example.com",
            "GIT_COMMITTER_NAME": "quality",
            "GIT_COMMITTER_EMAIL": "quality@example.com",
        }
        yield env


def run_seeds(name: str, task: str, overrides: dict, seeds: list[int], env: dict,
              files: dict[str, Path] | None = None) -> dict:  # fmt: skip
    """``dvc exp run`` with ``overrides`` once per seed in one fresh copy of the project.

    ``files`` are copied into the project first (``{relative path: source}``), so a user
    file can sit in ``data/input/`` as the README says.
    """
    runs = []
    with tempfile.TemporaryDirectory(prefix=f"quality-{name}-") as tmp:
        path = Path(tmp)
        copy_project(path)
        for rel, src in (files or {}).items():
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_bytes(Path(src).read_bytes())
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", name]):
            subprocess.run(["git", *cmd], cwd=path, check=True, env=env)  # experiments need a rev
        for seed in seeds:
            cmd = ["dvc", "exp", "run", *set_args({**overrides, "seed": seed})]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=path, env=env, capture_output=True, text=True)
            seconds = round(time.perf_counter() - t0, 1)
            print(f"{name} seed {seed}: {seconds} s", file=sys.stderr, flush=True)
            if proc.returncode != 0:
                tail = (proc.stdout + proc.stderr)[-3000:]
                print(f"{name}: {' '.join(cmd)} failed\n{tail}", file=sys.stderr)
                runs.append({"seed": seed, "seconds": seconds, "error": tail})
                continue
            metrics, train = (json.loads((path / f"metrics/{f}.json").read_text())
                              for f in ("eval", "train"))  # fmt: skip
            runs.append({"seed": seed, "seconds": seconds, "within_budget": seconds <= BUDGET_S,
                         "metrics": metrics, "train": train})  # fmt: skip
    return {"name": name, "task": task, "overrides": overrides, "runs": runs}


def _fmt(v) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def summary(values: list[float]) -> tuple[float, float]:
    """Mean and spread (max - min) of the seeds' figures."""
    return statistics.fmean(values), max(values) - min(values)


def _figures(runs: list[dict], who: str, key: str) -> list[float]:
    return [r["metrics"][who][key] for r in runs
            if "metrics" in r and r["metrics"].get(who, {}).get(key) is not None]  # fmt: skip


def _trust(runs: list[dict]) -> str:
    """Headline trust figures (mean over seeds): ECE after scaling and the ECE that the test
    split's noise alone reaches (90th percentile; runs from before it was measured have
    none), coverage, set size or interval width (and whether the sets kept the top label:
    ``evaluate.sets: nonempty``), and the faithfulness verdict."""
    parts = []
    for section, key, label in (("calibration", "ece_after", "ECE"),
                                ("calibration", "ece_floor_p90_after", "noise ≤"),
                                ("conformal", "coverage", "cov."),
                                ("conformal", "mean_set_size", "set"),
                                ("conformal", "mean_width", "width")):  # fmt: skip
        vals = [r["metrics"][section][key] for r in runs  # None: e.g. too few windows
                if r.get("metrics", {}).get(section, {}).get(key) is not None]  # fmt: skip
        if vals:
            parts.append(f"{label} {_fmt(statistics.fmean(vals))}")
    rules = {r["metrics"]["conformal"].get("rule", "nonempty") for r in runs
             if "mean_set_size" in r.get("metrics", {}).get("conformal", {})}  # fmt: skip
    if "nonempty" in rules:  # evaluate.sets (runs from before the rule kept the top label)
        parts.append("sets keep the top label")
    verdicts = [r["metrics"]["faithfulness"].get("verdict") for r in runs
                if "faithfulness" in r.get("metrics", {})]  # fmt: skip
    verdicts = [v for v in verdicts if v != "n/a"]  # not checked: one-step items only
    if verdicts:
        parts.append(f"faithful {sum(v == 'yes' for v in verdicts)}/{len(verdicts)}")
    return ", ".join(parts) or "—"


def named(result: dict) -> str:
    """A row's data set, with any setting beyond the task and the file (``--set``):
    ``shampoo (encode.horizon=7, encode.lookback=8)``."""
    extra = {k: v for k, v in result.get("overrides", {}).items()
             if k not in ("task", "ingest.source")}  # fmt: skip
    settings = ", ".join(f"{k}={v}" for k, v in extra.items())
    return f"{result['name']} ({settings})" if settings else result["name"]


def table(results: list[dict]) -> str:
    """The Markdown table: mean ± spread over seeds of ours and every baseline, the goal,
    and the trust figures. The best measured mean of a row is bold."""
    rows = ["| data set | metric | ours (mean ± spread) | baselines (mean) | published | goal | "
            "met | trust (mean) | seeds | time (s) |",
            "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        runs = [x for x in r["runs"] if "metrics" in x]
        failed = len(r["runs"]) - len(runs)
        label = named(r)
        target = TARGETS.get(r["name"])
        key = target[0] if target else HEADLINE[r["task"]]
        if not runs:
            rows.append(f"| {label} | {key} | failed | — | — | — | — | — | 0 | — |")
            continue
        who = [w for w in runs[0]["metrics"] if _figures(runs, w, key)]
        means = {w: summary(_figures(runs, w, key)) for w in who}
        pick = min if key in LOWER_IS_BETTER else max
        best = pick(m for m, _ in means.values())

        def shown(w, best=best, means=means):
            text = _fmt(means[w][0])
            return f"**{text}**" if means[w][0] == best else text

        ours = f"{shown('model')} ± {_fmt(means['model'][1])}" if "model" in means else "—"
        if "network" in means:  # a forecast's network alone (attnlib.combination)
            ours += f" (network alone {shown('network')})"
        base = ", ".join(f"{w} {shown(w)}" for w in who if w not in NOT_BASELINES) or "—"
        published = r.get("published") or PUBLISHED.get(r["name"], {})
        pub = ", ".join(f"{n} {_fmt(v)}" for n, v in published.items()) or "—"
        goal, met = "—", ""
        if target and "model" in means:
            _, op, value = target
            goal = f"{'≥' if op == 'max' else '≤'} {value}"
            ok = means["model"][0] >= value if op == "max" else means["model"][0] <= value
            met = "yes" if ok else "**no**"
        secs = statistics.fmean(x["seconds"] for x in runs)
        seeds = f"{len(runs)}" + (f" ({failed} failed)" if failed else "")
        rows.append(f"| {label} | {key} | {ours} | {base} | {pub} | {goal} | {met} | "
                    f"{_trust(runs)} | {seeds} | {secs:.0f} |")  # fmt: skip
    return "\n".join(rows) + "\n"


def render(readme: bool, out: str = "quality") -> str:
    md = table(json.loads((RESULTS / f"{out}.json").read_text()))
    write_text_atomic(RESULTS / f"{out}.md", md)
    if readme:
        update_readme(md, f"{out.replace('_', '-')}-table")
    return md


def merge(results: list[dict], out: str, order: list[str]) -> list[dict]:
    """Earlier results with these runs added, in ``order``: a run replaces the earlier run
    of its set and seed; the set's other seeds are kept (so seeds can be run one at a time)."""
    path = RESULTS / f"{out}.json"
    earlier = {r["name"]: r for r in json.loads(path.read_text())} if path.exists() else {}
    for r in results:
        seeds = {x["seed"] for x in r["runs"]}
        kept = [x for x in earlier.get(r["name"], {}).get("runs", []) if x["seed"] not in seeds]
        earlier[r["name"]] = {**r, "runs": sorted(kept + r["runs"], key=lambda x: x["seed"])}
    rank = {n: i for i, n in enumerate(order)}
    return sorted(earlier.values(), key=lambda r: rank.get(r["name"], len(rank)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"built-in sets (default all: {list(BUILTINS)})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--merge", action="store_true",
                        help="keep other sets' and seeds' runs from quality.json")  # fmt: skip
    parser.add_argument("--render", action="store_true",
                        help="only re-render the tables from the saved JSON (no runs)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.render:
        print(render(args.readme))
        return 0
    names = args.names or list(BUILTINS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    with project_env() as env:
        for name in names:
            info = BUILTINS[name]
            overrides = {"task": info.task, "ingest.source": f"builtin:{name}"}
            results.append(run_seeds(name, info.task, overrides, args.seeds, env))
            partial = merge(results, "quality", list(BUILTINS)) if args.merge else results
            write_json_atomic(RESULTS / "quality.json", partial)  # partial results survive
    print(render(args.readme))
    return 1 if any("error" in x for r in results for x in r["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
