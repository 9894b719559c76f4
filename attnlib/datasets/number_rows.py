"""Rules that tell rows of numbers apart: a UCR row from a header of numbers, a UCR file
with a stray title from SeqLab TXT tokens, a class that is a word from a header's name.
:func:`attnlib.datasets.formats.detect_format` goes by them."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import polars as pl

from attnlib.datasets import series
from attnlib.datasets.times import parse_times
from attnlib.errors import DataError

# a line's fields for telling its shape (runs of separators as one: an empty field, a gap
# read_ucr keeps, does not make a row of numbers something else)
_UCR_SEP = re.compile(r"[\t, ]+")
_CHECKED = 6  # lines whose shape is checked (the first and five more)
_SCANNED = 1000  # lines searched for line 1's class


def numbers_header(fields: list[str], lines: list[str]) -> bool:
    """Line 1 is a header of numbers (years, wavelengths, 1 .. N), not a UCR row: whole
    numbers, either consecutive or above rows whose first field is not a whole number (a
    UCR row's first field is its class)."""
    if any(_decimal(f) for f in fields):
        return False
    if all(b == a + 1 for a, b in itertools.pairwise(float(f) for f in fields)):
        return True
    firsts = [f[0] for ln in lines[1:_CHECKED] if (f := ln.replace(",", " ").split())]
    return any(not series.is_number(f) or not float(f).is_integer() for f in firsts)


def txt_format(path: Path, first: str, fields: list[str], numeric: bool,
               lines: list[str]) -> tuple[str, str]:  # fmt: skip
    """A .txt file: UCR rows (numbers with decimals, after a class that is a number or a
    word) or SeqLab TXT (whole numbers there are tokens); a word above rows of numbers is
    an error."""
    if numeric and _decimal(first):
        return "ucr", "the first line is all numbers with decimals: label, then values"
    if word_classes(lines, decimals=True):
        return "ucr", WORD_CLASSES
    if _numeric_rows(lines[1:_CHECKED]) or word_classes(lines[1 : _SCANNED + 1], decimals=True):
        word = next((f for f in fields if not series.is_number(f)), first[:20])
        raise DataError(
            f"{path}, line 1: '{word}' is not a number, but the lines after it are rows of "
            "a class and numbers (a UCR series file?); remove line 1, or say the format "
            "(ingest.format / --format seqlab_txt or ucr)"
        )
    return "seqlab_txt", "a .txt file of whitespace-separated tokens"


def _numeric_rows(lines: list[str]) -> bool:
    """Every one of these (non-empty) lines holds 3+ numbers with decimals: UCR rows."""
    rows = [ln.replace(",", " ").split() for ln in lines if ln.strip()]
    return bool(rows) and all(
        len(r) >= 3 and all(series.is_number(f) for f in r) and any("." in f for f in r)
        for r in rows
    )


WORD_CLASSES = ("each line a word, then 3+ numbers; line 1's word starts other lines too "
                "(a class, not a header's name): label, then values")  # fmt: skip


def word_classes(lines: list[str], decimals: bool) -> bool:
    """UCR rows whose class is a word (``walking 0.12 0.31 ...``, aeon's and sktime's class
    names written in the archive's layout): the first lines are each a word that is not a
    number or a date, then 3+ numbers (with ``decimals``, one of them has a decimal point or
    an exponent: whole numbers in a .txt are tokens); line 1's word is not a date and its
    numbers are neither consecutive whole numbers nor rising ones above decimals (a header
    of steps or years); line 1 does not come again (files joined end to end); and in the
    first 1,000 lines the words repeat (at most half as many as lines, or 2) and line 1's
    is among them again. A header's first name (``label``) starts no other line; a class
    that occurs once in those lines is read as a header (give the format ``ucr``)."""
    head = [_UCR_SEP.split(ln.strip()) for ln in lines[:_CHECKED]]
    if len(head) < 2 or not all(_labelled_row(r, decimals) for r in head):
        return False
    word, steps = head[0][0], [float(v) for v in head[0][1:]]
    whole = all(v.is_integer() for v in steps)
    steady = all(b == v + 1 for v, b in itertools.pairwise(steps))  # country,2019,2020,2021
    rising = all(b > v for v, b in itertools.pairwise(steps))  # country,2000,2005 above 1.5
    if whole and (steady or rising and any(_decimal(v) for r in head[1:] for v in r[1:])):
        return False  # a header of steps or years
    if parse_times(pl.Series([word.strip('"')])) is not None:  # a date: an index
        return False
    scanned = [ln.strip() for ln in lines[:_SCANNED] if ln.strip()]
    if scanned[0] in scanned[1:]:  # line 1 again: a header of files joined end to end
        return False
    words = [_UCR_SEP.split(ln, maxsplit=1)[0] for ln in scanned]
    return words.count(word) > 1 and len(set(words)) <= max(2, len(words) // 2)


def _labelled_row(fields: list[str], decimals: bool) -> bool:
    values = fields[1:]
    return (
        len(values) >= 3
        and not series.is_number(fields[0])
        and all(series.is_number(v) for v in values)
        and (not decimals or any(_decimal(v) for v in values))
    )


def _decimal(number: str) -> bool:
    """Written with a decimal point or an exponent (not a whole number as a token is)."""
    return any(c in number for c in ".eE")
