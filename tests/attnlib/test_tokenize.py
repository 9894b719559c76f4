import polars as pl
import pytest

from attnlib.encode import EncodeOptions, encode_dataset
from attnlib.errors import ConfigError
from attnlib.tokenize import resolve, retokenize, tokenize, word_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("What is the capital of Denver?", ["What", "is", "the", "capital", "of", "Denver", "?"]),
        ("I don't know, it's here.", ["I", "do", "n't", "know", ",", "it", "'s", "here", "."]),
        ("They'll pay $3.50 (U.S.)!", ["They", "'ll", "pay", "$", "3.50", "(", "U.S.", ")", "!"]),
        ("a well-known film", ["a", "well-known", "film"]),
    ],
)
def test_word_tokens_split_punctuation_and_clitics(text, tokens):
    assert word_tokens(text) == tokens


def test_whitespace_and_lowercase():
    assert tokenize("Denver? Yes.", "whitespace") == ["Denver?", "Yes."]
    assert tokenize("Denver? Yes.", "word", lowercase=True) == ["denver", "?", "yes", "."]
    with pytest.raises(ConfigError, match="encode.tokenizer"):
        tokenize("x", "bpe")


def test_auto_is_word_and_lowercase_for_text_to_classify_only():
    assert resolve("auto", "auto", labelled=True, has_text=True) == {
        "tokenizer": "word", "lowercase": True}  # fmt: skip
    assert resolve("auto", "auto", labelled=False, has_text=True) == {
        "tokenizer": "whitespace", "lowercase": False}  # fmt: skip
    assert resolve("whitespace", True, labelled=True, has_text=True) == {
        "tokenizer": "whitespace", "lowercase": True}  # fmt: skip
    assert resolve("word", True, labelled=True, has_text=False) is None  # a tokens column


def test_retokenize_rebuilds_tokens_from_text_and_leaves_token_columns_alone():
    frame = pl.DataFrame({"id": ["a", "b"], "tokens": [["Hi,", "Bob!"], ["?"]],
                          "text": ["Hi, Bob!", "?"]})  # fmt: skip
    spec = {"tokenizer": "word", "lowercase": True}
    out = retokenize(frame, spec)
    assert out["tokens"].to_list() == [["hi", ",", "bob", "!"], ["?"]]
    assert "text" not in out.columns
    symbols = frame.drop("text")
    assert retokenize(symbols, spec).equals(symbols)


def _texts(n=40):
    rows = [
        (f"Where is Denver{'!' * i}?", "LOC") if i % 2 else (f"Who wrote Hamlet {i}?", "HUM")
        for i in range(n)
    ]  # distinct texts (repeated ones share a split)
    return pl.DataFrame({"id": [f"q{i}" for i in range(n)],
                         "tokens": [t.split() for t, _ in rows], "text": [t for t, _ in rows],
                         "label": [lab for _, lab in rows]})  # fmt: skip


def test_encode_tokenises_text_and_records_the_choice():
    frame, meta = encode_dataset(_texts(), "classify", EncodeOptions())
    assert meta["input"]["text"] == {"tokenizer": "word", "lowercase": True}
    assert "denver" in meta["tokens"] and "?" in meta["tokens"] and "Denver?" not in meta["tokens"]
    assert frame["tokens"][1].to_list() == ["where", "is", "denver", "!", "?"]
    as_is = EncodeOptions(tokenizer="whitespace", lowercase=False)
    _, raw_meta = encode_dataset(_texts(), "classify", as_is)
    assert "Where" in raw_meta["tokens"] and "where" not in raw_meta["tokens"]


def test_a_tokens_column_is_not_retokenised():
    frame = _texts().drop("text")
    _, meta = encode_dataset(frame, "classify", EncodeOptions())
    assert "Where" in meta["tokens"] and "?" not in meta["tokens"]
    assert "text" not in meta["input"]
