"""Vocabulary: token <-> id with ``<pad>`` = 0 and ``<unk>`` = 1, JSON round-trip.

``<pad>`` in the data is never padding: the readers refuse it (``attnlib.datasets``), and
:meth:`Vocabulary.encode` reads it as ``<unk>`` (a hand-built frame, streamed input)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from attnlib.errors import DataError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1


class Vocabulary:
    """An ordered token table. Ids 0 and 1 are always ``<pad>`` and ``<unk>``."""

    def __init__(self, tokens: Sequence[str] = ()):
        self.itos: list[str] = [PAD, UNK]
        self.stoi: dict[str, int] = {PAD: PAD_ID, UNK: UNK_ID}
        for tok in tokens:
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)

    @classmethod
    def build(
        cls,
        sequences: Iterable[Iterable[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocabulary:
        """Build from token sequences, most frequent first (ties broken alphabetically).

        Args:
            sequences: iterable of token sequences.
            min_freq: drop tokens seen fewer times than this (they become ``<unk>``).
            max_size: keep at most this many tokens, ``<pad>`` and ``<unk>`` included.
        """
        counts = Counter(tok for seq in sequences for tok in seq)
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            kept = kept[: max(0, max_size - 2)]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        """Whether ``token`` is a known input token (``<pad>`` never is: only padding)."""
        return token in self.stoi and token != PAD

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Map tokens to ids; unseen tokens and ``<pad>`` map to ``<unk>``."""
        get = self.stoi.get
        return [get(t, UNK_ID) or UNK_ID for t in tokens]  # `or`: PAD_ID 0 is never input

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to tokens (padding included, if present)."""
        return [self.itos[int(i)] for i in ids]

    def to_dict(self) -> dict:
        return {"tokens": self.itos}

    @classmethod
    def from_dict(cls, data: dict, *, source: object = "vocabulary") -> Vocabulary:
        toks = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(toks, list) or toks[:2] != [PAD, UNK]:
            raise DataError(f"{source}: expected {{'tokens': ['<pad>', '<unk>', ...]}}")
        return cls(toks[2:])

    def save(self, path: str | Path) -> None:
        from attnlib.io import write_text_atomic

        write_text_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: vocabulary file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a JSON vocabulary ({exc})") from None
        return cls.from_dict(data, source=path)
