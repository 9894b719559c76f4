"""Built-in ``bach_chorales``: Bach's chorales from music21's corpus as chord sequences.

Each chorale is chordified (all voices merged into one stream of sonorities) and
becomes one token per chord event, the chord's ``pitchedCommonName`` (for example
``'G-major triad'``). The task is next-state prediction: the next chord from the
chords so far. Everything comes from the installed music21 package; nothing is
downloaded.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import PurePosixPath

import polars as pl

from attnlib.errors import DataError

log = logging.getLogger(__name__)


def chorale_paths() -> list[tuple[str, int]]:
    """List the distinct chorale files in Riemenschneider order.

    The Riemenschneider numbering has 371 entries but only 350 distinct files (some
    chorales are listed twice); a file is kept at its first number.

    Returns:
        ``(corpus_path, riemenschneider_number)`` pairs, e.g. ``('bach/bwv269', 1)``.
    """
    from music21 import corpus

    chorales = corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="filename")
    first: dict[str, int] = {}
    for number, path in zip(chorales.numberList, chorales, strict=True):
        first.setdefault(path, number)
    return list(first.items())


def chord_tokens(corpus_path: str) -> list[str]:
    """Parse one chorale and return one token per chord event.

    A chord with no new attack (every note tied over from the previous chord) and the
    same pitches as the previous chord is the same sonority held across a bar line,
    so it is merged into it rather than counted twice. Rests are skipped.

    Args:
        corpus_path: a music21 corpus path such as ``'bach/bwv269'``.

    Returns:
        The chords' ``pitchedCommonName`` values in score order.
    """
    from music21 import corpus

    try:
        score = corpus.parse(corpus_path)
    except Exception as exc:  # music21 raises many types; the user only needs the file
        raise DataError(f"music21 corpus '{corpus_path}': cannot parse ({exc})") from None
    tokens: list[str] = []
    previous: tuple[str, ...] = ()
    for chord in score.chordify().flatten().getElementsByClass("Chord"):
        pitches = tuple(sorted(p.nameWithOctave for p in chord.pitches))
        if not pitches:
            continue
        held = all(n.tie is not None and n.tie.type in ("stop", "continue") for n in chord.notes)
        if not (held and pitches == previous):
            tokens.append(chord.pitchedCommonName)
        previous = pitches
    if not tokens:
        raise DataError(f"music21 corpus '{corpus_path}': no chords")
    return tokens


def drop_duplicate_sequences(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Drop rows whose token sequence equals an earlier row's.

    Identical sequences under different ids would otherwise land in train and test
    and leak; the first occurrence is kept.

    Args:
        frame: DataFrame with ``id`` and ``tokens`` columns.

    Returns:
        The frame without repeats, and the ids of the dropped rows.
    """
    seen: set[tuple[str, ...]] = set()
    keep, dropped = [], []
    for row_id, toks in zip(frame["id"], frame["tokens"], strict=True):
        key = tuple(toks)
        keep.append(key not in seen)
        if key in seen:
            dropped.append(row_id)
        seen.add(key)
    return frame.filter(pl.Series(keep)), dropped


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork when this process runs a single thread, else spawn.

    Fork starts fast and works from a script without an ``if __name__ == "__main__"``
    guard; but forking a process that runs other threads (Prefect's, a server's) can
    deadlock the child, so then we pay for spawn instead.
    """
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def load_bach_chorales(*, limit: int | None = None, workers: int = 2) -> pl.DataFrame:
    """Build the ``bach_chorales`` data set.

    Args:
        limit: parse only the first ``limit`` distinct chorales (Riemenschneider order).
        workers: parser processes; 1 parses in this process.

    Returns:
        DataFrame with ``id`` (file stem, e.g. ``'bwv269'``) and ``tokens`` (chord names),
        in Riemenschneider order, exact duplicate sequences removed.
    """
    paths = [path for path, _ in chorale_paths()][:limit]
    start = time.perf_counter()
    if workers == 1:
        sequences = [chord_tokens(p) for p in paths]
    else:
        # map() keeps input order, so ids and sequences stay aligned.
        with ProcessPoolExecutor(min(workers, len(paths)), mp_context=_pool_context()) as pool:
            sequences = list(pool.map(chord_tokens, paths, chunksize=4))
    frame = pl.DataFrame(
        {"id": [PurePosixPath(p).name for p in paths], "tokens": sequences},
        schema={"id": pl.String, "tokens": pl.List(pl.String)},
    )
    frame, dropped = drop_duplicate_sequences(frame)
    log.info(
        "bach_chorales: %d chorales parsed in %.1f s with %d worker(s); "
        "%d duplicate sequence(s) dropped %s; %d chord events, %d distinct",
        len(paths),
        time.perf_counter() - start,
        workers,
        len(dropped),
        dropped,
        frame["tokens"].list.len().sum(),
        frame["tokens"].explode().n_unique(),
    )
    return frame
