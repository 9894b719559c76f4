"""Baselines of attnlib.evaluate: what each is fitted on, and the metrics they report."""

from __future__ import annotations

import pytest

from attnlib.baselines import KneserNey
from attnlib.evaluate import kneser_ney_baseline


def test_kneser_ney_order_on_val_then_refitted_on_train_and_val():
    # val teaches 2 -> 4, which train never shows: only a fit that sees val predicts it
    train = [[2, 3, 2, 3, 2, 3]] * 5
    val = [[2, 4, 2, 4]] * 2
    test = [[2, 4, 2, 4]]
    out = kneser_ney_baseline(train, val, test, vocab_size=6, orders=[1, 2])
    refit = KneserNey(out["order"]).fit(train + val, vocab_size=6).evaluate(test)
    assert out["perplexity"] == pytest.approx(refit["perplexity"])
    trained_only = KneserNey(out["order"]).fit(train, vocab_size=6).evaluate(test)
    assert out["perplexity"] < trained_only["perplexity"]
    assert "n_predictions" not in out and out["order"] in (1, 2)


def test_kneser_ney_top_k_follows_the_param():
    train = [[2, 3]] * 3 + [[2, 4]] * 2 + [[2, 5], [2, 6], [2, 7]]
    test = [[2, 5], [2, 7]]
    three = kneser_ney_baseline(train, train, test, vocab_size=10, orders=[2], top_k=3)
    five = kneser_ney_baseline(train, train, test, vocab_size=10, orders=[2])
    assert three["top3_accuracy"] == 0.5 and "top5_accuracy" not in three
    assert five["top5_accuracy"] == 1.0
