"""Interpolated Kneser-Ney n-gram model: the baseline a next-state network must beat.

Sequences are lists of integer token ids from :class:`attnlib.vocab.Vocabulary`:
id 0 is ``<pad>`` (never predicted, never inside a sequence) and id 1 is ``<unk>``.
The convention matches the neural model's: in a sequence ``s`` every position
``t >= 1`` predicts ``s[t]`` from ``s[:t]`` (inputs ``s[:-1]``, targets ``s[1:]``);
contexts shorter than ``order - 1`` are left-padded with a begin-of-sequence symbol.

For an order-n model with discount D (Chen & Goodman's interpolated Kneser-Ney):

    P_n(w | h) = max(c(h, w) - D, 0) / c(h)  +  D * N1+(h, .) / c(h) * P_{n-1}(w | h[1:])

where the top order counts occurrences, lower orders count distinct left extensions
(how many contexts a word continues, not how often it occurs) except after the
begin-of-sequence symbol, whose n-grams keep their raw counts (nothing precedes it: the
rule of Chen & Goodman and KenLM), a context never seen
passes all its mass down, and order 0 is uniform over every id except ``<pad>``, so
no id but ``<pad>`` ever gets zero probability.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

BOS = -1  # begin-of-sequence padding for contexts; never a vocabulary id, never predicted
PAD_ID = 0

Context = tuple[int, ...]


class KneserNey:
    """Interpolated Kneser-Ney language model over token ids.

    Args:
        order: n, the number of tokens in an n-gram (1 = unigram: no context).
        discount: D in (0, 1], subtracted from every seen count.
    """

    def __init__(self, order: int, discount: float = 0.75):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an integer >= 1, got {order!r}")
        if not 0 < discount <= 1:
            raise ValueError(f"discount must be in (0, 1], got {discount!r}")
        self.order = order
        self.discount = discount
        self.vocab_size = 0
        # _levels[k - 1]: order-k counts, context (k - 1 ids) -> (word ids, counts, total)
        self._levels: list[dict[Context, tuple[np.ndarray, np.ndarray, float]]] = []
        self._cache: dict[Context, np.ndarray] = {}  # context -> read-only distribution
        self._ranked: dict[Context, np.ndarray] = {}  # context -> top-k ids, most probable first
        self._ranked_k = 0  # the k of the cached rankings

    def fit(self, sequences: Iterable[Sequence[int]], vocab_size: int | None = None) -> KneserNey:
        """Count n-grams.

        Args:
            sequences: token-id sequences (no ``<pad>``); sequences of one token teach nothing.
            vocab_size: V, the size of the distributions; default the largest id seen + 1.

        Returns:
            self, fitted.
        """
        n = self.order
        top: dict[Context, Counter] = defaultdict(Counter)
        max_id = 1
        for seq in sequences:
            ids = _as_ids(seq)
            if ids:
                max_id = max(max_id, max(ids))
            padded = [BOS] * (n - 1) + ids
            for t in range(1, len(ids)):  # position t sits at padded[t + n - 1]
                top[tuple(padded[t : t + n - 1])][padded[t + n - 1]] += 1
        counts: list[dict[Context, Counter]] = [top]
        # Order k-1 counts distinct (k)-grams ending in (h[1:], w). Every lower-order
        # occurrence has a left neighbour (a token or BOS), so the distinct k-grams are
        # exactly the keys of the order-k table. A context that starts with BOS has no
        # left neighbour but BOS (its continuation count would always be 1): it keeps the
        # raw count, carried down from the one order-k entry it comes from.
        for _ in range(n - 1):
            lower: dict[Context, Counter] = defaultdict(Counter)
            for context, words in counts[-1].items():
                shorter = context[1:]
                raw = shorter[:1] == (BOS,)
                for word, c in words.items():
                    lower[shorter][word] += c if raw else 1
            counts.append(lower)
        counts.reverse()
        self._levels = [{ctx: _freeze(words) for ctx, words in level.items()} for level in counts]
        self._set_vocab_size(max_id + 1 if vocab_size is None else vocab_size, max_id)
        return self

    def prob_dist(self, context: Sequence[int]) -> np.ndarray:
        """Distribution of the next token.

        Args:
            context: the tokens so far (only the last ``order - 1`` matter); may be empty.

        Returns:
            Read-only float64 array of shape (V,) summing to 1, zero only at ``<pad>``.
        """
        self._check_fitted()
        return self._dist(self._context(context))

    def clear_cache(self) -> None:
        """Forget the memoised distributions and rankings (they are rebuilt on demand)."""
        self._cache.clear()
        self._ranked.clear()

    def seen_contexts(self) -> list[Context]:
        """Every context the training sequences hold, of every length (``()`` first, then
        the 1-token ones, ...); an unseen context's distribution is its longest seen
        suffix's (:meth:`context_dist`)."""
        self._check_fitted()
        return [ctx for level in self._levels for ctx in level]

    def context_dist(self, context: Context) -> np.ndarray:
        """P(. | context) for exactly this context (``prob_dist`` pads a short one with the
        begin-of-sequence symbol to ``order - 1`` tokens): read-only, shape (V,)."""
        self._check_fitted()
        return self._dist(tuple(context))

    def evaluate(
        self, sequences: Iterable[Sequence[int]], vocab_size: int | None = None, top_k: int = 5
    ) -> dict:
        """Score next-token prediction on held-out sequences.

        Ties between equally probable ids rank the lower id first, as
        :func:`attnlib.metrics.top_k_accuracy` does for the network.

        Args:
            sequences: token-id sequences; every position t >= 1 is predicted from s[:t].
            vocab_size: V, if the distributions should cover more ids than were fitted
                (e.g. the full vocabulary); default the fitted V.
            top_k: k of the top-k accuracy (``evaluate.top_k``).

        Returns:
            ``accuracy`` (top-1), ``top{k}_accuracy``, ``nll`` (mean negative
            log-likelihood, nats), ``perplexity`` (exp of nll) and ``n_predictions``.
        """
        self._check_fitted()
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k!r}")
        if vocab_size is not None and vocab_size != self.vocab_size:
            self._set_vocab_size(vocab_size, self.vocab_size - 1)
        if top_k != self._ranked_k:
            self._ranked.clear()
            self._ranked_k = top_k
        n = self.order
        total_nll, count, top1, topk = 0.0, 0, 0, 0
        for seq in sequences:
            ids = _as_ids(seq)
            padded = [BOS] * (n - 1) + ids
            for t in range(1, len(ids)):
                target = ids[t]
                if target >= self.vocab_size:
                    raise ValueError(f"token id {target} >= vocab_size {self.vocab_size}")
                context = tuple(padded[t : t + n - 1])
                dist = self._dist(context)
                ranked = self._rank(context, dist)
                total_nll -= math.log(dist[target])
                count += 1
                top1 += int(ranked[0] == target)
                topk += int(target in ranked[:top_k])
        if count == 0:
            raise ValueError("nothing to predict: every sequence has fewer than 2 tokens")
        nll = total_nll / count
        return {
            "accuracy": top1 / count,
            f"top{top_k}_accuracy": topk / count,
            "nll": nll,
            "perplexity": math.exp(nll),
            "n_predictions": count,
        }

    # -- internals ---------------------------------------------------------------------

    def _set_vocab_size(self, vocab_size: int, max_id: int) -> None:
        if vocab_size <= max_id:
            raise ValueError(f"vocab_size {vocab_size} must exceed the largest id {max_id}")
        self.vocab_size = vocab_size
        self._cache.clear()
        self._ranked.clear()

    def _check_fitted(self) -> None:
        if not self._levels:
            raise RuntimeError("KneserNey model is not fitted; call fit() first")

    def _context(self, context: Sequence[int]) -> Context:
        width = self.order - 1
        tail = [int(t) for t in context][-width:] if width else []
        return tuple([BOS] * (width - len(tail)) + tail)

    def _dist(self, context: Context) -> np.ndarray:
        """P(. | context) for the order len(context) + 1, memoised per context."""
        cached = self._cache.get(context)
        if cached is not None:
            return cached
        if context:
            lower = self._dist(context[1:])
        else:
            lower = np.full(self.vocab_size, 1.0 / (self.vocab_size - 1))
            lower[PAD_ID] = 0.0
        entry = self._levels[len(context)].get(context)
        if entry is None:
            dist = lower  # unseen context: all its mass goes to the shorter one
        else:
            words, counts, total = entry
            # Each seen word gives up D; the pooled D * types is spread like the lower order.
            dist = lower * (self.discount * len(words) / total)
            dist[words] += np.maximum(counts - self.discount, 0.0) / total
        dist.flags.writeable = False  # shared through the cache: callers must not edit it
        self._cache[context] = dist
        return dist

    def _rank(self, context: Context, dist: np.ndarray) -> np.ndarray:
        """The top-k ids, most probable first; ties keep the lower id first (a stable sort)."""
        ranked = self._ranked.get(context)
        if ranked is None:
            ranked = np.argsort(-dist, kind="stable")[: self._ranked_k].copy()
            self._ranked[context] = ranked
        return ranked


def select_order(
    train: Iterable[Sequence[int]],
    val: Iterable[Sequence[int]],
    vocab_size: int,
    orders: Iterable[int] = range(1, 8),
    discount: float = 0.75,
) -> tuple[int, dict[int, float]]:
    """Choose the n-gram order with the lowest validation perplexity.

    Args:
        train: token-id sequences to fit on.
        val: token-id sequences to score.
        vocab_size: V, the size of the vocabulary (``<pad>`` and ``<unk>`` included).
        orders: candidate orders.
        discount: Kneser-Ney discount for every candidate.

    Returns:
        The best order (the smallest on ties) and ``{order: validation perplexity}``.
    """
    order, scores, _ = fit_best_order(train, val, vocab_size, orders, discount)
    return order, scores


def fit_best_order(
    train: Iterable[Sequence[int]], val: Iterable[Sequence[int]], vocab_size: int,
    orders: Iterable[int] = range(1, 8), discount: float = 0.75,
) -> tuple[int, dict[int, float], KneserNey]:  # fmt: skip
    """:func:`select_order`, also returning the chosen order's model (fitted on ``train``),
    so a caller that needs it does not count the data again."""
    train, val = [list(s) for s in train], [list(s) for s in val]
    scores: dict[int, float] = {}
    best: KneserNey | None = None
    for k in orders:
        lm = KneserNey(k, discount).fit(train, vocab_size)
        scores[k] = lm.evaluate(val)["perplexity"]
        lm.clear_cache()  # the validation contexts' distributions: not kept alive
        if best is None or (scores[k], k) < (scores[best.order], best.order):
            best = lm
    if best is None:
        raise ValueError("orders is empty")
    return best.order, scores, best


def kneser_ney_baseline(
    train: Iterable[Sequence[int]], val: Iterable[Sequence[int]], test: Iterable[Sequence[int]],
    vocab_size: int, orders: Iterable[int], top_k: int = 5,
) -> dict:  # fmt: skip
    """The next-state baseline: order chosen on validation (fitted on train), then refitted
    on train + validation and scored on test.

    Returns: the test metrics (``top{top_k}_accuracy`` among them), the ``order`` and its
    ``val_perplexity`` (of the train-only fit that chose it).
    """
    train, val = [list(s) for s in train], [list(s) for s in val]
    order, val_ppl = select_order(train, val, vocab_size, orders=orders)
    lm = KneserNey(order).fit(train + val, vocab_size=vocab_size)
    out = lm.evaluate(test, vocab_size=vocab_size, top_k=top_k)
    out.pop("n_predictions", None)
    return {**out, "order": order, "val_perplexity": val_ppl[order]}


def _as_ids(seq: Sequence[int]) -> list[int]:
    ids = [int(t) for t in seq]
    if any(t <= PAD_ID for t in ids):
        raise ValueError("sequences must hold ids >= 1 (no <pad>, no negative ids)")
    return ids


def _freeze(words: Counter) -> tuple[np.ndarray, np.ndarray, float]:
    ids = np.fromiter(words.keys(), dtype=np.int64, count=len(words))
    counts = np.fromiter(words.values(), dtype=np.float64, count=len(words))
    return ids, counts, float(counts.sum())
