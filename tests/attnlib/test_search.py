"""Search: the space grammar, exact budgets, resumption after SIGKILL, pruning, reports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import optuna
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.trial import TrialState

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.errors import ConfigError
from attnlib.search import (
    best_params,
    history,
    history_figure,
    importance_figure,
    make_storage,
    open_study,
    run_search,
    study_name_for,
    trials_frame,
)
from attnlib.search_space import Dim, SearchConfig, check_space, parse_space, suggest

V = 10
optuna.logging.set_verbosity(optuna.logging.WARNING)


def markov_data(n: int, seed: int) -> SequenceData:
    """Sequences from a sparse Markov chain over V-2 tokens: learnable, so lr matters."""
    g = torch.Generator().manual_seed(seed)
    seqs = []
    for _ in range(n):
        tok, seq = int(torch.randint(2, V, (1,), generator=g)), []
        for _ in range(int(torch.randint(6, 14, (1,), generator=g))):
            seq.append(tok)
            tok = 2 + (tok - 2 + (1 if torch.rand(1, generator=g) < 0.9 else 3)) % (V - 2)
        seqs.append(seq)
    return SequenceData.next_state(seqs)


def tiny(**search):
    """A search config, tiny data and tiny base configs (hidden 8)."""
    cfg = SearchConfig.from_params(
        {
            "n_trials": 4,
            "epochs": 3,
            "pruner": "none",
            "patience": 0,
            "heartbeat_interval": 1,
            "grace_period": 2,
            "space": {"lr": {"min": 1e-3, "max": 1e-1, "log": True}},
            **search,
        }
    )
    model = ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=8)
    train = TrainConfig(batch_size=16, progress=False, patience=10)
    return cfg, markov_data(48, 1), markov_data(16, 2), model, train


def finished(study) -> list:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


# ---- grammar ----


def test_space_grammar_kinds():
    space = parse_space(
        {
            "lr": {"min": 1.0e-4, "max": 1.0e-2, "log": True},
            "num_layers": {"min": 1, "max": 3},
            "dropout": {"min": 0.0, "max": 0.5, "step": 0.1},
            "hidden_dim": {"min": 8, "max": 64, "step": 8},
            "weight_decay": {"min": 0, "max": 0.1},  # one float bound -> float
            "attention": {"values": ["additive", "dot", "general", "scaled_dot"]},
        }
    )
    assert space["lr"] == Dim("float", 1e-4, 1e-2, log=True)
    assert space["num_layers"] == Dim("int", 1, 3)
    assert space["dropout"] == Dim("float", 0.0, 0.5, step=0.1)
    assert space["hidden_dim"] == Dim("int", 8, 64, step=8)
    assert space["weight_decay"].kind == "float"
    assert space["attention"].choices == ("additive", "dot", "general", "scaled_dot")


@pytest.mark.parametrize(
    ("space", "key"),
    [
        ({"lr": {"max": 0.1}}, "search.space.lr.min"),
        ({"lr": {"min": 0.1}}, "search.space.lr.max"),
        ({"lr": {"min": 0.1, "max": 0.01}}, "search.space.lr.min"),
        ({"lr": {"min": 0.0, "max": 0.1, "log": True}}, "search.space.lr.min"),
        ({"lr": {"min": 0.001, "max": 0.1, "log": "yes"}}, "search.space.lr.log"),
        ({"lr": {"min": 0.001, "max": 0.1, "log": True, "step": 0.01}}, "search.space.lr.step"),
        ({"lr": {"min": "a", "max": 0.1}}, "search.space.lr.min"),
        ({"lr": {"min": 0.001, "max": 0.1, "scale": "log"}}, "search.space.lr.scale"),
        ({"num_layers": {"min": 1, "max": 3, "step": 0.5}}, "search.space.num_layers.step"),
        ({"num_layers": {"min": 1, "max": 3, "step": 0}}, "search.space.num_layers.step"),
        ({"attention": {"values": []}}, "search.space.attention.values"),
        ({"attention": {"values": "dot"}}, "search.space.attention.values"),
        ({"attention": {"values": ["dot", "dot"]}}, "search.space.attention.values"),
        ({"attention": {"values": [["dot"]]}}, "search.space.attention.values.0"),
        ({"attention": {"values": ["dot"], "min": 1}}, "search.space.attention.min"),
        ({"lr": 0.01}, "search.space.lr"),
        ({"colour": {"values": ["red"]}}, "search.space.colour"),
        ({"epochs": {"min": 1, "max": 5}}, "search.space.epochs"),  # search.epochs governs
        ([1, 2], "search.space"),
    ],
)
def test_bad_space_names_the_key(space, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        SearchConfig.from_params({"space": space})


def test_bad_search_section_names_the_key():
    with pytest.raises(ConfigError, match="'search.n_trial'"):
        SearchConfig.from_params({"n_trial": 3})
    with pytest.raises(ConfigError, match="'search.pruner'"):
        SearchConfig.from_params({"pruner": "sometimes"})
    with pytest.raises(ConfigError, match="grace_period"):
        SearchConfig.from_params({"heartbeat_interval": 30, "grace_period": 10})


def test_values_invalid_for_the_model_fail_before_any_trial():
    cfg, tr, va, model, train = tiny()
    with pytest.raises(ConfigError, match="'search.space.attention'"):
        check_space(parse_space({"attention": {"values": ["dot", "cosine"]}}), model, train)
    with pytest.raises(ConfigError, match="'search.space.dropout'"):
        check_space(parse_space({"dropout": {"min": 0.0, "max": 1.0}}), model, train)
    with pytest.raises(ConfigError, match="'search.space.name': 'bilstm_attention': model"):
        check_space(parse_space({"name": {"values": ["bilstm_attention"]}}), model, train)
    with pytest.raises(ConfigError, match="'search.space.hidden_dim'"):
        check_space(parse_space({"hidden_dim": {"min": 0.5, "max": 8.0}}), model, train)


bounds = st.one_of(
    st.tuples(st.integers(-50, 50), st.integers(0, 50)).map(lambda t: (t[0], t[0] + t[1])),
    st.tuples(st.floats(1e-6, 10.0), st.floats(1.0, 100.0)).map(lambda t: (t[0], t[0] * t[1])),
)


@settings(max_examples=40, deadline=None)
@given(bounds=bounds, log=st.booleans())
def test_suggest_stays_in_bounds_with_the_bounds_type(bounds, log):
    low, high = bounds
    log = log and low > 0
    space = parse_space({"weight_decay": {"min": low, "max": high, "log": log}})
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    value = suggest(trial, space)["weight_decay"]
    assert low <= value <= high
    assert isinstance(value, int) == (isinstance(low, int) and isinstance(high, int))


# ---- running a study ----


def test_search_runs_exactly_n_trials_and_a_rerun_adds_none(tmp_path):
    cfg, tr, va, model, train = tiny(
        n_trials=3,
        space={
            "lr": {"min": 1e-3, "max": 1e-1, "log": True},
            "attention": {"values": ["dot", "general"]},
        },  # fmt: skip
    )
    url = f"sqlite:///{tmp_path}/s.db"
    study = run_search(cfg, tr, va, model=model, train_config=train, storage=url)
    assert len(finished(study)) == 3 == len(study.trials)
    frame = trials_frame(study, list(cfg.space))
    assert frame.columns[:5] == ["number", "state", "value", "epochs", "seconds"]
    assert {"params_lr", "params_attention"} <= set(frame.columns)
    assert frame["epochs"].to_list() == [3, 3, 3] and frame["seconds"].min() > 0
    best = best_params(study)
    assert set(best) == {"lr", "attention"} and study.best_params == best
    hist = history(study)
    assert [h["trial"] for h in hist] == [0, 1, 2]
    assert hist[-1]["best_so_far"] == pytest.approx(study.best_value)

    again = run_search(cfg, tr, va, model=model, train_config=train, storage=url)
    assert again.study_name == study.study_name and len(again.trials) == 3  # not run again
    more = cfg.model_copy(update={"n_trials": 4})  # a larger budget continues the study
    assert (
        len(finished(run_search(more, tr, va, model=model, train_config=train, storage=url))) == 4
    )


def test_study_name_changes_with_what_makes_trials_comparable():
    cfg, tr, va, model, train = tiny()
    name = study_name_for(cfg, model, train, tr, va)
    assert name.startswith("attnlib-") and name == study_name_for(cfg, model, train, tr, va)
    assert study_name_for(cfg.model_copy(update={"n_trials": 9}), model, train, tr, va) == name
    assert study_name_for(cfg.model_copy(update={"epochs": 9}), model, train, tr, va) != name
    assert study_name_for(cfg.model_copy(update={"patience": 2}), model, train, tr, va) != name
    assert study_name_for(cfg, model.model_copy(update={"hidden_dim": 9}), train, tr, va) != name
    assert study_name_for(cfg, model, train, tr, markov_data(16, 3)) != name


def test_pruning_stops_hopeless_trials_early(tmp_path):
    cfg, tr, va, model, train = tiny(
        n_trials=5, epochs=5, pruner="median", startup_trials=2, warmup_epochs=1,
        space={"lr": {"values": [0.05, 1e-6]}},
    )  # fmt: skip
    url = f"sqlite:///{tmp_path}/s.db"
    name = study_name_for(cfg, model, train, tr, va)
    study = open_study(cfg, make_storage(url, cfg), name)
    for lr in (0.05, 0.05, 1e-6, 1e-6, 0.05):  # two good trials first: the pruner's baseline
        study.enqueue_trial({"lr": lr})
    study = run_search(cfg, tr, va, model=model, train_config=train, storage=url)
    by_lr = {}
    for t in finished(study):
        by_lr.setdefault(t.params["lr"], []).append(t)
    assert all(t.state == TrialState.COMPLETE for t in by_lr[0.05])
    assert all(t.state == TrialState.PRUNED for t in by_lr[1e-6])
    assert all(t.user_attrs["epochs"] <= 2 for t in by_lr[1e-6])  # of 5
    assert best_params(study) == {"lr": 0.05}


def test_reports_handle_too_few_trials(tmp_path):
    import matplotlib.pyplot as plt

    empty = optuna.create_study()
    for study in (None, empty):
        for fig in (history_figure(study), importance_figure(study)):
            plt.close(fig)
    assert best_params(empty) == {} and history(empty) == []
    assert trials_frame(empty).height == 0


# ---- a killed search resumes ----

WORKER = textwrap.dedent(
    """
    import json, logging, sys, torch
    torch.set_num_threads(1)
    from attnlib.config import ModelConfig, TrainConfig
    from attnlib.data import SequenceData
    from attnlib.search import run_search
    from attnlib.search_space import SearchConfig
    spec = json.loads(sys.argv[1])
    d = torch.load(spec["data"])
    tr = SequenceData(*d["train"], y_per_step=True)
    va = SequenceData(*d["val"], y_per_step=True)
    run_search(SearchConfig.from_params(spec["search"]), tr, va,
               model=ModelConfig(**spec["model"]), train_config=TrainConfig(**spec["train"]),
               storage=spec["url"])
    """
)


def _states(db):
    """(state, epochs reported) per trial, read straight from the SQLite file."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute(
                "select t.state, count(v.trial_id) from trials t left join "
                "trial_intermediate_values v on v.trial_id = t.trial_id group by t.trial_id"
            ).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet, or the file is locked
        return []


def test_sigkill_mid_trial_then_rerun_ends_with_exactly_n_trials(tmp_path):
    n, k = 4, 2
    space = {"lr": {"min": 1e-3, "max": 1e-1, "log": True}}
    search = {"n_trials": n, "epochs": 6, "pruner": "none", "patience": 0,
              "heartbeat_interval": 1, "grace_period": 2, "space": space}  # fmt: skip
    cfg, _, _, model, train = tiny(**search)
    tr, va = markov_data(300, 1), markov_data(40, 2)  # slow enough to be killed mid-trial
    torch.save({"train": [tr.x, tr.lengths, tr.y], "val": [va.x, va.lengths, va.y]},
               tmp_path / "d.pt")  # fmt: skip
    db = tmp_path / "s.db"
    spec = {"search": search, "model": model.model_dump(), "train": train.model_dump(),
            "data": str(tmp_path / "d.pt"), "url": f"sqlite:///{db}"}  # fmt: skip
    cmd = [sys.executable, "-c", WORKER, json.dumps(spec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240  # generous: CI machines can be slow
    while time.monotonic() < deadline and proc.poll() is None:
        rows = _states(db)
        # kill once k trials are complete and the next one has reported an epoch
        if sum(s == "COMPLETE" for s, _ in rows) >= k and any(
            s == "RUNNING" and epochs >= 1 for s, epochs in rows
        ):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    study = optuna.load_study(
        study_name=study_name_for(cfg, model, train, tr, va), storage=f"sqlite:///{db}"
    )
    before = {t.number: t.params for t in study.trials if t.state == TrialState.COMPLETE}
    killed = [t for t in study.trials if t.state == TrialState.RUNNING]
    assert len(before) == k and len(killed) == 1

    subprocess.run(
        cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300
    )
    study = optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{db}")
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == n  # exactly n: none lost, none extra
    assert {t.number: t.params for t in done if t.number in before} == before  # kept
    params = [tuple(sorted(t.params.items())) for t in done]
    assert len(set(params)) == n  # no duplicate
    (failed,) = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed.number == killed[0].number
    (retry,) = [t for t in done if t.system_attrs.get("failed_trial") == failed.number]
    assert retry.params == killed[0].params  # the killed trial was retried as it was


def test_progress_bar_counts_finished_trials(tmp_path, monkeypatch):
    import rich.progress
    from rich.console import Console

    cfg, tr, va, model, train = tiny(n_trials=2, space={"lr": {"min": 1e-3, "max": 1e-1}})
    consoles, real = [], rich.progress.Progress.__init__

    def recording(self, *args, **kwargs):  # a terminal console whose output we can read
        kwargs["console"] = Console(force_terminal=True, width=100, record=True)
        consoles.append(kwargs["console"])
        real(self, *args, **kwargs)

    monkeypatch.setattr(rich.progress.Progress, "__init__", recording)
    shown = train.model_copy(update={"progress": True})
    study = run_search(
        cfg, tr, va, model=model, train_config=shown, storage=f"sqlite:///{tmp_path}/p.db"
    )
    assert len(finished(study)) == 2
    assert len(consoles) == 1 and "search trials" in consoles[0].export_text()


def test_trial_patience_stops_a_trial_whose_val_loss_stopped_falling(tmp_path):
    """patience 1: each trial is the unstopped trial's curve up to its first rise."""
    space = {"lr": {"values": [0.1, 0.3]}, "dropout": {"min": 0.0, "max": 0.5}}
    runs = {}
    for patience in (0, 1):  # the random sampler proposes the same trials to both studies
        cfg, tr, _, model, train = tiny(
            n_trials=4, epochs=6, sampler="random", patience=patience, space=space
        )
        # uniform tokens: the better the model learns the chain, the worse it does on these
        g = torch.Generator().manual_seed(3)
        va = SequenceData.next_state([torch.randint(2, V, (10,), generator=g).tolist()
                                      for _ in range(16)])  # fmt: skip
        study = run_search(cfg, tr, va, model=model, train_config=train,
                           storage=f"sqlite:///{tmp_path}/p{patience}.db")  # fmt: skip
        runs[patience] = sorted(finished(study), key=lambda t: t.number)
    stopped = 0
    for full, short in zip(runs[0], runs[1], strict=True):
        assert full.params == short.params and short.state == TrialState.COMPLETE
        curve = [v for _, v in sorted(full.intermediate_values.items())]
        assert len(curve) == full.user_attrs["epochs"] == 6
        rise = next((i for i in range(1, 6) if curve[i] >= min(curve[:i])), 5)
        got = [v for _, v in sorted(short.intermediate_values.items())]
        assert short.user_attrs["epochs"] == rise + 1 == len(got)
        assert got == pytest.approx(curve[: rise + 1])
        assert short.value == pytest.approx(min(got))
        stopped += rise < 5
    assert stopped >= 1  # the val data make the val loss rise within 6 epochs
