from pathlib import Path

import torch
from safetensors.torch import save_file

from attnlib.config import ModelConfig
from attnlib.models import build_model
from attnlib.models.subword import WordInput, char_ngrams, ngram_table, pad_table


def test_char_ngrams_of_the_bracketed_word():
    assert char_ngrams("cat") == ["<ca", "cat", "at>", "<cat", "cat>", "<cat>"]


def test_only_ngrams_shared_by_two_words_get_rows():
    itos = ["<pad>", "<unk>", "walk", "walked", "zq"]
    table = ngram_table(itos)
    assert table[0] == table[1] == [] and table[4] == []  # "zq" shares nothing
    assert set(table[2]) <= set(table[3]) and len(table[2]) == 6  # <wa wal alk <wal walk <walk
    assert max(max(r) for r in table if r) == len({i for r in table for i in r})  # 1..R dense


def _config(**kw):
    return ModelConfig(task="classify", name="bilstm_attention", vocab_size=5, embedding_dim=8,
                       hidden_dim=4, num_classes=3, **kw)  # fmt: skip


def _init_file(tmp_path, vectors=True):
    itos = ["<pad>", "<unk>", "walk", "walked", "zq"]
    ngrams = pad_table(ngram_table(itos)).to(torch.int32)
    tensors = {"ngrams": ngrams}
    if vectors:
        tensors["vectors"] = torch.arange(5 * 6, dtype=torch.float32).view(5, 6) / 10
        tensors["found"] = torch.tensor([False, False, True, True, False])
    save_file(tensors, str(tmp_path / "emb.safetensors"))
    return tmp_path / "emb.safetensors", ngrams


def _full_config(tmp_path):
    """A classifier's config with n-grams and pretrained vectors from ``_init_file``; the
    n-gram table."""
    path, ngrams = _init_file(tmp_path)
    cfg = _config(subword_rows=int(ngrams.max()) + 1, subword_width=ngrams.shape[1],
                  vectors_dim=6, input_init=str(path))  # fmt: skip
    return cfg, ngrams


def test_word_vector_is_embedding_plus_mean_ngram(tmp_path):
    path, ngrams = _init_file(tmp_path, vectors=False)
    rows = int(ngrams.max()) + 1
    torch.manual_seed(0)
    layer = WordInput(_config(subword_rows=rows, subword_width=ngrams.shape[1],
                              input_init=str(path)))  # fmt: skip
    x = torch.tensor([[3, 2, 0]])  # walked, walk, <pad>
    z = layer(x)  # (1, 3, 8)
    ids = [int(i) for i in ngrams[3] if i > 0]
    want = layer.word.weight[3] + layer.ngram.weight[ids].mean(0)
    torch.testing.assert_close(z[0, 0], want)
    assert torch.equal(z[0, 2], torch.zeros(8))  # padding stays zero


def test_pretrained_vectors_initialise_found_words_and_project(tmp_path):
    cfg, ngrams = _full_config(tmp_path)
    layer = WordInput(cfg)
    vec = torch.arange(30, dtype=torch.float32).view(5, 6) / 10
    torch.testing.assert_close(layer.word.weight[2:4], vec[2:4])
    assert torch.equal(layer.word.weight[0], torch.zeros(6))
    assert layer(torch.tensor([[2]])).shape == (1, 1, 8)  # projected 6 -> 8
    # n-gram embeddings start at zero: the word starts as its pretrained vector
    torch.testing.assert_close(layer.proj.weight @ vec[2] + layer.proj.bias,
                               layer(torch.tensor([[2]]))[0, 0])  # fmt: skip


def test_a_saved_model_needs_no_init_file(tmp_path):
    from attnlib.persistence import load_model, save_model

    cfg, ngrams = _full_config(tmp_path)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    save_model(tmp_path / "model", model)
    Path(cfg.input_init).unlink()  # training's input file is gone: the weights carry the table
    loaded, meta = load_model(tmp_path / "model")
    x, lengths = torch.tensor([[2, 3, 4], [3, 1, 0]]), torch.tensor([3, 2])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, lengths), model(x, lengths))
    assert meta.model_config.input_init == ""


def test_onnx_export_matches_eager_with_ngrams_and_vectors(tmp_path):
    from attnlib.data import Batches, SequenceData
    from attnlib.export import export_onnx, parity_check

    cfg, ngrams = _full_config(tmp_path)
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():
        model.input.ngram.weight[1:].normal_()  # non-zero n-gram vectors in the graph
    g = torch.Generator().manual_seed(1)
    lengths = [7, 1, 4, 6, 3, 2]
    seqs = [torch.randint(1, 5, (n,), generator=g).tolist() for n in lengths]
    data = SequenceData.classify_tokens(seqs, [0, 1, 2, 0, 1, 2])
    onnx_path = export_onnx(model, tmp_path / "m.onnx", example=next(iter(Batches(data, 3))))
    assert parity_check(model, onnx_path, Batches(data, 4)) <= 1e-4


def test_pretrained_rows_stay_fixed_while_the_rest_learns(tmp_path):
    cfg, ngrams = _full_config(tmp_path)
    torch.manual_seed(0)
    layer = WordInput(cfg)
    before = layer.word.weight.detach().clone()
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        layer(torch.tensor([[1, 2, 3, 4]])).pow(2).sum().backward()
        opt.step()
    after = layer.word.weight.detach()
    torch.testing.assert_close(after[2:4], before[2:4])  # walk, walked: pretrained
    assert not torch.equal(after[1], before[1]) and not torch.equal(after[4], before[4])
    assert layer.ngram.weight.abs().sum() > 0  # the n-grams learn


def test_a_plain_model_json_has_no_word_input_fields(tmp_path):
    import json

    from attnlib.persistence import save_model

    cfg = _config()
    save_model(tmp_path / "m", build_model(cfg))
    saved = json.loads((tmp_path / "m" / "model.json").read_text())["model_config"]
    assert not {"subword_rows", "subword_width", "vectors_dim", "input_init"} & set(saved)


def test_each_distinct_words_ngram_mean_is_computed_once_with_the_same_values_and_gradients(
    tmp_path,
):
    cfg, ngrams = _full_config(tmp_path)
    torch.manual_seed(0)
    layer = WordInput(cfg)
    with torch.no_grad():
        layer.ngram.weight[1:].normal_()  # n-gram vectors that count
    x = torch.tensor([[3, 2, 3, 4, 1], [2, 2, 3, 0, 0]])  # repeated words, <unk>, <pad>
    weights = torch.linspace(-1, 1, 10 * 6).view(2, 5, 6)

    def run(mean):
        layer.zero_grad()
        g = mean(x)
        (g * weights).sum().backward()
        return g.detach(), [p.grad.clone() for p in layer.ngram.parameters()]

    (g_tok, d_tok), (g_word, d_word) = run(layer.mean_per_token), run(layer.mean_per_word)
    torch.testing.assert_close(g_word, g_tok, rtol=0, atol=1e-6)
    torch.testing.assert_close(d_word[0], d_tok[0], rtol=1e-5, atol=1e-6)
    assert d_tok[0][1:].abs().sum() > 0  # the n-grams got a gradient to compare
    calls = []
    layer.ngram.register_forward_hook(lambda m, args, out: calls.append(args[0].shape))
    for training in (True, False):  # training and prediction both take the distinct words
        layer.train(training)(x)
        assert calls[-1] == (5, ngrams.shape[1])  # 10 tokens, 5 distinct ids (<pad> 0 too)


def test_embedding_dropout_drops_whole_word_types_of_the_word_input(tmp_path):
    """``train.embedding_dropout`` on text with n-grams and vectors (it was ignored there):
    in training a word's whole vector (embedding + n-grams + vectors, projected) is zero
    wherever it occurs or scaled by 1 / (1 - p); evaluation is untouched."""
    cfg, _ = _full_config(tmp_path)
    layer = WordInput(cfg.model_copy(update={"embedding_dropout": 0.5}))
    x = torch.tensor([[2, 3, 4, 2, 3, 4, 2], [4, 3, 2, 0, 0, 0, 0]])
    plain = layer.eval()(x)
    seen = set()
    for seed in range(20):
        torch.manual_seed(seed)
        out = layer.train()(x)
        dropped = (out == 0).all(-1) & (x != 0)  # (B, T): the whole vector or none of it
        assert (((out == 0).all(-1)) | ((out != 0).all(-1))).all()
        torch.testing.assert_close(out[~dropped & (x != 0)], 2 * plain[~dropped & (x != 0)])
        for token in (2, 3, 4):  # one draw per word type: all its occurrences alike
            assert dropped[x == token].unique().numel() == 1
        seen.add(tuple(bool(dropped[x == t][0]) for t in (2, 3, 4)))
    assert len(seen) > 2  # the draws differ between batches
    torch.testing.assert_close(layer.eval()(x), plain)
