"""Split conformal sets (APS / RAPS) and forecast intervals: coverage at the nominal rate."""

import math

import numpy as np
import pytest

from attnlib.errors import DataError
from attnlib.trust.conformal import (
    conformal_intervals,
    conformal_quantile,
    conformal_sets,
    interval_report,
    set_report,
)

ALPHA = 0.1


def _noisy_classes(n, k, rng, noise=1.0):
    """Labels = argmax(signal + Gaussian noise of a known level); probs from a model that
    knows the signal but is slightly miscalibrated (the guarantee must not need calibration)."""
    signal = rng.normal(0, 1.5, size=(n, k))
    y = (signal + rng.normal(0, noise, size=(n, k))).argmax(1)
    z = 1.3 * signal
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    return probs, y


def _tolerance(n_cal, n_test, alpha=ALPHA):
    """3.5 sd of the test coverage: binomial over the test items plus the spread of the
    threshold over calibration sets (coverage | calibration ~ Beta), plus the 1/n slack."""
    return 3.5 * math.sqrt(alpha * (1 - alpha) * (1 / n_cal + 1 / n_test)) + 1 / n_cal


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "kw",
    [{}, {"allow_empty": True}, {"randomized": True}, {"randomized": True, "lam": 0.1, "k_reg": 2}],
)
def test_sets_cover_at_the_nominal_rate(seed, kw):
    rng = np.random.default_rng(seed)
    p_cal, y_cal = _noisy_classes(2000, 10, rng)
    p_test, y_test = _noisy_classes(4000, 10, rng)
    res = conformal_sets(p_cal, y_cal, p_test, ALPHA, seed=seed, **kw)
    rep = set_report(res.sets, y_test, alpha=ALPHA, threshold=res.threshold, n_cal=2000)
    assert abs(rep["coverage"] - (1 - ALPHA)) < _tolerance(2000, 4000)
    assert 1.0 < rep["mean_set_size"] < 10.0  # informative: neither singletons nor everything


@pytest.mark.parametrize("seed", range(3))
def test_a_two_class_model_below_the_coverage_level_still_gets_informative_sets(seed):
    # ~75 % accurate binary model (a sentiment classifier): with the label's own mass
    # counted whole, every wrong item's score is exactly 1 and every set held both labels
    rng = np.random.default_rng(seed)
    p_cal, y_cal = _noisy_classes(1000, 2, rng, noise=2.0)
    p_test, y_test = _noisy_classes(2000, 2, rng, noise=2.0)
    assert 0.65 < (p_test.argmax(1) == y_test).mean() < 0.85
    res = conformal_sets(p_cal, y_cal, p_test, ALPHA)
    rep = set_report(res.sets, y_test, alpha=ALPHA, threshold=res.threshold, n_cal=1000)
    assert abs(rep["coverage"] - (1 - ALPHA)) < _tolerance(1000, 2000)
    assert rep["mean_set_size"] < 1.7  # only the uncertain items get both labels


def test_raps_penalty_shrinks_sets_and_a_higher_alpha_gives_smaller_sets():
    rng = np.random.default_rng(7)
    p_cal, y_cal = _noisy_classes(2000, 20, rng, noise=2.0)
    p_test, _ = _noisy_classes(2000, 20, rng, noise=2.0)
    aps = conformal_sets(p_cal, y_cal, p_test, ALPHA, randomized=True).sets.sum(1).mean()
    raps = conformal_sets(p_cal, y_cal, p_test, ALPHA, randomized=True, lam=0.2, k_reg=1)
    assert raps.sets.sum(1).mean() <= aps
    loose = conformal_sets(p_cal, y_cal, p_test, 0.3, randomized=True).sets.sum(1).mean()
    assert loose < aps


def test_sets_keep_the_labels_in_probability_order():
    rng = np.random.default_rng(1)
    p_cal, y_cal = _noisy_classes(500, 6, rng)
    p_test, _ = _noisy_classes(300, 6, rng)
    sets = conformal_sets(p_cal, y_cal, p_test, ALPHA).sets
    ranked = np.take_along_axis(sets, np.argsort(-p_test, axis=1), axis=1)
    # a set is a prefix of the labels sorted by probability: no gap, then a member
    assert not (np.diff(ranked.astype(int), axis=1) > 0).any()


def test_quantile_level_and_too_small_calibration():
    scores = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(scores, 0.1) == 18.0
    assert math.isinf(conformal_quantile(scores[:5], 0.1))  # n = 5 < 1/alpha - 1
    with pytest.raises(DataError, match="alpha"):
        conformal_quantile(scores, 1.5)


@pytest.mark.parametrize("seed", range(4))
def test_forecast_intervals_cover_a_synthetic_series_per_step(seed):
    """A noisy seasonal series; the point forecast is the clean signal, whose error grows
    with the horizon step. Every step's interval must cover at the nominal rate."""
    rng = np.random.default_rng(seed)
    H, n_cal, n_test = 6, 1500, 3000
    sd = 0.5 * (1 + np.arange(H))  # (H,) the noise level grows with the step

    def windows(n):
        t0 = rng.integers(0, 10_000, size=n)[:, None] + np.arange(H)[None, :]
        point = np.sin(2 * np.pi * t0 / 24)
        return point[..., None], (point + rng.normal(0, sd, size=(n, H)))[..., None]

    pred_cal, act_cal = windows(n_cal)
    pred_test, act_test = windows(n_test)
    res = conformal_intervals(pred_cal, act_cal, pred_test, ALPHA)
    assert res.width.shape == (H, 1)
    assert (np.diff(res.width[:, 0]) > 0).all()  # wider where the noise is larger
    rep = interval_report(res.lower, res.upper, act_test, alpha=ALPHA, n_cal=n_cal)
    for cov in rep["coverage_per_step"]:
        assert abs(cov - (1 - ALPHA)) < _tolerance(n_cal, n_test)
    assert rep["mean_width_per_step"][0] == pytest.approx(2 * res.width[0, 0])
    assert not rep["too_few_calibration"]


def test_too_few_calibration_windows_give_unbounded_intervals_said_plainly():
    res = conformal_intervals(np.zeros((3, 4)), np.ones((3, 4)), np.zeros((2, 4)), ALPHA)
    assert np.isinf(res.width).all()
    rep = interval_report(res.lower, res.upper, np.ones((2, 4)), alpha=ALPHA, n_cal=3)
    assert rep["too_few_calibration"] and rep["mean_width"] is None
    assert rep["coverage"] == 1.0
    with pytest.raises(DataError, match="same steps"):
        conformal_intervals(np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((2, 5)), ALPHA)


def test_entry_points_report_what_evaluate_writes():
    from attnlib.trust import evaluate_intervals, evaluate_sets

    rng = np.random.default_rng(11)
    p_cal, y_cal = _noisy_classes(1000, 5, rng)
    p_test, y_test = _noisy_classes(1000, 5, rng)
    rep, sets = evaluate_sets(p_cal, y_cal, p_test, y_test, 0.2, randomized=True, seed=1)
    assert sets.shape == (1000, 5) and rep["n_calibration"] == 1000
    assert rep["coverage"] == pytest.approx(sets[np.arange(1000), y_test].mean())
    assert abs(rep["coverage"] - 0.8) < _tolerance(1000, 1000, 0.2)
    not_json_scalar = [k for k, v in rep.items() if not isinstance(v, int | float | str | None)]
    assert not_json_scalar == []
    pred = rng.normal(size=(400, 3))
    rep, res = evaluate_intervals(pred[:200], pred[:200] + 1.0, pred[200:], pred[200:] - 1.0)
    assert rep["coverage"] == 1.0 and rep["mean_width_per_step"] == pytest.approx([2.0] * 3)


def test_set_members_names_the_labels_most_probable_first():
    from attnlib.trust.conformal import set_members

    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    sets = np.array([[False, True, True], [True, False, False]])
    assert set_members(sets, probs, ["a", "b", "c"]) == [["b", "c"], ["a"]]


def test_a_confident_model_gets_its_top_label_not_an_empty_set():
    """Near-certain probabilities: APS scores sit at ~1, so the surest items would get empty
    sets; by default the top label is always in (coverage then = accuracy > 1 - alpha)."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, size=2000)
    probs = np.full((2000, 4), 1e-9)
    probs[np.arange(2000), y] = 1 - 3e-9 + rng.uniform(-1e-10, 1e-10, size=2000)
    noisy = rng.uniform(size=2000) < 0.05  # 5 % of items: the model is confidently wrong
    probs[noisy] = np.roll(probs[noisy], 1, axis=1)
    p_cal, y_cal, p_test, y_test = probs[:1000], y[:1000], probs[1000:], y[1000:]
    kept = conformal_sets(p_cal, y_cal, p_test, ALPHA).sets
    assert kept.sum(1).min() == 1 and kept.sum(1).mean() < 1.1
    raw = conformal_sets(p_cal, y_cal, p_test, ALPHA, allow_empty=True).sets
    assert (raw.sum(1) == 0).any()  # what the default avoids
    assert kept[np.arange(1000), y_test].mean() >= raw[np.arange(1000), y_test].mean()
    assert kept[np.arange(1000), y_test].mean() >= 1 - ALPHA - _tolerance(1000, 1000)


@pytest.mark.parametrize("randomized", [False, True])
@pytest.mark.parametrize(("lam", "k_reg"), [(0.0, 1), (0.2, 2)])
@pytest.mark.parametrize("top_free", [True, False])
def test_calibration_scores_without_a_sort_equal_the_sorted_ones(randomized, lam, k_reg,
                                                                 top_free):  # fmt: skip
    """The calibration split scores only its true labels, without sorting every row: the
    same numbers as the full APS / RAPS scores, ties between labels included."""
    from attnlib.trust.conformal import _label_scores, _true_label_scores

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(7, 0.4), size=400)
    probs[:20] = 1 / 7  # all tied: the stable order (lower index first) decides the rank
    probs[20:40, :2] = probs[20:40, :2].mean(1, keepdims=True)  # pairwise ties
    y = rng.integers(0, 7, 400)
    u = rng.uniform(size=400) if randomized else None
    full = _label_scores(probs, u, lam, k_reg, top_free)[np.arange(400), y]
    np.testing.assert_allclose(_true_label_scores(probs, y, u, lam, k_reg, top_free), full,
                               rtol=0, atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_exact_sets_cover_at_the_nominal_rate_where_the_model_beats_it(seed):
    """A 98 %-accurate model: sets that always hold the top label cover at the accuracy,
    above 1 - alpha (ItalyPowerDemand's case); the exact rule (randomised, empty allowed)
    covers at 1 - alpha."""
    rng = np.random.default_rng(seed)
    p_cal, y_cal = _noisy_classes(1000, 2, rng, noise=0.1)
    p_test, y_test = _noisy_classes(3000, 2, rng, noise=0.1)
    accuracy = (p_test.argmax(1) == y_test).mean()
    assert accuracy > 0.95
    cover = {}
    for rule, kw in (("nonempty", {}), ("exact", {"randomized": True, "allow_empty": True})):
        sets = conformal_sets(p_cal, y_cal, p_test, ALPHA, seed=seed, **kw).sets
        cover[rule] = sets[np.arange(len(y_test)), y_test].mean()
    assert cover["nonempty"] >= accuracy > 1 - ALPHA + _tolerance(1000, 3000)
    assert abs(cover["exact"] - (1 - ALPHA)) < _tolerance(1000, 3000)


def test_key_uniform_is_a_fixed_uniform_draw_per_key():
    from attnlib.trust.conformal import key_uniform

    keys = [f"row{i}" for i in range(20000)]
    u = key_uniform(keys)
    np.testing.assert_array_equal(u, key_uniform(keys))  # the same on every call
    assert ((u >= 0) & (u < 1)).all() and len(np.unique(u)) == len(u)
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() > 1800 and counts.max() < 2200  # ~2000 a bin (sd ~42)
    assert key_uniform(["a"])[0] != key_uniform(["b"])[0]


@pytest.mark.parametrize("seed", range(3))
def test_saved_exact_sets_rebuild_at_prediction_cover_at_the_nominal_rate(seed):
    """What `attnlib predict --sets` does with a bundle's threshold and rule: per-row U
    from the row's key, coverage 1 - alpha on new rows; a bundle without a rule (older)
    keeps the top label."""
    from attnlib.trust.checks import SavedSets

    rng = np.random.default_rng(seed)
    p_cal, y_cal = _noisy_classes(1000, 2, rng, noise=0.1)
    p_new, y_new = _noisy_classes(3000, 2, rng, noise=0.1)
    thr = conformal_sets(p_cal, y_cal, p_new, ALPHA, randomized=True, allow_empty=True,
                         seed=seed).threshold  # fmt: skip
    saved = SavedSets.of({"set_threshold": thr, "set_rule": "exact"})
    keys = [f"{seed}-{i}" for i in range(len(y_new))]
    sets = saved.sets(p_new, keys)
    assert abs(sets[np.arange(len(y_new)), y_new].mean() - (1 - ALPHA)) < _tolerance(1000, 3000)
    assert (sets.sum(1) == 0).any()  # the surplus coverage is given back as empty sets
    one = [saved.members(p_new[i], ["a", "b"], keys[i]) for i in range(50)]
    assert one == [["a", "b"][::-1 if p_new[i, 1] > p_new[i, 0] else 1][: int(sets[i].sum())]
                   for i in range(50)]  # fmt: skip
    older = SavedSets.of({"set_threshold": thr})
    assert older.rule == "nonempty" and older.sets(p_new, keys).sum(1).min() == 1


@pytest.mark.parametrize("rule", ["exact", "nonempty"])
def test_evaluate_reports_the_coverage_of_its_set_rule(rule, tmp_path):
    """class_checks (what evaluate runs) on a 98 %-accurate model's logits: the default
    exact rule covers at 1 - alpha, nonempty at the accuracy; the rule is reported and saved."""
    from types import SimpleNamespace

    from attnlib.trust.checks import class_checks

    rng = np.random.default_rng(0)
    p_val, y_val = _noisy_classes(1000, 3, rng, noise=0.1)
    p_test, y_test = _noisy_classes(3000, 3, rng, noise=0.1)
    accuracy = (p_test.argmax(1) == y_test).mean()
    options = SimpleNamespace(alpha=ALPHA, sets=rule, faith_items=0, faith_ig_items=0)
    entries, saved = class_checks(None, None, np.log(p_val), y_val, np.log(p_test), y_test,
                                  options=options, seed=0, plots=tmp_path)  # fmt: skip
    conf = entries["conformal"]
    assert conf["rule"] == saved["set_rule"] == rule
    if rule == "exact":
        assert abs(conf["coverage"] - (1 - ALPHA)) < _tolerance(1000, 3000)
        assert conf["empty_sets"] > 0.03
    else:
        assert conf["coverage"] >= accuracy > 1 - ALPHA + _tolerance(1000, 3000)
        assert conf["empty_sets"] == 0


def test_set_rules_are_the_ones_the_config_accepts_and_a_bundle_may_name():
    from typing import get_args

    from attnlib.config import EvaluateConfig
    from attnlib.errors import ModelFileError
    from attnlib.trust.checks import SavedSets
    from attnlib.trust.conformal import SET_RULES

    assert set(get_args(EvaluateConfig.model_fields["sets"].annotation)) == set(SET_RULES)
    with pytest.raises(ModelFileError, match=r"extra\.trust\.set_rule.*got 'bogus'"):
        SavedSets.of({"set_threshold": 0.5, "set_rule": "bogus"})
