"""Interpolated Kneser-Ney baseline: normalisation, the KN formula, and its behaviour."""

import numpy as np
import pytest

from attnlib.baselines import KneserNey, kneser_ney_baseline, select_order
from attnlib.baselines.ngram import BOS, fit_best_order


def markov_sequences(order: int, n_seq: int, length: int, n_tokens: int, seed: int = 0):
    """Sequences over ids 2..n_tokens+1 where each token depends on the previous `order`."""
    rng = np.random.default_rng(seed)
    table = {}  # context -> (most likely next token, fallback)
    seqs = []
    for _ in range(n_seq):
        seq = [int(t) for t in rng.integers(2, n_tokens + 2, size=order)]
        while len(seq) < length:
            ctx = tuple(seq[-order:])
            if ctx not in table:
                table[ctx] = int(rng.integers(2, n_tokens + 2))
            # 90 % deterministic given the context, 10 % noise
            noise = rng.random() < 0.1
            seq.append(int(rng.integers(2, n_tokens + 2)) if noise else table[ctx])
        seqs.append(seq)
    return seqs


def test_distributions_sum_to_one_for_seen_and_unseen_contexts():
    seqs = markov_sequences(2, 20, 30, 6)
    model = KneserNey(3).fit(seqs, vocab_size=12)  # ids 8..11 never seen
    for context in ([], [2], seqs[0][:5], [9, 10], [11, 11, 11], [1]):
        dist = model.prob_dist(context)
        assert dist.shape == (12,)
        assert dist.sum() == pytest.approx(1.0, abs=1e-12)
        assert dist[0] == 0.0  # <pad> is never predicted
        assert (dist[1:] > 0).all()  # unseen ids (and <unk>) keep some mass
    assert not model.prob_dist([2]).flags.writeable


def test_probabilities_match_the_formula_by_hand():
    # Bigrams (2,3) x2 and (2,4) x1; D = 0.5; V = 5 -> uniform 1/4 over ids 1..4.
    model = KneserNey(2, discount=0.5).fit([[2, 3], [2, 4], [2, 3]], vocab_size=5)
    # Unigram level uses continuation counts: 3 and 4 each follow one distinct token.
    # p1(3) = (1 - .5)/2 + .5 * 2/2 * 1/4 = .375 ; p1(1) = p1(2) = .125
    np.testing.assert_allclose(model.prob_dist([4]), [0, 0.125, 0.125, 0.375, 0.375])
    # p2(3|2) = (2 - .5)/3 + .5 * 2/3 * .375 = .625 ; p2(4|2) = .5/3 + 1/3 * .375
    np.testing.assert_allclose(
        model.prob_dist([2]), [0, 0.125 / 3, 0.125 / 3, 0.625, 0.5 / 3 + 0.125]
    )


def test_continuation_counts_favour_versatile_tokens_in_backoff():
    # Token 5 is frequent but only ever follows 4; token 6 is rarer but follows many.
    seqs = [[4, 5]] * 50 + [[t, 6] for t in range(7, 17)]
    model = KneserNey(2).fit(seqs, vocab_size=20)
    backoff = model.prob_dist([18])  # context never seen: pure unigram level
    assert backoff[6] > backoff[5]
    assert model.prob_dist([4]).argmax() == 5


def test_bigram_is_perfect_on_a_cyclic_sequence():
    cycle = list(range(2, 9))
    train = [cycle * 20]
    test = [cycle * 3, cycle[3:] + cycle]
    metrics = KneserNey(2).fit(train, vocab_size=10).evaluate(test)
    assert metrics["accuracy"] == 1.0
    assert metrics["top5_accuracy"] == 1.0
    assert metrics["n_predictions"] == 20 + 10
    assert metrics["perplexity"] < 1.1


def test_higher_order_beats_unigram_on_structured_data():
    seqs = markov_sequences(2, 80, 40, 8, seed=1)
    train, test = seqs[:60], seqs[60:]
    uni = KneserNey(1).fit(train, vocab_size=10).evaluate(test)
    tri = KneserNey(3).fit(train, vocab_size=10).evaluate(test)
    assert tri["perplexity"] < uni["perplexity"] / 2
    assert tri["accuracy"] > uni["accuracy"] + 0.4
    assert tri["nll"] == pytest.approx(np.log(tri["perplexity"]))


def test_uniform_model_has_perplexity_equal_to_the_predictable_vocabulary():
    # Every non-pad id 1..V-1 equally frequent: the unigram KN model is exactly uniform
    # over the V - 1 ids it can predict (<pad> gets zero mass), so perplexity = V - 1.
    vocab_size = 9
    seq = [5] + list(range(1, vocab_size)) * 25  # the first token is context only
    model = KneserNey(1).fit([seq], vocab_size=vocab_size)
    np.testing.assert_allclose(model.prob_dist([])[1:], 1 / (vocab_size - 1))
    metrics = model.evaluate([seq[::-1], seq[3:]])
    assert metrics["perplexity"] == pytest.approx(vocab_size - 1)


def test_select_order_finds_the_order_of_the_generating_process():
    seqs = markov_sequences(2, 150, 40, 6, seed=2)
    best, scores = select_order(seqs[:120], seqs[120:], vocab_size=8, orders=range(1, 6))
    assert best == 3  # a 2-token context = a trigram model
    assert set(scores) == {1, 2, 3, 4, 5}
    assert scores[3] == min(scores.values())
    assert scores[1] > scores[2] > scores[3]


def test_fit_best_order_returns_the_chosen_model_as_a_fresh_fit_would_be():
    seqs = markov_sequences(2, 150, 40, 6, seed=2)
    train, val = seqs[:120], seqs[120:]
    best, scores, lm = fit_best_order(train, val, vocab_size=8, orders=range(1, 6))
    assert (best, scores) == select_order(train, val, vocab_size=8, orders=range(1, 6))
    assert lm.order == best
    assert not lm._cache and not lm._ranked  # scoring validation leaves nothing behind
    fresh = KneserNey(best).fit(train, vocab_size=8)
    for context in fresh.seen_contexts():
        np.testing.assert_array_equal(lm.context_dist(context), fresh.context_dist(context))
    with pytest.raises(ValueError, match="orders is empty"):
        fit_best_order(train, val, vocab_size=8, orders=[])


def test_evaluate_widens_the_vocabulary_but_rejects_ids_beyond_it():
    model = KneserNey(2).fit([[2, 3, 2, 3]])
    assert model.vocab_size == 4
    assert model.evaluate([[2, 3]], vocab_size=10)["n_predictions"] == 1
    assert model.prob_dist([2]).shape == (10,)
    with pytest.raises(ValueError, match="vocab_size"):
        model.evaluate([[2, 12]])


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="<pad>"):
        KneserNey(2).fit([[2, 0, 3]])
    with pytest.raises(ValueError, match="order"):
        KneserNey(0)
    with pytest.raises(RuntimeError, match="not fitted"):
        KneserNey(2).prob_dist([2])
    with pytest.raises(ValueError, match="nothing to predict"):
        KneserNey(2).fit([[2, 3]]).evaluate([[2]])


def _counts(model: KneserNey, context: tuple[int, ...]) -> dict[int, int]:
    """The counts the order-(len(context) + 1) level holds for ``context``."""
    words, counts, _ = model._levels[len(context)][context]
    return {int(w): int(c) for w, c in zip(words, counts, strict=True)}


def test_lower_orders_keep_raw_counts_after_the_begin_of_sequence_marker():
    # Chen & Goodman / KenLM: an n-gram whose context starts with BOS has no left extension
    # but BOS itself, so its continuation count would be 1; it keeps its raw count instead.
    model = KneserNey(4).fit([[5, 6, 7]] * 3 + [[5, 6, 8]], vocab_size=10)
    assert _counts(model, (BOS, BOS, 5)) == {6: 4}  # top order: occurrences
    assert _counts(model, (BOS, 5)) == {6: 4}  # lower order, after BOS: raw count
    assert _counts(model, (5, 6)) == {7: 1, 8: 1}  # lower order elsewhere: continuation
    assert _counts(model, (5,)) == {6: 1}
    assert _counts(model, ()) == {6: 1, 7: 1, 8: 1}
    for context in ([], [5], [5, 6], [6], [9], [5, 6, 7]):
        assert model.prob_dist(context).sum() == pytest.approx(1.0, abs=1e-12)


def test_top_k_follows_the_param_and_names_the_key():
    # after 2 the training data continues 3 (x3), 4 (x2), 5, 6, 7: 5 ranks third, 7 fifth
    train = [[2, 3]] * 3 + [[2, 4]] * 2 + [[2, 5], [2, 6], [2, 7]]
    model = KneserNey(2).fit(train, vocab_size=10)
    test = [[2, 5], [2, 7]]
    three, five = model.evaluate(test, top_k=3), model.evaluate(test)
    assert "top5_accuracy" not in three and three["top3_accuracy"] == 0.5
    assert "top3_accuracy" not in five and five["top5_accuracy"] == 1.0
    assert model.evaluate(test, top_k=1)["top1_accuracy"] == three["accuracy"] == 0.0


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


def test_seen_contexts_and_their_exact_distributions():
    model = KneserNey(3).fit([[2, 3, 4], [3, 4, 2]], vocab_size=5)
    contexts = model.seen_contexts()
    assert contexts[0] == () and (BOS, 2) in contexts and (3, 4) in contexts
    assert all(len(c) <= 2 for c in contexts)
    # a full-order context is prob_dist's; a shorter one is not padded
    np.testing.assert_array_equal(model.context_dist((3, 4)), model.prob_dist([3, 4]))
    # [2] is padded to (BOS, 2), which the first sequence holds: not the context (2,)
    assert not np.allclose(model.context_dist((2,)), model.prob_dist([2]))
    np.testing.assert_allclose(model.context_dist((2,)).sum(), 1.0)
