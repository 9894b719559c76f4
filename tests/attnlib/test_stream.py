"""Streaming next-state prediction equals the full recompute, eager and ONNX, and the CLI."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from attnlib.cli import app
from attnlib.config import ModelConfig
from attnlib.errors import ConfigError
from attnlib.export_stream import OnnxStream, export_stream_onnx, stream_parity
from attnlib.models import build_model
from attnlib.persistence import save_model
from attnlib.predict import Predictor
from attnlib.stream import StreamingPredictor
from attnlib.vocab import Vocabulary

SCORERS = ("additive", "dot", "general", "scaled_dot")
V = 17


def model(scorer: str, layers: int = 2, query: str = "learned", seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig(task="next_state", vocab_size=V, embedding_dim=6, hidden_dim=10,
                      num_layers=layers, attention=scorer, query=query, dropout=0.3)  # fmt: skip
    m = build_model(cfg).eval()
    with torch.no_grad():  # trained-looking weights: big enough that the attention is peaked
        for p in m.parameters():
            p.mul_(3)
    return m


def tokens(n: int, seed: int = 1) -> list[int]:
    return torch.randint(1, V, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


@pytest.mark.parametrize("query", ["learned", "last"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("scorer", SCORERS)
def test_streaming_equals_full_recompute(scorer, layers, query):
    m = model(scorer, layers, query)
    ids = tokens(60)
    with torch.no_grad():
        full, w = m(torch.tensor([ids]), torch.tensor([len(ids)]), return_attention=True)
    stream = StreamingPredictor(m, capacity=4)  # the cache grows several times
    for t, token in enumerate(ids):
        logits = stream.push(token)
        torch.testing.assert_close(logits, full[0, t], atol=1e-5, rtol=0)
        torch.testing.assert_close(stream.weights, w[0, t, : t + 1], atol=1e-5, rtol=0)
    assert stream.length == len(ids)


def test_reset_starts_a_new_sequence():
    m = model("general")
    stream = StreamingPredictor(m)
    stream.extend(tokens(30, seed=2))
    stream.reset()
    again = stream.extend(tokens(5))
    torch.testing.assert_close(again, StreamingPredictor(m).extend(tokens(5)), atol=0, rtol=0)
    torch.testing.assert_close(stream.probs(3).sum(), torch.tensor(1.0))


def test_a_push_reads_one_token_whatever_the_history():
    m = model("additive")
    seen: list[tuple] = []
    m.input.register_forward_hook(lambda mod, args, out: seen.append(tuple(args[0].shape)))
    m.head.attention.scorer.w_k.register_forward_hook(
        lambda mod, args, out: seen.append(tuple(args[0].shape))
    )
    stream = StreamingPredictor(m)
    stream.extend(tokens(50))
    seen.clear()
    stream.push(4)  # the 51st token: one embedding lookup and one key projection, of one step
    assert seen == [(1,), (1, 10)]


def test_only_next_state_models_stream():
    cfg = ModelConfig(task="classify", vocab_size=V, embedding_dim=4, hidden_dim=4, num_classes=3)
    with pytest.raises(ConfigError, match="next states"):
        StreamingPredictor(build_model(cfg))


@pytest.mark.parametrize("scorer", SCORERS)
def test_onnx_step_graph_matches_eager_streaming(tmp_path, scorer):
    m = model(scorer)
    path = export_stream_onnx(m, tmp_path / "stream.onnx")
    assert stream_parity(m, path, [tokens(40), tokens(1, seed=3), tokens(7, seed=4)]) < 1e-5
    assert m.training is False


def test_a_model_with_subwords_streams_as_it_recomputes_eager_and_in_onnx(tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(task="next_state", vocab_size=V, embedding_dim=6, hidden_dim=10,
                      attention="general", subword_rows=9, subword_width=3)  # fmt: skip
    m = build_model(cfg).eval()
    with torch.no_grad():  # each word 0-3 of 8 n-grams, some shared
        table = torch.randint(0, 9, (V, 3), generator=torch.Generator().manual_seed(5))
        table[0] = 0
        m.input.ngrams.copy_(table)
        counts = (table > 0).sum(1).float()
        m.input.inv_count.copy_(torch.where(counts > 0, 1 / counts.clamp(min=1), 0.0))
        m.input.ngram.weight[1:].normal_()
    ids = tokens(30)
    with torch.no_grad():
        full = m(torch.tensor([ids]), torch.tensor([len(ids)]))
    stream = StreamingPredictor(m)
    for t, token in enumerate(ids):  # one step's ids are (1,): the n-grams sum over W still
        torch.testing.assert_close(stream.push(token), full[0, t], atol=1e-5, rtol=0)
    path = export_stream_onnx(m, tmp_path / "stream.onnx")  # the token-by-token graph
    assert stream_parity(m, path, [ids, tokens(7, seed=4)]) < 1e-5


def test_onnx_step_ignores_cache_rows_past_length(tmp_path):
    m = model("additive")
    onnx_stream = OnnxStream(export_stream_onnx(m, tmp_path / "s.onnx"))
    first = [onnx_stream.push(t) for t in tokens(5)]
    onnx_stream.reset()
    onnx_stream.cache = np.full((1, 9, onnx_stream.cache.shape[2]), 7.0, dtype=np.float32)
    again = [onnx_stream.push(t) for t in tokens(5)]  # length starts at 0: the 7s are unused
    np.testing.assert_allclose(np.stack(again), np.stack(first), atol=1e-6)
    assert onnx_stream.cache.shape[1] == 5 and int(onnx_stream.length[0]) == 5


def test_cli_streams_one_prediction_per_token(tmp_path):
    vocab = Vocabulary([chr(ord("a") + i) for i in range(V - 2)])
    m = model("dot")
    save_model(tmp_path / "m", m, vocab=vocab)
    result = CliRunner().invoke(
        app, ["predict", str(tmp_path / "m"), "--stream", "--top-k", "3"], input="a b\nc\n\nc\n"
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 4 and all(len(line.split()) == 3 for line in lines)

    def top3(seq: str) -> str:
        ids = vocab.encode(list(seq))
        with torch.no_grad():
            logits = m(torch.tensor([ids]), torch.tensor([len(ids)]))[0, -1]
        return " ".join(vocab.itos[i] for i in torch.topk(logits, 3).indices.tolist())

    assert lines == [top3("a"), top3("ab"), top3("abc"), top3("c")]  # blank line: new sequence
    assert Predictor(tmp_path / "m", engine="torch").stream().length == 0


def test_cli_without_input_or_stream_is_a_one_line_error(tmp_path):
    vocab = Vocabulary([chr(ord("a") + i) for i in range(V - 2)])
    save_model(tmp_path / "m", model("dot"), vocab=vocab)
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "m")])
    assert result.exit_code == 2 and "--stream" in result.output


def test_cli_stream_reads_tokens_with_spaces_by_sep_and_strict_refuses_unknown(tmp_path):
    vocab = Vocabulary(["C major", "G major", "A minor"] + [f"t{i}" for i in range(V - 5)])
    m = model("dot")
    save_model(tmp_path / "m", m, vocab=vocab)

    def run(*args, text):
        return CliRunner().invoke(app, ["predict", str(tmp_path / "m"), "--stream", *args],
                                  input=text)  # fmt: skip

    result = run("--sep", "|", "--top-k", "2", text="C major|G major\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and all(len(line.split("|")) == 2 for line in lines)
    with torch.no_grad():
        ids = vocab.encode(["C major", "G major"])
        logits = m(torch.tensor([ids]), torch.tensor([2]))[0, -1]
    assert lines[1] == "|".join(vocab.itos[i] for i in torch.topk(logits, 2).indices.tolist())
    # without --sep the words are tokens the model never saw: said once, on stderr
    result = run(text="C major\nC major\n")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 4
    assert result.stderr.count("unknown to this model") == 1 and "'major'" in result.stderr
    result = run(text="<unk>\n")  # the unknown token itself, as predict's batch share counts it
    assert result.exit_code == 0 and "'<unk>' unknown to this model" in result.stderr
    result = run("--strict", text="t0\nC major\n")
    assert result.exit_code == 2 and "standard input, line 2: 'C', 'major' unknown" in result.stderr
    assert len(result.stdout.splitlines()) == 1  # line 1 was predicted before the error


def test_cli_stream_decodes_standard_input_in_the_encoding_given(tmp_path):
    vocab = Vocabulary(["caf\u00e9", "cr\u00e8me"] + [f"t{i}" for i in range(V - 4)])
    save_model(tmp_path / "m", model("dot"), vocab=vocab)
    given = "caf\u00e9 cr\u00e8me\n".encode("cp1252")

    def run(*args):
        return CliRunner().invoke(app, ["predict", str(tmp_path / "m"), "--stream", "--strict",
                                        *args], input=given)  # fmt: skip

    result = run()
    assert result.exit_code == 2 and "standard input, line 1: not valid UTF-8" in result.stderr
    result = run("--encoding", "cp1252")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2
    given = b"\xef\xbb\xbf" + given.decode("cp1252").encode()  # UTF-8 with a BOM
    assert run().exit_code == 0  # the BOM is not part of the first token (--strict)
    result = run("--encoding", "utf-16")
    assert result.exit_code == 2 and "utf-16 cannot be" in result.stderr
    save_model(tmp_path / "m", model("dot"), vocab=vocab,
               extra={"training_data": {"encoding": "cp1252"}})  # fmt: skip
    given = "caf\u00e9 cr\u00e8me\n".encode("cp1252")
    result = run()  # no --encoding: the model's training files' encoding, after UTF-8
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize("extra", [["in.txt"], ["--out", "o.csv"], ["--last"], ["--sets"]])
def test_cli_stream_refuses_options_it_would_ignore(tmp_path, extra):
    save_model(tmp_path / "m", model("dot"), vocab=Vocabulary([f"t{i}" for i in range(V - 2)]))
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "m"), *extra, "--stream"],
                                input="t0\n")  # fmt: skip
    assert result.exit_code == 2 and "cannot go with it" in result.stderr
    assert result.stdout == ""


def test_next_state_export_writes_the_step_graph_into_the_bundle(tmp_path):
    from attnlib.data import SequenceData
    from attnlib.export_stream import STREAM_FILE
    from attnlib.tasks import get_task

    m = model("additive")
    test = SequenceData.next_state([tokens(30), tokens(4, seed=2), tokens(12, seed=3)])
    extras = get_task("next_state").export_extras(m, tmp_path, test=test, opset=17)
    assert extras["stream_onnx_max_abs_diff"] < 1e-5
    assert extras["stream_onnx_bytes"] == (tmp_path / STREAM_FILE).stat().st_size > 0
    # the bundle's step graph, streamed, gives the full model's predictions
    onnx_stream, ids = OnnxStream(tmp_path / STREAM_FILE), tokens(20, seed=5)
    with torch.no_grad():
        full = m(torch.tensor([ids]), torch.tensor([len(ids)]))[0]
    got = np.stack([onnx_stream.push(t) for t in ids])
    np.testing.assert_allclose(got, full.numpy(), atol=1e-5, rtol=0)


def test_other_tasks_add_nothing_to_the_bundle(tmp_path):
    from attnlib.data import SequenceData
    from attnlib.tasks import get_task

    cfg = ModelConfig(task="classify", vocab_size=V, embedding_dim=4, hidden_dim=4, num_classes=3)
    test = SequenceData.classify_tokens([tokens(5), tokens(3, seed=2)], [0, 2])
    assert get_task("classify").export_extras(build_model(cfg), tmp_path, test=test, opset=17) == {}
    assert list(tmp_path.iterdir()) == []
