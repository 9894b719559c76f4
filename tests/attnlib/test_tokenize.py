import polars as pl
import pytest

from attnlib.encode import EncodeOptions, encode_dataset
from attnlib.errors import ConfigError
from attnlib.tokenize import (
    SPACE,
    detokenize,
    resolve,
    retokenize,
    tokenize,
    unseen_share,
    word_tokens,
)
from attnlib.vectors import write_input_layer


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


def test_char_tokens_mark_each_run_of_whitespace_once():
    assert tokenize(" O'Neil \t Smith ", "char", lowercase=True) == [
        SPACE, *"o'neil", SPACE, *"smith", SPACE]  # fmt: skip
    assert tokenize(" ", "char") == []


def test_unseen_share_is_the_share_of_occurrences_that_are_their_tokens_only_one():
    assert unseen_share([["a", "b"], ["a", "c"]]) == 0.5
    assert unseen_share([["a", "a"], ["a"]]) == 0.0
    assert unseen_share([]) == 0.0


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


def test_a_tokens_column_is_not_retokenised(tmp_path):
    frame = _texts().drop("text")
    encoded, meta = encode_dataset(frame, "classify", EncodeOptions())
    assert "Where" in meta["tokens"] and "?" not in meta["tokens"]
    assert "text" not in meta["input"]
    write_input_layer(encoded, meta, EncodeOptions(), tmp_path / "embedding.safetensors")
    assert meta["model_fields"] == {"input_kind": "tokens"}  # symbols: words' partner, no vectors


def _names(n=60):
    """Text to classify whose words are nearly all distinct (surnames): characters carry it."""
    stems = {"IT": ("Ross", "Bian", "Fer"), "JP": ("Yama", "Tana", "Kawa")}
    ends = {"IT": ("ini", "etti", "elli"), "JP": ("moto", "naka", "shita")}
    rows = [(f"{stems[lab][i % 3]}{ends[lab][i // 3 % 3]}{'x' * (i // 9)}", lab)
            for i in range(n // 2) for lab in ("IT", "JP")]  # fmt: skip
    texts, labels = [t for t, _ in rows], [lab for _, lab in rows]
    return pl.DataFrame({"id": [f"n{i}" for i in range(len(rows))], "tokens": [[t] for t in texts],
                         "text": texts, "label": labels})  # fmt: skip


def test_auto_tokenizer_takes_characters_when_most_words_occur_once(tmp_path):
    opt = EncodeOptions(vectors="")  # no pretrained vectors to carry an unseen name
    frame, meta = encode_dataset(_names(), "classify", opt)
    assert meta["input"]["text"] == {"tokenizer": "char", "lowercase": True}
    assert frame["tokens"][0].to_list() == [SPACE, *"rossini", SPACE]
    assert set(meta["tokens"][2:]) <= set("rossinibianfertiellyamatanakawamotoshitax" + SPACE)
    assert "characters" in meta["rules"][0] and "text" not in frame.columns
    write_input_layer(frame, meta, opt, tmp_path / "embedding.safetensors")
    assert meta["model_fields"]["ngram_order"] == 5  # the partner's char 1-5-grams
    assert "vectors off" in meta["rules"]
    assert "subwords off: not words to classify" in meta["rules"]
    # names that repeat (each three times) still do: copies share a split, so a held-out
    # name is one training never saw
    copies = pl.concat([_names()] * 3).with_row_index("n").with_columns(
        id=pl.format("c{}", "n")).drop("n")  # fmt: skip
    _, copies_meta = encode_dataset(copies, "classify", opt)
    assert copies_meta["input"]["text"]["tokenizer"] == "char"
    # a word tokenizer chosen by name stays
    _, word_meta = encode_dataset(_names(), "classify", EncodeOptions(tokenizer="word"))
    assert word_meta["input"]["text"]["tokenizer"] == "word"
    assert min(len(t) for t in word_meta["tokens"][2:]) >= 6  # whole names
    # sentences whose words repeat stay words
    _, text_meta = encode_dataset(_texts(), "classify", opt)
    assert text_meta["input"]["text"]["tokenizer"] == "word"
    assert "words" in text_meta["rules"][0]
    # and so do sentences whose words rarely repeat (a small sample): their context carries
    few = _names().with_columns(text=pl.concat_str(["text", pl.lit(" was here at"), "id"]))
    _, few_meta = encode_dataset(few, "classify", opt)
    assert few_meta["input"]["text"]["tokenizer"] == "word"
    assert "median length is 4 words, 50% of their words occur once" in few_meta["rules"][0]


def test_char_tokens_read_back_as_words_for_the_text_baseline(monkeypatch):
    from types import SimpleNamespace

    from attnlib.baselines import classic
    from attnlib.tasks import get_task

    chars = {"tokenizer": "char", "lowercase": True}
    assert detokenize(tokenize("Van  der Berg", "char", True), chars) == "van der berg"
    assert detokenize(["do", "n't"], {"tokenizer": "word", "lowercase": True}) == "do n't"
    seen = []
    monkeypatch.setattr(
        classic, "tfidf_svm", lambda x, y, tx, seed: seen.append(tx) or [0] * len(tx)
    )
    rows = pl.DataFrame({"tokens": [tokenize(t, "char", True) for t in ("Rossi", "de Luca")],
                         "label_id": [0, 1]})  # fmt: skip
    ctx = SimpleNamespace(splits=(rows, rows, rows), seed=0, meta={"input": {"text": chars}})
    get_task("classify").baselines(ctx, 2)
    assert seen == [["rossi", "de luca"]]


def test_names_with_pretrained_vectors_stay_words(tmp_path):
    """An unseen name that the vectors know is not <unk>: with vectors that cover the names
    the rule keeps words (auto: when they cover >= 60 %, as for turning vectors on)."""
    from attnlib.vector_files import vectors_carry

    names = _names()
    glove = tmp_path / "vectors.txt"
    known = [t.lower() for t in names["text"].to_list()[:45]]  # 45 of 60 names: 75 %
    glove.write_text("".join(f"{w} 0.1 0.2\n" for w in known))
    _, meta = encode_dataset(names, "classify", EncodeOptions(vectors=str(glove)))
    assert meta["input"]["text"]["tokenizer"] == "word"
    assert meta["rules"][0].endswith(f"but encode.vectors is {glove}: words")
    assert vectors_carry("") is None
    carried, why = vectors_carry("auto")(["the", "zqxv", "of"])  # the built-in GloVe
    assert carried and why == "builtin:glove50 has a vector for 67% of them"  # >= 60 %
