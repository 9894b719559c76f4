"""The train stage's live logging: per-epoch losses to the run log and to DVCLive."""

from __future__ import annotations

from prefect import get_run_logger

from attnlib.train import History


class LiveLogger:
    """Per-epoch callback: the losses to the run log and to DVCLive (live DVC plots)."""

    def __init__(self, resume: bool):
        from dvclive import Live

        self.live = Live("dvclive", resume=resume, save_dvc_exp=False, dvcyaml=False)

    def __call__(self, epoch: int, logs: dict) -> None:
        get_run_logger().info(
            "epoch %d: train loss %.4f, val loss %.4f%s",
            epoch + 1, logs["train_loss"], logs["val_loss"], " (best)" if logs["improved"] else "",
        )  # fmt: skip
        self.live.step = epoch
        self.live.log_metric("train_loss", logs["train_loss"])
        self.live.log_metric("val_loss", logs["val_loss"])
        self.live.next_step()


def write_curves(hist: History) -> None:
    """Rewrite the DVCLive curves from the whole history.

    A resumed run logs only its remaining epochs (none, if the checkpoint already holds
    the finished run), and DVC removes the stage's outputs before it runs.
    """
    from dvclive import Live

    with Live("dvclive", resume=False, save_dvc_exp=False, dvcyaml=False) as live:
        for epoch, (tr, va) in enumerate(zip(hist.train_loss, hist.val_loss, strict=True)):
            live.step = epoch
            live.log_metric("train_loss", tr)
            live.log_metric("val_loss", va)
            live.next_step()
