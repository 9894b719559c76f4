"""Quality report: every built-in data set through the real pipeline, model vs baselines.

For each built-in set this copies the project into a temporary git repository and runs
``dvc exp run -S task=... -S ingest.source=builtin:NAME`` (plus the set's recommended
overrides, see ``attnlib.datasets.BUILTINS``) against one local Prefect server, then
reads ``metrics/eval.json``. Results go to ``bench/results/quality.json`` and a Markdown
table to ``bench/results/quality.md`` (and, with ``--readme``, into README.md between
the ``quality-table`` markers).

    python bench/quality.py                 # every built-in set (about an hour on 2 cores)
    python bench/quality.py gunpoint trec6  # some of them
    python bench/quality.py --defaults      # default params only (the 10-minute check):
                                            # bench/results/quality_defaults.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from project import copy_project, update_readme  # noqa: E402

from attnlib.datasets import BUILTINS  # noqa: E402
from attnlib.io import write_json_atomic, write_text_atomic  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUDGET_S = 600  # the limit per built-in set with its default params, on 2 cores

# Published accuracies (not re-run here). UCR: 1-NN DTW with a full window, from the UCR
# archive's results table; UEA: DTW_D from Bagnall et al. 2018 (the UEA multivariate
# archive paper); LSTM-FCN: Karim et al. 2017 (univariate sets only).
PUBLISHED = {
    "gunpoint": {"1nn_dtw": 0.907, "lstm_fcn": 1.000},
    "italy_power_demand": {"1nn_dtw": 0.950, "lstm_fcn": 0.963},
    "basic_motions": {"1nn_dtw_d": 0.975},
    "japanese_vowels": {"1nn_dtw_d": 0.949},
    "airline": {"sarima_mape": 2.90},
}
HEADLINE = {"next_state": "accuracy", "classify": "accuracy", "forecast": "mape"}


def set_args(overrides: dict) -> list[str]:
    """``{"section.key": value}`` as ``dvc exp run`` arguments: ``-S section.key=value``."""
    args = []
    for key, value in overrides.items():
        text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True)
        args += ["-S", f"{key}={text.strip().removesuffix('...').strip()}"]
    return args


def run_one(name: str, env: dict, extra: dict, recommended: bool = True) -> dict:
    """``dvc exp run -S task=... -S ingest.source=builtin:NAME ...`` in a fresh copy of the
    project (a git repository whose one commit is the project's own params)."""
    info = BUILTINS[name]
    overrides = {"task": info.task, "ingest.source": f"builtin:{name}",
                 **(info.recommended if recommended else {}), **extra}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix=f"quality-{name}-") as tmp:
        path = Path(tmp)
        copy_project(path)
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", name]):
            subprocess.run(["git", *cmd], cwd=path, check=True, env=env)  # experiments need a rev
        t0 = time.perf_counter()
        cmd = ["dvc", "exp", "run", *set_args(overrides)]  # results land in the workspace
        proc = subprocess.run(cmd, cwd=path, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            print(f"{name}: {' '.join(cmd)} failed\n{tail}", file=sys.stderr)
            return {"name": name, "task": info.task, "overrides": overrides, "error": tail,
                    "seconds": round(seconds, 1)}  # fmt: skip
        metrics = json.loads((path / "metrics/eval.json").read_text())
        train = json.loads((path / "metrics/train.json").read_text())
    return {"name": name, "task": info.task, "overrides": overrides, "seconds": round(seconds, 1),
            "within_budget": seconds <= BUDGET_S, "metrics": metrics, "train": train,
            "published": PUBLISHED.get(name, {})}  # fmt: skip


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.3f}" if isinstance(v, float) and v < 10 else f"{v:.2f}"


def table(results: list[dict]) -> str:
    """The Markdown table: data set, metric, ours, baselines, published, seconds.

    The best measured figure of a row (ours or a baseline; lower MAPE, higher accuracy) is
    bold; published figures are quoted, not compared.
    """
    rows = ["| data set | task | metric | ours | baselines | published | time (s) |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        if "error" in r:
            rows.append(f"| {r['name']} | {r['task']} | — | failed | — | — | {r['seconds']} |")
            continue
        key = HEADLINE[r["task"]]
        m = r["metrics"]
        pick = min if key == "mape" else max
        best = pick(v[key] for v in m.values() if v.get(key) is not None)

        def shown(v, best=best):
            return f"**{_fmt(v)}**" if v == best else _fmt(v)

        extra = f", macro-F1 {_fmt(m['model'].get('macro_f1'))}" if r["task"] == "classify" else ""
        base = ", ".join(f"{n} {shown(v.get(key))}" for n, v in m.items() if n != "model")
        pub = ", ".join(f"{n} {_fmt(v)}" for n, v in r["published"].items()) or "—"
        unit = " (%)" if key == "mape" else ""
        rows.append(f"| {r['name']} | {r['task']} | {key}{unit} | {shown(m['model'][key])}"
                    f"{extra} | {base} | {pub} | {r['seconds']:.0f} |")  # fmt: skip
    return "\n".join(rows) + "\n"


def render(out: str, readme: bool) -> int:
    """Rewrite ``out``.md (and the README table) from ``out``.json without running anything."""
    md = table(json.loads((RESULTS / f"{out}.json").read_text()))
    write_text_atomic(RESULTS / f"{out}.md", md)
    if readme and out == "quality":
        update_readme(md, "quality-table")
    print(md)
    return 0


def merge(results: list[dict], out: str = "quality") -> list[dict]:
    """Earlier results (in BUILTINS order) with these runs replacing their sets'."""
    path = RESULTS / f"{out}.json"
    earlier = {r["name"]: r for r in json.loads(path.read_text())} if path.exists() else {}
    earlier.update({r["name"]: r for r in results})
    return sorted(earlier.values(), key=lambda r: list(BUILTINS).index(r["name"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"built-in sets (default all: {list(BUILTINS)})")
    parser.add_argument(
        "-S",
        dest="set",
        action="append",
        default=[],
        help="extra override for every set, e.g. -S search.enabled=false",
    )
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other sets' results from an earlier quality.json",
    )
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="default params (no recommended overrides) -> quality_defaults.{json,md}",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="only re-render the tables from the saved JSON (no runs)",
    )
    args = parser.parse_args(argv)
    out = "quality_defaults" if args.defaults else "quality"
    if args.render:
        return render(out, args.readme)
    extra = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    names = args.names or list(BUILTINS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    from flows.server import free_port, start_server, stop_server

    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="quality-prefect-") as home:
        server = start_server(port=free_port(), home=Path(home), ui=False)
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
        try:
            results = []
            for name in names:
                print(f"{name} ...", file=sys.stderr, flush=True)
                results.append(run_one(name, env, extra, recommended=not args.defaults))
                print(f"{name}: {results[-1]['seconds']} s", file=sys.stderr, flush=True)
                partial = merge(results, out) if args.merge else results
                write_json_atomic(RESULTS / f"{out}.json", partial)  # partial results survive
        finally:
            stop_server(server.pid)
    if args.merge:
        results = merge(results, out)
    md = table(results)
    write_json_atomic(RESULTS / f"{out}.json", results)
    write_text_atomic(RESULTS / f"{out}.md", md)
    if args.readme and not args.defaults:
        update_readme(md, "quality-table")
    print(md)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
