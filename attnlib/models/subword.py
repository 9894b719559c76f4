"""Word input with character n-grams and pretrained vectors (fastText-style subwords).

A word's vector is its own embedding plus the mean of its character 3-5-gram embeddings
(Bojanowski et al. 2017, "Enriching Word Vectors with Subword Information"; the word is
wrapped in ``<`` ``>`` so prefixes and suffixes are n-grams of their own). A rare word
thus shares most of its vector with the frequent words it resembles (``Denver's`` with
``Denver``, ``rewrites`` with ``rewrite``), where its own embedding sees a few updates.

The n-grams of every vocabulary entry are listed once, at encode time
(:func:`ngram_table`): only those that occur in at least two entries get a row, since an
n-gram of one word alone carries nothing its word's embedding does not. The table is
exact (no hashing: the vocabulary is fixed, so there are no unseen n-grams to hash) and
lives in the model as a (V, W) index buffer padded with 0, so prediction and ONNX export
need nothing besides the weights. Pretrained vectors (:mod:`attnlib.vectors`) initialise
the word embeddings and stay fixed (their gradient is masked): fine-tuned on a few thousand
examples they drift towards the training words and lose what made them general (TREC-6
validation accuracy, same params: .825 fine-tuned, .853 fixed, .831 without vectors, .886
fixed with the vectors' frequent words added to the vocabulary); the words without
a pretrained vector, the n-grams and a Linear to ``embedding_dim`` (when the sizes differ)
learn.

Shapes: B batch, T steps, V vocabulary, W n-grams per word (padded), P word-vector
size (the pretrained one, else E), E embedding_dim.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.errors import DataError
from attnlib.models.regularizers import EmbeddingDropout, word_type_keep
from attnlib.vocab import PAD_ID

NGRAM_MIN, NGRAM_MAX = 3, 5  # fastText's defaults
MAX_NGRAMS = 48  # per word (a 20-letter word has 57): bounds W for very long tokens


def char_ngrams(word: str, nmin: int = NGRAM_MIN, nmax: int = NGRAM_MAX) -> list[str]:
    """The character n-grams of ``<word>``, shortest first, in order of position."""
    w = f"<{word}>"
    return [w[i : i + n] for n in range(nmin, nmax + 1) for i in range(len(w) - n + 1)]


def ngram_table(itos: list[str], min_words: int = 2) -> list[list[int]]:
    """Each vocabulary entry's n-gram ids (1-based; ``<pad>`` and ``<unk>`` get none).

    Args:
        itos: the vocabulary, ids 0 and 1 being ``<pad>`` and ``<unk>``.
        min_words: an n-gram gets an id when this many entries contain it.
    Returns:
        One list per entry, at most :data:`MAX_NGRAMS` long; ids count from 1 in the
        sorted order of the kept n-grams (so the table does not depend on hashing).
    """
    grams = [[] if i < 2 else list(dict.fromkeys(char_ngrams(w))) for i, w in enumerate(itos)]
    counts = Counter(g for gs in grams for g in gs)
    ids = {g: k + 1 for k, g in enumerate(sorted(g for g, c in counts.items() if c >= min_words))}
    return [[ids[g] for g in gs if g in ids][:MAX_NGRAMS] for gs in grams]


def pad_table(table: list[list[int]]) -> torch.Tensor:
    """(V, W) int64, 0 = no n-gram; W >= 1."""
    width = max(1, *(len(r) for r in table))
    out = torch.zeros(len(table), width, dtype=torch.int64)
    for i, row in enumerate(table):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
    return out


class WordInput(nn.Module):
    """Token ids (B, T) -> vectors (B, T, E): word embedding + mean n-gram embedding.

    The sizes come from the config (``subword_rows``, ``subword_width``, ``vectors_dim``;
    ``embedding_dropout`` drops whole word types in training, as :class:`EmbeddingDropout`);
    the n-gram table and pretrained vectors from ``config.input_init`` (a safetensors file
    the encode stage wrote) when training starts, or from the saved weights when loading.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        V, E = cfg.vocab_size, cfg.embedding_dim
        P = cfg.vectors_dim or E
        self.word = nn.Embedding(V, P, padding_idx=PAD_ID)
        self.ngram = None
        if cfg.subword_rows:
            self.ngram = nn.Embedding(cfg.subword_rows, P, padding_idx=0)
            self.register_buffer("ngrams", torch.zeros(V, cfg.subword_width, dtype=torch.int64))
            self.register_buffer("inv_count", torch.zeros(V))  # 1 / n-grams of the word
        self.proj = nn.Linear(P, E) if P != E else None
        self.p = cfg.embedding_dropout  # word-type dropout on the whole word vector
        if cfg.vectors_dim:  # pretrained rows stay as they are: only the others learn
            self.register_buffer("learn", torch.ones(V, 1))  # (V, 1), 0 = a pretrained row
            self.word.weight.register_hook(lambda grad: grad * self.learn)
        if cfg.input_init:
            self.load_init(Path(cfg.input_init))

    def load_init(self, path: Path) -> None:
        """Take the n-gram table and pretrained vectors from the encode stage's file."""
        from safetensors.torch import load_file

        try:
            init = load_file(str(path))
        except (FileNotFoundError, OSError) as exc:
            msg = f"{path}: cannot read the encode stage's input tensors ({exc})"
            raise DataError(msg) from None
        if self.ngram is not None:
            table = init.get("ngrams")
            if table is None or tuple(table.shape) != tuple(self.ngrams.shape):
                got = None if table is None else tuple(table.shape)
                raise DataError(f"{path}: n-gram table {got}, the model expects "
                                f"{tuple(self.ngrams.shape)}: re-run the encode stage")  # fmt: skip
            self.ngrams.copy_(table.long())
            counts = (self.ngrams > 0).sum(1).float()  # (V,)
            self.inv_count.copy_(torch.where(counts > 0, 1 / counts.clamp(min=1), 0.0))
        if "vectors" in init:
            vec, found = init["vectors"], init["found"].bool()  # (V, P), (V,)
            if vec.shape != self.word.weight.shape:
                want = tuple(self.word.weight.shape)
                raise DataError(f"{path}: vectors {tuple(vec.shape)}, the model expects "
                                f"{want}: re-run the encode stage")  # fmt: skip
            with torch.no_grad():
                std = float(vec[found].std()) if found.sum() > 1 else 1.0
                self.word.weight.normal_(0.0, std)  # unknown to the vectors: their scale
                self.word.weight[found] = vec[found]
                self.word.weight[PAD_ID] = 0.0
                self.learn.copy_((~found).float().unsqueeze(1))
                if self.ngram is not None:  # start from the pretrained vectors exactly
                    self.ngram.weight.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.word(x)  # (B, T, P)
        if self.ngram is not None:  # + mean n-gram vector
            traced = torch.onnx.is_in_onnx_export() or torch.jit.is_tracing()
            z = z + (self.mean_per_token(x) if traced else self.mean_per_word(x))
        z = self.proj(z) if self.proj is not None else z  # (B, T, E)
        if self.training and self.p:  # AWD-LSTM's word-type dropout, as EmbeddingDropout:
            keep = word_type_keep(self.word.num_embeddings, self.p, z.device)
            z = z * keep[x]  # a word's vector is zero wherever it occurs
        return z

    def mean_per_token(self, x: torch.Tensor) -> torch.Tensor:
        """Each token's mean n-gram vector (x's shape + (P,): (B, T) ids, or one step's (B,)
        when streaming), gathered token by token: the graph ONNX export and ``torch.jit``
        tracing record (no data-dependent shapes)."""
        g = self.ngram(self.ngrams[x])  # (..., W, P), rows of n-gram 0 are zero
        return g.sum(-2) * self.inv_count[x].unsqueeze(-1)

    def mean_per_word(self, x: torch.Tensor) -> torch.Tensor:
        """The same values, computed once per distinct word of the batch and then spread
        to its tokens: the (B, T, W, P) gather (and in training its scatter-add backward)
        shrinks to (U, W, P) for U distinct words (a validation batch of 38 long speeches,
        padded to 4,470 steps, gathered 1.6 GB token by token). Equal values; the gradient sums in
        another order (``bench/word_input.py``: the speed-up, and the largest difference)."""
        words, where = torch.unique(x, return_inverse=True)  # (U,), (B, T)
        g = self.ngram(self.ngrams[words]).sum(1) * self.inv_count[words].unsqueeze(-1)
        return g[where]  # (B, T, P)


def token_input(cfg: ModelConfig) -> nn.Module:
    """The input layer for token ids: :class:`WordInput` (char n-grams or pretrained
    vectors), an embedding with AWD-LSTM's embedding dropout, or a plain embedding; both
    drop whole word types at ``embedding_dropout``."""
    if cfg.subword_rows or cfg.vectors_dim:
        return WordInput(cfg)
    if cfg.embedding_dropout:
        return EmbeddingDropout(
            cfg.vocab_size, cfg.embedding_dim, p=cfg.embedding_dropout, padding_idx=PAD_ID
        )
    return nn.Embedding(cfg.vocab_size, cfg.embedding_dim, padding_idx=PAD_ID)
