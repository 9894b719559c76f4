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

``auto`` (both options): word tokens, lower-cased, for text to classify (case and glued
punctuation split a word's counts over several vocabulary entries on a few thousand
examples; what a question asks survives lower-casing); anything else untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

from attnlib.errors import ConfigError

TOKENIZERS = ("whitespace", "word")
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


def tokenize_all(texts: Iterable[str], spec: dict) -> list[list[str]]:
    """Every text as tokens by ``spec`` (:func:`resolve`)."""
    return [tokenize(t, spec["tokenizer"], spec["lowercase"]) for t in texts]


def retokenize(frame: pl.DataFrame, spec: dict | None) -> pl.DataFrame:
    """``frame``'s ``tokens`` rebuilt from its ``text`` column by ``spec``; ``text`` dropped.

    A text that yields no token (only punctuation, with a tokeniser that drops nothing,
    cannot; an empty text can) keeps its whitespace tokens. Frames without ``text`` or a
    None spec come back unchanged.
    """
    if spec is None or "text" not in frame.columns:
        return frame
    old = frame["tokens"].to_list()
    new = [t or o for t, o in zip(tokenize_all(frame["text"].to_list(), spec), old, strict=True)]
    return frame.with_columns(pl.Series("tokens", new, dtype=pl.List(pl.String))).drop("text")
