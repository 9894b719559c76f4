"""Collect the report's sections from a project directory after ``dvc repro``.

Reads what the stages wrote (never the test split itself): params.yaml, data/vocab.json,
data/split/*.parquet (row counts only), search/trials.parquet and search/plots/*.png,
metrics/train.json and plots/learning_curve.png, metrics/eval.json (the model and baseline
rows; the ``calibration``, ``conformal`` and ``faithfulness`` entries, top-level or under
``model``), plots/evaluate/reliability.png and forecast.png, plots/attention/ (``examples.json``:
a list of ``{"id", "tokens", "weights", "caption"}``, and PNG heatmaps), and
export/MODEL_CARD.md. A missing or unreadable file leaves its section "not available".
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import yaml

from attnlib.errors import DataError, listed
from attnlib.report import Section, Table, attention_example, render_report
from attnlib.versus import sentence

TRUST_KEYS = ("calibration", "conformal", "faithfulness")
NOT_ROWS = (*TRUST_KEYS, "versus")  # eval.json entries that are not a model's scores
SEARCH_ROWS = 50  # the newest trials shown
ORDER = {"top": 0, "random": 1, "bottom": 2}  # erasure rows: most attended first
K_NAMES = {"k1": "1 step", "k10pct": "10 % of length", "k20pct": "20 % of length"}


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _try(path: Path, read, section_notes: list[str]):
    """``read(path)``, or None with a note when the file is missing or unreadable."""
    if not path.exists():
        return None
    try:
        return read(path)
    except Exception as exc:  # a broken file must not stop the rest of the page
        section_notes.append(f"{path.name} unreadable: {type(exc).__name__}: {exc}")
        return None


def _pngs(paths) -> list[tuple[str, Path]]:
    return [(p.stem.replace("_", " "), p) for p in paths if p.is_file()]


def data_section(root: Path) -> Section:
    notes: list[str] = []
    s = Section()
    params = _try(root / "params.yaml", lambda p: yaml.safe_load(p.read_text()), notes) or {}
    meta = _try(root / "data/vocab.json", _json, notes) or {}
    if params:
        s.facts["task"] = params.get("task")
        s.facts["source"] = (params.get("ingest") or {}).get("source")
    if meta:
        s.facts["input"] = (meta.get("input") or {}).get("kind")
        if meta.get("tokens"):
            s.facts["vocabulary (tokens)"] = len(meta["tokens"])
        if meta.get("labels"):
            s.facts["classes"] = len(meta["labels"])
        if channels := (meta.get("input") or {}).get("channels"):
            names = meta["input"].get("channel_names")  # a series classifier's, by name
            s.facts["channels"] = f"{channels} ({listed(names, 12)})" if names else channels
        filled = (meta.get("input") or {}).get("gaps_filled")
        if isinstance(filled, dict) and filled.get("values"):
            s.facts["missing values"] = (f"{filled['values']} in {filled.get('series')} series, "
                                         "filled by linear interpolation")  # fmt: skip
    rows = []
    for name in ("train", "val", "test"):
        n = _try(root / f"data/split/{name}.parquet",
                 lambda p: pl.scan_parquet(p).select(pl.len()).collect().item(), notes)  # fmt: skip
        if n is not None:
            rows.append([name, n])
    if rows:
        s.tables.append(Table(["split", "rows"], rows, "rows per split"))
    s.note = "; ".join(notes)
    return s


def search_section(root: Path) -> Section:
    notes: list[str] = []
    s = Section(images=_pngs([root / "search/plots/history.png",
                              root / "search/plots/importance.png"]))  # fmt: skip
    trials = _try(root / "search/trials.parquet", pl.read_parquet, notes)
    if trials is not None and trials.height:
        s.facts["trials"] = trials.height
        done = trials.filter(pl.col("state") == "COMPLETE") if "state" in trials.columns else trials
        if "value" in done.columns and done.height:
            best = done.sort("value").row(0, named=True)
            s.facts["best trial"] = best.get("number")
            s.facts["best value"] = best.get("value")
        shown = trials.tail(SEARCH_ROWS)
        s.tables.append(Table(shown.columns, [list(r) for r in shown.iter_rows()], "trials"))
    s.note = "; ".join(notes)
    return s


def learning_section(root: Path) -> Section:
    notes: list[str] = []
    s = Section(images=_pngs([root / "plots/learning_curve.png"]))
    train = _try(root / "metrics/train.json", _json, notes) or {}
    s.facts.update({k: v for k, v in train.items() if not isinstance(v, dict | list)})
    s.note = "; ".join(notes)
    return s


def _trust_entry(report: dict, key: str):
    return report.get(key) or (report.get("model") or {}).get(key)


def metrics_section(report: dict) -> Section:
    """One row per model / baseline, one column per scalar metric (first-seen order)."""
    rows = {name: m for name, m in report.items() if isinstance(m, dict) and name not in NOT_ROWS}
    rows = dict(sorted(rows.items(), key=lambda kv: kv[0] != "model"))  # the model first
    cols: list[str] = []
    for m in rows.values():
        cols += [k for k, v in m.items() if isinstance(v, int | float) and k not in cols]
    table = [[name, *(m.get(c) for c in cols)] for name, m in rows.items()]
    return Section(tables=[Table(["", *cols], table, "test split")] if table else [],
                   text=sentence(report))  # fmt: skip


def calibration_section(report: dict, root: Path) -> Section:
    s = Section(images=_pngs([root / "plots/evaluate/reliability.png"]))
    cal = _trust_entry(report, "calibration")
    if cal:
        s.facts = {"temperature (fitted on validation)": cal.get("temperature"),
                   "test predictions": cal.get("n")}  # fmt: skip
        if cal.get("ece_floor_p90_after") is not None:  # eval.json from before it: none
            s.facts["ECE of a perfectly calibrated model here (noise, 90th pct.)"] = cal[
                "ece_floor_p90_after"]  # fmt: skip
        if cal.get("accuracy_fitted_on") is not None:  # T carries over between alike splits
            s.facts["accuracy of the predictions it was fitted on"] = cal["accuracy_fitted_on"]
            s.facts["accuracy on test"] = (report.get("model") or {}).get("accuracy")
        names = ["ece", "brier", "nll"]
        rows = [[when, *(cal.get(f"{k}_{when}") for k in names)] for when in ("before", "after")]
        s.tables.append(Table(["", "ECE (15 bins)", "Brier", "NLL"], rows, "test split"))
    return s


def coverage_section(report: dict, root: Path) -> Section:
    s = Section()
    conf = _trust_entry(report, "conformal")
    if not conf:
        return s
    s.facts = {k: v for k, v in conf.items() if not isinstance(v, dict | list)}
    per_step = conf.get("coverage_per_step")
    if per_step:
        widths = conf.get("mean_width_per_step") or [None] * len(per_step)
        rows = [[h + 1, c, w] for h, (c, w) in enumerate(zip(per_step, widths, strict=True))]
        s.tables.append(Table(["horizon step", "coverage", "mean width"], rows, "test windows"))
        s.images = _pngs([root / "plots/evaluate/forecast.png"])
    if conf.get("too_few_calibration"):
        s.note = "too few calibration windows for a finite interval at this alpha"
    return s


def faithfulness_section(report: dict) -> Section:
    s = Section()
    f = _trust_entry(report, "faithfulness")
    if not f:
        return s
    s.text = f.get("verdict_line") or f.get("verdict", "")
    s.facts = {"items checked": f.get("n_items"), "top-k minus random": f.get("top_minus_random"),
               "p-value (one-sided Wilcoxon)": f.get("p_value"),
               "Spearman(attention, integrated gradients)": f.get("ig_spearman")}  # fmt: skip
    rows = []
    for k, orders in (f.get("erasure") or {}).items():
        suff = (f.get("sufficiency") or {}).get(k, {})
        for order, m in sorted(orders.items(), key=lambda kv: ORDER.get(kv[0], 9)):
            k_name = K_NAMES.get(k, k)
            rows.append([k_name, order, m.get("comprehensiveness"), m.get("flip_rate"),
                         suff.get(order)])  # fmt: skip
    if rows:
        cols = ["k", "erased steps", "comprehensiveness", "flip rate", "sufficiency"]
        s.tables.append(Table(cols, rows, "erasing steps by attention rank (test subsample)"))
    return s


def attention_section(root: Path) -> Section:
    notes: list[str] = []
    folder = root / "plots/attention"
    heatmaps = sorted(folder.glob("*.png")) if folder.is_dir() else []
    s = Section(images=[(f"heatmap, test item {p.stem}", p) for p in heatmaps])
    examples = _try(folder / "examples.json", _json, notes) or []
    for ex in examples:
        try:
            s.examples.append(attention_example(ex["id"], ex["tokens"], ex["weights"],
                                                ex.get("caption", "")))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            notes.append(f"examples.json: skipped an example ({exc})")
    s.note = "; ".join(notes)
    return s


def card_section(root: Path) -> Section:
    notes: list[str] = []
    text = _try(root / "export/MODEL_CARD.md", lambda p: p.read_text(encoding="utf-8"), notes)
    return Section(markdown=text or "", note="; ".join(notes))


def collect(root: str | Path) -> dict[str, Section]:
    """Every section :data:`attnlib.report.SECTIONS` knows but ``experiments``."""
    root = Path(root)
    notes: list[str] = []
    report = _try(root / "metrics/eval.json", _json, notes) or {}
    sections = {
        "data": data_section(root),
        "search": search_section(root),
        "learning": learning_section(root),
        "metrics": metrics_section(report),
        "calibration": calibration_section(report, root),
        "coverage": coverage_section(report, root),
        "faithfulness": faithfulness_section(report),
        "attention": attention_section(root),
        "card": card_section(root),
    }
    if notes:
        sections["metrics"].note = "; ".join(notes)
    return sections


def experiments_table(exp_show: list) -> Table:
    """The rows of ``dvc exp show --json`` (commits and their experiments) as one table:
    name, then every params and metrics value, flattened to dotted keys."""
    rows: list[dict] = []

    def add(entry: dict, parent: str = "") -> None:
        data = entry.get("data") or {}
        rev = entry.get("rev") or ""
        name = entry.get("name") or (rev[:7] if len(rev) == 40 else rev)  # a sha, or "workspace"
        flat: dict = {"experiment": f"{parent} / {name}" if parent else name}
        for kind in ("params", "metrics"):
            for file in (data.get(kind) or {}).values():
                _flatten((file or {}).get("data") or {}, "", flat)
        if entry.get("error"):
            flat["error"] = (entry["error"] or {}).get("msg")
        rows.append(flat)
        for exp in entry.get("experiments") or []:
            for rev in exp.get("revs") or []:
                add(rev, name)

    for entry in exp_show or []:
        add(entry)
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return Table(cols, [[r.get(c) for c in cols] for r in rows], "dvc exp show")


def _flatten(d: dict, prefix: str, out: dict) -> None:
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            _flatten(v, key + ".", out)
        elif not isinstance(v, list):
            out[key] = v


def build_report(project_dir: str | Path, *, experiments: list | None = None,
                 title: str | None = None) -> str:  # fmt: skip
    """The report of a project directory (the files: see the module docstring).

    Args:
        project_dir: where ``dvc repro`` ran.
        experiments: the parsed output of ``dvc exp show --json`` (the CLI runs DVC), or
            None for no experiments section.
    Returns:
        The HTML page; sections whose files are missing say "not available".
    Raises:
        DataError: ``project_dir`` is not a directory.
    """
    root = Path(project_dir)
    if not root.is_dir():
        raise DataError(f"{root}: project directory not found")
    sections: dict[str, Section | None] = dict(collect(root))
    if experiments is not None:
        table = experiments_table(experiments)
        none = "" if table.rows else "dvc knows no experiment"
        sections["experiments"] = Section(tables=[table] if table.rows else [], note=none)
    return render_report(sections, title=title or f"attnlib report: {root.resolve().name}")
