"""A word-vectors file that is not GloVe text is one DataError naming the file and line;
the variants real files come in (a word2vec header, words with spaces) are read."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from attnlib.errors import DataError
from attnlib.vector_files import read_vectors

WORDS = ["<pad>", "<unk>", "the", "walk", ". . ."]


def _write(tmp_path, content: str | bytes, name: str = "v.txt"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _error(path, words=WORDS) -> str:
    with pytest.raises(DataError) as info:
        read_vectors(path, words)
    message = str(info.value)
    assert len(message.splitlines()) == 1 and message.startswith(str(path))
    return message.removeprefix(str(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a glove file\n",  # line 1 is what sets the size: it must be a word and numbers
         ", line 1: expected a word and its numbers (GloVe text format); 'file' is not a number"),
        ("hello\nthe 0.1 0.2\n",
         ", line 1: expected a word and its numbers (GloVe text format); no numbers after 'hello'"),
        ("the 0.1 0.2\nwalk 0.3 x\n",
         ", line 2: 'x' is not a number (expected the word 'walk' and 2 numbers)"),
        ("the 0.1 0.2\nwalk nan 0.3\n", ", line 2: NaN or infinite value in the vector of 'walk'"),
    ],
)  # fmt: skip
def test_a_line_that_is_not_a_word_and_its_numbers_is_named(tmp_path, text, message):
    assert _error(_write(tmp_path, text)) == message


@pytest.mark.parametrize("name", ["v.bin", "v.txt.gz"])
def test_a_binary_file_is_not_a_text_vectors_file(tmp_path, name):
    # word2vec's binary format: a text header, then each word and its float32 bytes
    data = b"2 3\n" + b"".join(
        w + b" " + struct.pack("<3f", 0.5, 1.0, 2.0) for w in (b"the", b"walk")
    )
    path = _write(tmp_path, gzip.compress(data) if name.endswith(".gz") else data, name)
    assert _error(path).startswith(": not a text vectors file (binary data at byte 8); expected "
                                   "GloVe text")  # fmt: skip


def test_latin1_text_is_not_a_text_vectors_file(tmp_path):
    path = _write(tmp_path, "the 0.1 0.2\ncaf\xe9 0.3 0.4\n".encode("latin-1"))
    assert _error(path).startswith(": not a text vectors file (byte 0xe9 at line 2 is not UTF-8)")


def test_a_gz_that_is_not_gzip_is_one_error(tmp_path):
    path = _write(tmp_path, "the 0.1 0.2\n", "v.txt.gz")
    assert _error(path).startswith(": cannot read it (Not a gzipped file")


def test_a_word2vec_header_is_skipped(tmp_path):
    path = _write(tmp_path, "2 3\nthe 0.1 0.2 0.3\nwalk 1 2 3 \n")
    vec, found, added = read_vectors(path, ["<pad>", "<unk>", "walk"], extra=1)
    assert found.tolist() == [False, False, True, True] and added == ["the"]
    assert vec[2].tolist() == [1.0, 2.0, 3.0]


def test_a_word2vec_header_that_disagrees_with_line_2_is_an_error(tmp_path):
    path = _write(tmp_path, "2 3\nthe 0.1 0.2\nwalk 1 2\n")
    assert _error(path) == (
        ", line 2: 2 numbers, but line 1 (a word2vec header: 2 words of 3 numbers) says 3"
    )


def test_words_with_spaces_take_all_but_the_last_numbers(tmp_path):
    path = _write(tmp_path, "the 0.1 0.2\n. . . 1.0 2.0\nwalk 3.0 4.0\nat a@b.c 5 6\n")
    vec, found, _ = read_vectors(path, [*WORDS, "at a@b.c"])
    assert found.tolist() == [False, False, True, True, True, True]
    assert vec[4].tolist() == [1.0, 2.0] and vec[5].tolist() == [5.0, 6.0]
    assert vec[3].tolist() == [3.0, 4.0]  # the next line is unaffected


def test_a_word_with_spaces_on_line_1_sizes_the_vectors(tmp_path):
    path = _write(tmp_path, ". . . 1.0 2.0 3.0\nwalk 4 5 6\n")
    vec, found, _ = read_vectors(path, WORDS)
    assert vec.shape == (5, 3) and found[4] and vec[3].tolist() == [4.0, 5.0, 6.0]


def test_the_most_frequent_words_count_from_the_first_vector_after_a_header(tmp_path):
    path = _write(tmp_path, "3 2\nof 0.1 0.2\nand 0.3 0.4\nto 0.5 0.6\n")
    _, _, added = read_vectors(path, ["<pad>", "<unk>"], extra=2)
    assert added == ["of", "and"]


def test_an_empty_file_is_an_error(tmp_path):
    assert _error(_write(tmp_path, "")) == ": empty word vectors file"


def test_vectors_read_exactly(tmp_path):
    path = _write(tmp_path, "the 0.25 -1.5\r\nwalk 3 4\r\n")  # CRLF lines
    vec, found, _ = read_vectors(path, WORDS)
    np.testing.assert_array_equal(vec[2:4], [[0.25, -1.5], [3.0, 4.0]])
    assert found.tolist() == [False, False, True, True, False]


def test_a_needed_line_with_too_many_values_names_its_line(tmp_path):
    path = _write(tmp_path, "the 0.1 0.2\nwalk 1 2 3\n")
    assert _error(path) == ", line 2: 3 values, expected 2"


def test_a_needed_first_word_of_a_word_with_spaces_is_read_and_not_taken_for_it(tmp_path):
    # GloVe 840B: 'at name@domain.com' and '. . .' lines start with words a vocabulary has
    path = _write(tmp_path, "at 0.5 -1\nat name@domain.com 1 2\n. 3 4\n. . . 5 6\n")
    vec, found, _ = read_vectors(path, ["<pad>", "<unk>", "at", ".", "at name@domain.com"])
    assert found.tolist() == [False, False, True, True, True]
    assert vec[2:].tolist() == [[0.5, -1.0], [3.0, 4.0], [1.0, 2.0]]


def test_a_one_line_file_and_blank_lines_are_read_with_extra_words(tmp_path):
    path = _write(tmp_path, "the 0.1 0.2\n")
    _, _, added = read_vectors(path, ["<pad>", "<unk>"], extra=2)
    assert added == ["the"]
    path = _write(tmp_path, "the 0.1 0.2\n\n  \nwalk 3 4\n")
    vec, found, added = read_vectors(path, ["<pad>", "<unk>", "walk"], extra=3)
    assert found.tolist() == [False, False, True, True] and added == ["the"]
    assert vec[2].tolist() == [3.0, 4.0]


@pytest.mark.parametrize("header", ["2 2\n", ""])
def test_a_byte_order_mark_on_line_1_is_dropped(tmp_path, header):
    path = _write(tmp_path, "\ufeff" + header + "the 0.5 -1\nwalk 3 4\n")
    vec, found, _ = read_vectors(path, WORDS)
    assert vec.shape == (5, 2) and found.tolist() == [False, False, True, True, False]
    assert vec[2].tolist() == [0.5, -1.0]
