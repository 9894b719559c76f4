"""SIGKILL during training (mid-epoch, or in the middle of a checkpoint write), then resume:
the final weights and losses equal those of an uninterrupted run."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    sys.path.insert(0, "tests/attnlib")
    import attnlib.train as T
    from test_train import setup

    ckpt, out, kill = sys.argv[1], sys.argv[2], sys.argv[3]
    model, train, val, tc, lf = setup(epochs=4, patience=10)
    calls = {"loss": 0, "save": 0}

    def loss(o, y):
        calls["loss"] += 1
        if kill == "mid-epoch" and calls["loss"] == 17:  # 5 train + 2 val calls an epoch: epoch 3
            os.kill(os.getpid(), signal.SIGKILL)
        return lf(o, y)

    real_save = torch.save

    def torn_save(obj, path, *a, **k):
        calls["save"] += 1
        if kill == "checkpoint" and calls["save"] == 2:  # half of epoch 2's checkpoint
            real_save(obj, path, *a, **k)
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                f.truncate(size // 2)
            os.kill(os.getpid(), signal.SIGKILL)
        return real_save(obj, path, *a, **k)

    T.torch.save = torn_save
    hist = T.fit(model, train, val, tc, loss_fn=loss, checkpoint_dir=ckpt, resume=True)
    w = sum(float(p.double().sum()) for p in model.parameters())
    json.dump({"val_loss": hist.val_loss, "weights": w}, open(out, "w"))
    """
)


def run(tmp_path, ckpt, kill, env):
    out = tmp_path / f"out-{kill}.json"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ckpt), str(out), kill],
        capture_output=True,
        text=True,
        env=env,
    )
    return proc, out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, one_thread_env):
    tmp = tmp_path_factory.mktemp("straight")
    proc, out = run(tmp, tmp / "ckpt", "none", one_thread_env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("kill,last_epoch", [("mid-epoch", 1), ("checkpoint", 0)])
def test_killed_training_resumes_to_the_same_result(
    tmp_path, uninterrupted, kill, last_epoch, one_thread_env
):
    ckpt = tmp_path / "ckpt"
    proc, out = run(tmp_path, ckpt, kill, one_thread_env)
    assert proc.returncode == -9 and not out.exists()  # really killed
    if kill == "checkpoint":  # the torn write is a temporary file; the checkpoint is intact
        assert len(list(ckpt.glob(".checkpoint.pt.*"))) == 1
    state = torch.load(ckpt / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == last_epoch  # 0-based: the last epoch that completed
    proc, out = run(tmp_path, ckpt, "none", one_thread_env)
    assert proc.returncode == 0, proc.stderr
    a, b = uninterrupted, json.loads(out.read_text())
    assert a["val_loss"] == b["val_loss"]
    assert a["weights"] == b["weights"]
