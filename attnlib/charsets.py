"""Text encodings of the user's files (``ingest.encoding``, ``--encoding``).

An encoding is a Python codec name (``utf-8``, ``cp1252``, ``latin-1``, ``utf-16-le`` ...)
or several, comma-separated, tried in order: ``utf-8,cp1252`` reads a file as UTF-8 when
it decodes so, else as cp1252 (a single-byte code page decodes any bytes, so it goes
last). A BOM is no guess and wins over the names given: a file that starts with UTF-8's,
UTF-16's or UTF-32's is read as that. Nothing else is guessed: single-byte code pages
cannot be told apart from the bytes (a detector took French cp1252 text for cp1250).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

from attnlib.errors import ConfigError, DataError

UTF8 = "utf-8"
WIDE = ("utf-16", "utf-32")  # codecs whose ASCII characters hold NUL bytes
# UTF-32-LE's BOM starts with UTF-16-LE's: it is looked for first
_BOMS = ((codecs.BOM_UTF8, UTF8), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip
_EXPECTED = ("a Python codec name, or several comma-separated to try in order: utf-8, "
             "cp1252 (Windows' Western European), latin-1, utf-16, shift_jis, gb18030, "
             "utf-8,cp1252 ...")  # fmt: skip


# text codecs that are no file's encoding (escapes, domain names, a placeholder)
_NOT_FILES = ("undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode")


class Undecodable(ValueError):
    """Bytes that none of the encodings decode: where the first one failed, and why."""

    def __init__(self, names: tuple[str, ...], line: int, reason: str):
        super().__init__(f"line {line}: not valid {' or '.join(map(shown, names))} ({reason})")
        self.names, self.line, self.reason = names, line, reason


def checked(spec: str) -> str:
    """``spec`` with each name canonical (``UTF8`` -> ``utf-8``, ``latin1`` ->
    ``iso8859-1``); a ConfigError for an unknown name or a codec that is not a text one."""
    names = [n.strip() for n in spec.split(",")] if isinstance(spec, str) else [""]
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
    if len(canonical) > 1 and (wide := [n for n in canonical if n.startswith(WIDE)]):
        raise ConfigError(f"text encoding {spec!r}: {wide[0]} is not tried among others (a "
                          "file of it may decode as another: its ASCII is valid UTF-8); give "
                          "it alone")  # fmt: skip
    return ",".join(canonical)


def names(spec: str) -> tuple[str, ...]:
    return tuple(checked(spec).split(","))


def shown(name: str) -> str:
    return "UTF-8" if name == UTF8 else name


def described(spec: str) -> str:
    """``cp1252``, or ``utf-8, else cp1252`` for a list: for a read line."""
    return ", else ".join(names(spec))


def bom(head: bytes) -> str | None:
    """The encoding a BOM at the start of ``head`` says, or None."""
    return next((name for mark, name in _BOMS if head.startswith(mark)), None)


def decode(data: bytes, spec: str) -> tuple[str, str]:
    """The text of ``data`` (its BOM dropped) and the encoding it was decoded with: its
    BOM's, else the first of ``spec`` that decodes all of it.

    Raises:
        Undecodable: none does; it names where the first one failed.
    """
    tried = (bom(data[:4]),) if bom(data[:4]) else names(spec)
    first = None
    for name in tried:
        try:
            return data.decode(name).removeprefix("\ufeff"), name
        except UnicodeDecodeError as exc:
            first = first or (name, exc)
    name, exc = first
    line = data[: exc.start].decode(name, errors="replace").count("\n") + 1
    raise Undecodable(tried, line, exc.reason)


def head_codec(head: bytes, spec: str) -> str:
    """The encoding :func:`decode` would read a file in, told from its first bytes (perhaps
    cut inside a character): its BOM's, else the first of ``spec`` that decodes them, else
    the first of ``spec``."""
    tried = (bom(head[:4]),) if bom(head[:4]) else names(spec)
    for name in tried:
        try:
            codecs.getincrementaldecoder(name)().decode(head)
            return name
        except UnicodeDecodeError:
            continue
    return tried[0]


def head_text(head: bytes, spec: str) -> str:
    """The text of a file's first bytes in its :func:`head_codec`, bad bytes replaced (and
    a character cut at the end dropped); for a format's sniffing."""
    decoder = codecs.getincrementaldecoder(head_codec(head, spec))(errors="replace")
    return decoder.decode(head).removeprefix("\ufeff")


def is_binary(head: bytes, spec: str = UTF8) -> bool:
    """The first bytes of a file that is not text (an image, a sound): a NUL byte that
    neither a BOM nor a UTF-16 / UTF-32 encoding given explains (with such an encoding,
    bytes that do not decode, or decode to control characters)."""
    if b"\x00" not in head or bom(head):
        return False
    for name in (n for n in names(spec) if n.startswith(WIDE)):
        unit = 4 if name.startswith("utf-32") else 2
        try:
            text = head[: len(head) - len(head) % unit].decode(name)
        except UnicodeDecodeError:
            continue
        if all(c.isprintable() or c in "\t\n\r\f" for c in text):
            return False
    return True


def lines(raw: Iterable[bytes], spec: str, where: str) -> Iterator[str]:
    """Lines of bytes (standard input's, as they come) as text, each decoded with the first
    of ``spec`` that decodes it (a UTF-8 BOM on the first dropped); a line none decodes
    is a DataError naming it. UTF-16 / UTF-32 are not read line by line: a ConfigError."""
    tried = names(spec)
    if wide := [n for n in tried if n.startswith(WIDE)]:
        raise ConfigError(f"{where} is read line by line, which {wide[0]} cannot be: convert "
                          f"it first (iconv -f {wide[0]} -t utf-8)")  # fmt: skip
    for number, line in enumerate(raw, start=1):
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        try:
            yield decode(line, spec)[0]
        except Undecodable as exc:
            raise DataError(
                f"{where}, line {number}: not valid {' or '.join(map(shown, tried))} "
                f"({exc.reason}); give its encoding with --encoding"
            ) from None
