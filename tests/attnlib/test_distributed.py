"""DistributedDataParallel on 2 gloo processes matches one process with the same global batch."""

import os

import polars as pl
import pytest
import torch

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.distributed import run_torchrun, train_from_spec
from attnlib.persistence import load_heldout, load_model

V = 10
TOLERANCE = 1e-4  # float reductions differ between 1 and 2 processes (all-reduce order)


def write_split(path, n, seed, ragged=False):
    g = torch.Generator().manual_seed(seed)
    sizes = torch.randint(2, 16, (n,), generator=g).tolist() if ragged else [8] * n
    ids = [[2 + int(v) for v in torch.randint(0, V - 2, (k,), generator=g)] for k in sizes]
    for s in ids:  # learnable structure: every token is followed by the next id, cyclically
        for t in range(1, len(s)):
            s[t] = 2 + (s[t - 1] - 1) % (V - 2)
    frame = pl.DataFrame({"ids": ids, "length": [len(s) for s in ids]})
    frame.write_parquet(path)
    return path


@pytest.fixture(params=["equal", "ragged"])
def spec(tmp_path, request):
    # Ragged: the ranks' slices hold different numbers of tokens; each rank's mean loss is
    # weighted by its share, so the averaged gradient is still the global batch's.
    ragged = request.param == "ragged"
    model = ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=8, dropout=0.0)
    train = TrainConfig(epochs=3, batch_size=8, lr=1e-2, patience=10, progress=False, seed=3)
    return {
        "train": str(write_split(tmp_path / "train.parquet", 32, 1, ragged)),
        "val": str(write_split(tmp_path / "val.parquet", 8, 2, ragged)),
        "task": "next_state",
        "model": model.model_dump(),
        "train_config": train.model_dump(),
        "vocab": None,
        "out": str(tmp_path / "model"),
        "history": str(tmp_path / "history.json"),
    }


def test_shards_partition_every_global_batch():
    data = SequenceData.next_state([[2, 3, 4]] * 20)
    whole = Batches(data, 8, shuffle=True, seed=0).indices()
    ranks = [Batches(data, 8, shuffle=True, seed=0).shard(r, 2).indices() for r in (0, 1)]
    for g, a, b in zip(whole, *ranks, strict=True):
        assert sorted(torch.cat([a, b]).tolist()) == sorted(g.tolist())


def test_ddp_two_gloo_processes_match_one_process(spec, tmp_path):
    single = train_from_spec(
        {**spec, "out": str(tmp_path / "single"), "history": str(tmp_path / "h1.json")}
    )
    ddp = run_torchrun(spec, nproc=2)
    assert ddp.epochs_run == single.epochs_run == 3
    # the ranks split each global batch: together they saw each target once, not twice
    assert ddp.train_targets == single.train_targets and min(single.train_targets) > 0
    for a, b in zip(ddp.val_loss, single.val_loss, strict=True):
        assert abs(a - b) < TOLERANCE, (ddp.val_loss, single.val_loss)
    model, _ = load_model(spec["out"])  # written once, by rank 0
    assert model.config.hidden_dim == 8


def test_a_refitted_rank_saves_the_early_stopped_model_it_calibrates_on(spec, tmp_path):
    """With ``train.refit`` rank 0 writes the early-stopped weights beside the refit
    (``heldout.safetensors``), which train_on_ranks hands back for calibration."""
    cfg = TrainConfig(**{**spec["train_config"], "refit": True})
    hist = train_from_spec({**spec, "train_config": cfg.model_dump()})
    assert hist.refit_epochs == hist.best_epoch + 1 and hist.heldout_state is not None
    heldout = load_heldout(spec["out"])
    assert heldout is not None
    for k, v in heldout.state_dict().items():
        assert torch.equal(v, hist.heldout_state[k])
    refitted, _ = load_model(spec["out"])
    after = refitted.state_dict()
    assert any(not torch.equal(v, after[k]) for k, v in heldout.state_dict().items())


MEMBER = """
import json, signal, sys, time
from pathlib import Path
from attnlib.distributed import run_torchrun

def stop(signum, frame):  # as Prefect raises a SIGTERM in a flow run
    raise SystemExit(128 + signum)

signal.signal(signal.SIGTERM, stop)
try:
    run_torchrun(json.loads(open(sys.argv[1]).read()), nproc=2)
except SystemExit:
    Path(sys.argv[1]).with_name("stopped").touch()
    time.sleep(300)  # the member lives on (a long-lived worker): its ranks must not
"""


@pytest.mark.parametrize("how", ["killed", "torchrun_killed", "sigterm"])
def test_the_ranks_end_with_the_member_that_started_them(tmp_path, how):
    """A member killed outright (SIGKILL, the OOM killer) cannot stop torchrun: its ranks
    see it gone (``stop_with_owner``) and end, and torchrun with them; so do the ranks of
    a torchrun killed outright. A member that gets a SIGTERM and lives on stops torchrun,
    which stops its ranks, before going on (that held before the watch too)."""
    import json
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.processes import children, running, wait_until

    model = ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=8, dropout=0.0)
    train = TrainConfig(epochs=100_000, batch_size=8, lr=1e-2, patience=100_000,
                        progress=False, seed=3)  # fmt: skip
    spec = {"train": str(write_split(tmp_path / "train.parquet", 32, 1)),
            "val": str(write_split(tmp_path / "val.parquet", 8, 2)), "task": "next_state",
            "model": model.model_dump(), "train_config": train.model_dump(), "vocab": None,
            "out": str(tmp_path / "model"), "history": str(tmp_path / "history.json"),
            "checkpoint_dir": str(tmp_path / "ckpt")}  # fmt: skip
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    root = str(Path(__file__).resolve().parents[2])
    member = subprocess.Popen([sys.executable, "-c", MEMBER, str(tmp_path / "spec.json")],
                              # a killed member leaves run_torchrun's spec folder: here
                              env={**os.environ, "PYTHONPATH": root,
                                   "TMPDIR": str(tmp_path)})  # fmt: skip
    torchrun, ranks = [], []

    def started() -> bool:
        torchrun[:] = children(member.pid)
        ranks[:] = [r for t in torchrun for r in children(t)]
        # training (past stop_with_owner): rank 0 wrote a checkpoint
        trains = (tmp_path / "ckpt" / "checkpoint.pt").exists()
        return (len(ranks) == 2 and trains) or member.poll() is not None

    try:
        assert wait_until(started, 120) and member.poll() is None, "no ranks started"
        if how == "killed":
            member.send_signal(signal.SIGKILL)
            member.wait()
        elif how == "torchrun_killed":
            os.kill(torchrun[0], signal.SIGKILL)
        else:
            member.send_signal(signal.SIGTERM)
            assert wait_until((tmp_path / "stopped").exists, 60), "the member did not stop"
        assert wait_until(lambda: not any(map(running, ranks + torchrun)), 30), "ranks run on"
        assert how != "sigterm" or member.poll() is None  # the ranks ended before the member
    finally:
        member.kill()
        member.wait()
        for pid in ranks + torchrun:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
