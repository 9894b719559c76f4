"""Text encodings of the user's files (``ingest.encoding``, ``--encoding``).

An encoding is a Python codec name (``utf-8``, ``cp1252``, ``latin-1``, ``utf-16-le`` ...)
or several, tried in order: ``utf-8/cp1252`` reads a file as UTF-8 when all of it
decodes so, else as cp1252 (``,`` separates them too, but ``dvc exp run -S key=a,b`` is a
sweep). A codec that decodes any bytes (``latin-1``) or most (UTF-16, UTF-32) can only
come last. A BOM is no guess and wins over the names given: a file that starts with
UTF-8's, UTF-16's or UTF-32's is read as that. Text that decodes with a NUL in every other
character is UTF-16 without a BOM, not the encoding tried. Nothing else is guessed:
single-byte code pages cannot be told apart from the bytes (the same bytes are valid text
in each, and a wrong guess garbles the text without an error).
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from attnlib import errors
from attnlib.errors import ConfigError, DataError

UTF8 = "utf-8"
WIDE = ("utf-16", "utf-32")  # codecs whose ASCII characters hold NUL bytes
# UTF-32-LE's BOM starts with UTF-16-LE's: it is looked for first
_BOMS = ((codecs.BOM_UTF8, UTF8), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip
# text codecs that are no file's encoding (escapes, domain names, a placeholder)
_NOT_FILES = ("undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode")
# why a file of NUL bytes is no text, for its error
BINARY = ("it holds binary data: an image, a sound? or UTF-16 without a BOM: give "
          "ingest.encoding")  # fmt: skip
_COMMON = {UTF8: "utf-8", "cp1252": "cp1252 (a Windows spreadsheet's CSV in Western Europe or "
           "the Americas)", "iso8859-1": "latin-1", "cp1251": "cp1251 (Cyrillic)",
           "shift_jis": "shift_jis", "gb18030": "gb18030"}  # fmt: skip
_EXPECTED = (
    "a Python codec name, or several to try in order: utf-8, cp1252 (Windows' "
    "Western European), latin-1, utf-16, shift_jis, gb18030, utf-8/cp1252 ..."
)


@dataclass(frozen=True)
class Decoded:
    """A file's text; the encoding it was read in, and whether its BOM said so."""

    text: str
    codec: str
    by_bom: bool = False
    # the first encoding tried and its line that did not decode, when the bytes above that
    # line held non-ASCII text (which reads garbled if it was in that encoding)
    garbled: tuple[str, int] | None = None


class Undecodable(ValueError):
    """Bytes none of the encodings tried decodes: each one's first failure (name, line,
    reason); ``line`` is the last one's (the fallback the user meant)."""

    def __init__(self, failures: list[tuple[str, int, str]], by_bom: bool = False,
                 wide: bool = False):  # fmt: skip
        self.failures, self.by_bom, self.line = failures, by_bom, failures[-1][1]
        self.wide = wide  # NUL bytes as UTF-16's or UTF-32's ASCII has them
        name, _, reason = failures[-1]
        others = "".join(f", nor {shown(n)} (line {line}: {why})"
                         for n, line, why in failures[:-1])  # fmt: skip
        super().__init__(f"not valid {shown(name)} ({reason}){others}")

    @property
    def tried(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.failures)


@functools.cache  # a folder checks it for each file
def checked(spec: str) -> str:
    """``spec`` with each name canonical (``UTF8`` -> ``utf-8``, ``latin1`` ->
    ``iso8859-1``); a ConfigError for an unknown name, a codec that is not a file's text
    one, or one that decodes (almost) anything before another (which it would hide)."""
    names = [n.strip() for n in re.split(r"[/,]", spec)] if isinstance(spec, str) else [""]
    canonical = []
    for name in names:
        try:
            info = codecs.lookup(name)
        except (LookupError, TypeError, ValueError):
            info = None
        if info is None or not getattr(info, "_is_text_encoding", True) or info.name in _NOT_FILES:
            raise ConfigError(f"unknown text encoding {name!r} in {spec!r}; expected "
                              f"{_EXPECTED}")  # fmt: skip
        canonical.append(UTF8 if info.name in ("utf-8", "utf-8-sig") else info.name)
    canonical = list(dict.fromkeys(canonical))
    for name in canonical[:-1]:
        if name.startswith(WIDE) or _decodes_any_byte(name):
            raise ConfigError(f"text encoding {spec!r}: {name} decodes (almost) any bytes, "
                              "so the encodings after it would never be tried; give it "
                              "last")  # fmt: skip
    return "/".join(canonical)


def _decodes_any_byte(name: str) -> bool:
    try:
        bytes(range(256)).decode(name)
    except UnicodeDecodeError:
        return False
    return True


def names(spec: str) -> tuple[str, ...]:
    return tuple(checked(spec).split("/"))


def shown(name: str) -> str:
    return "UTF-8" if name == UTF8 else name


def described(decodings: list[Decoded], spec: str) -> str:
    """What a read line says of the encodings files were decoded in: ``; decoded as
    cp1252`` (``utf-16, by its BOM``), for a folder ``utf-8 (2,431 files), cp1252 (2,432
    files)``; nothing when all were UTF-8, as the default asks."""
    counts = Counter(d.codec + (", by its BOM" if d.by_bom else "") for d in decodings)
    if spec == UTF8 and all(d.codec == UTF8 for d in decodings):
        return ""
    if len(counts) == 1:
        return f"; decoded as {next(iter(counts))}"
    return "; decoded as " + ", ".join(f"{c} ({n:,} file{'s' * (n > 1)})"
                                        for c, n in counts.most_common())  # fmt: skip


def bom(head: bytes) -> str | None:
    """The encoding a BOM at the start of ``head`` says, or None."""
    return next((name for mark, name in _BOMS if head.startswith(mark)), None)


def _order(head: bytes, spec: str) -> tuple[tuple[str, ...], bool]:
    """The encodings to try, in order: the BOM's alone when there is one, else ``spec``'s."""
    said = bom(head[:4])
    return ((said,), True) if said else (names(spec), False)


def decode(data: bytes, spec: str) -> Decoded:
    """``data`` decoded (its BOM dropped) in its BOM's encoding, else the first of
    ``spec`` that decodes all of it into text that is not UTF-16 in disguise.

    Raises:
        Undecodable: none does.
    """
    tried, by_bom = _order(data, spec)
    failures, garbled = [], None
    for name in tried:
        try:
            text = data.decode(name).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].decode(name, errors="replace").count("\n") + 1
            if not failures and not data[: exc.start].isascii():
                garbled = (name, line)
            failures.append((name, line, exc.reason))
            continue
        if not name.startswith(WIDE) and looks_wide(text):
            failures.append((name, 1, "a NUL in every other character: UTF-16 without a BOM?"))
            continue
        return Decoded(text, name, by_bom, garbled)
    raise Undecodable(failures, by_bom, looks_wide(data[:1000].decode("latin-1")))


def looks_wide(text: str) -> bool:
    """Text with NULs in a quarter or more of its first 1,000 characters: UTF-16 or UTF-32
    read as a single-byte encoding or UTF-8 (a stray NUL in a cell is not)."""
    head = text[:1000]
    return bool(head) and head.count("\x00") * 4 >= len(head)


def head_codec(head: bytes, spec: str) -> str:
    """The encoding :func:`decode` would read a file in, told from its first bytes (perhaps
    cut inside a character; the whole file may still prove it wrong)."""
    tried, _ = _order(head, spec)
    for name in tried:
        try:
            text = codecs.getincrementaldecoder(name)().decode(head)
        except UnicodeDecodeError:
            continue
        if name.startswith(WIDE) or not looks_wide(text):
            return name
    return tried[-1]


def is_binary(head: bytes, spec: str = UTF8) -> bool:
    """The first bytes of a file that is not text (an image, a sound): a NUL byte that
    neither a BOM nor a UTF-16 / UTF-32 encoding given explains (with such an encoding,
    bytes that do not decode, or decode to control characters)."""
    if b"\x00" not in head or bom(head):
        return False
    for name in (n for n in names(spec) if n.startswith(WIDE)):
        try:
            text = codecs.getincrementaldecoder(name)().decode(head)  # may be cut: not final
        except UnicodeDecodeError:
            continue
        if not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v" for c in text):
            return False
    return True


def advice(tried: tuple[str, ...], by_bom: bool, wide: bool = False) -> str:
    """How to read a file the encodings ``tried`` did not decode. Its encoding is not
    guessed: the commonest others are named (UTF-16's and UTF-32's first when ``wide``:
    the file's NUL bytes are theirs)."""
    if by_bom:
        return f"its first bytes (a BOM) say it is {tried[0]}: is it cut or damaged?"
    if wide and not any(n.startswith(WIDE) for n in tried):
        return (
            "its NUL bytes say UTF-16 or UTF-32 without a BOM: give ingest.encoding "
            "(--encoding on the command line) utf-16-le, utf-16-be, utf-32-le ..."
        )
    others = [shown for name, shown in _COMMON.items() if name not in tried]
    mixed = "; a file mixing encodings is not read: convert it" if len(tried) > 1 else ""
    return (f"give its encoding with ingest.encoding (--encoding on the command line): "
            f"{', '.join(others)} ...{mixed}; or save it as UTF-8")  # fmt: skip


def lines(raw: Iterable[bytes], spec: str, where: str) -> Iterator[str]:
    """Lines of bytes (standard input's, as they come) as text, each decoded with the first
    of ``spec`` that decodes it (a UTF-8 BOM on the first dropped); a line none decodes is
    a DataError naming it. UTF-16 / UTF-32 are not read line by line: left out of a list,
    alone a ConfigError."""
    given = names(spec)
    tried = tuple(n for n in given if not n.startswith(WIDE))
    if not tried:
        raise ConfigError(f"{where} is read line by line, which {given[0]} cannot be: "
                          f"convert it first (iconv -f {given[0]} -t utf-8)")  # fmt: skip
    for number, line in enumerate(raw, start=1):
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        for name in tried:
            try:
                yield line.decode(name)
                break
            except UnicodeDecodeError:
                continue
        else:
            named = " nor ".join(map(shown, tried))
            raise DataError(f"{errors.where(where, row=number)}not valid {named}; "
                            f"{advice(tried, False)}")  # fmt: skip
