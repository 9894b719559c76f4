"""The protocol every task (job) implements, and what its evaluation takes and returns.

A task is one object (``TASK`` in its module, found through :func:`attnlib.tasks.get_task`)
that owns everything that differs between jobs: which raw data it accepts and how it is
encoded and split, the tensors it trains on, the model head and loss, the train metrics,
the evaluation report (model, baselines, plots), the prediction columns of
``attnlib predict`` and the model card's lines. The rest of the code asks the task and
never compares its name.

Evaluation is open: :meth:`Task.extend_report` adds a function whose entries are merged
into ``eval.json`` after the task's own (calibration, conformal coverage, faithfulness).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from attnlib.errors import ConfigError
from attnlib.versus import versus

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    from torch import nn

    from attnlib.config import EvaluateConfig, ModelConfig, TrainConfig
    from attnlib.data import SequenceData
    from attnlib.encoding import EncodeOptions
    from attnlib.persistence import ModelMeta
    from attnlib.train import History

Splits = tuple["pl.DataFrame", "pl.DataFrame", "pl.DataFrame"]  # train, val, test frames


def refuse_label_smoothing(task: str, train: TrainConfig | None) -> None:
    """``train.label_smoothing`` smooths class targets: a task without classes refuses it
    rather than ignoring it silently."""
    if train is not None and train.label_smoothing:
        from attnlib.errors import ConfigError

        raise ConfigError(f"train.label_smoothing is for classify, not {task}; set it to 0")


@dataclass
class EvalContext:
    """What a task's evaluation may use; the test split is the one scored."""

    model: nn.Module
    saved: ModelMeta  # the trained model's metadata (vocabulary, label map)
    meta: dict  # what encode recorded (scaling statistics, window geometry)
    splits: Splits  # test: the rows of ``test`` (see Task.usable)
    test: SequenceData
    options: EvaluateConfig
    seed: int = 0
    plots: Path = Path("plots")  # heatmaps go to plots/attention, the task's picture below
    heldout: nn.Module | None = None  # a refitted model's early-stopped start (calibration)
    # rotated folds: (members that held a fold out, its rows) per fold (attnlib.folds)
    out_of_fold: list[tuple[nn.Module, pl.DataFrame]] = field(default_factory=list)

    @property
    def calibrator(self) -> nn.Module:
        """The model whose validation predictions calibrate ``model``: the early-stopped
        model a refit started from (``model`` itself trained on validation), else ``model``."""
        return self.heldout if self.heldout is not None else self.model

    def calibration_sets(self, task: Task) -> list[tuple[nn.Module, pl.DataFrame]]:
        """(model, rows) pairs whose predictions calibrate ``model``, all out of sample:
        :attr:`calibrator` on the validation split, or ``out_of_fold`` where a refitted
        ensemble's members held out rotated folds (:func:`attnlib.folds.calibration_sets`)."""
        return self.out_of_fold or [(self.calibrator, task.usable(self.splits[1]))]

    def noting_fit(self, entries: dict) -> dict:
        """``entries`` (eval.json's ``calibration`` / ``conformal``) saying what they were
        fitted on: ``val``, ``val, pre-refit model`` (see :attr:`calibrator`), or the
        members' rotated folds (``out_of_fold``)."""
        fitted_on = "val" if self.heldout is None else "val, pre-refit model"
        if self.out_of_fold:  # with or without a kept refit
            fitted_on = (
                f"out-of-fold: val and {len(self.out_of_fold) - 1} training "
                "folds, each predicted by the pre-refit members that held it out"
            )
        for key in ("calibration", "conformal"):
            if key in entries:
                entries[key]["fitted_on"] = fitted_on
        return entries

    @property
    def task_plots(self) -> Path:
        """Where the task writes its own picture (one DVC plot directory: no placeholders)."""
        return self.plots / "evaluate"


@dataclass
class Evaluation:
    """A task's evaluation: ``eval.json``, the confusion plot's rows and heatmap axes."""

    report: dict  # {"model": {...}, baseline name: {...}}
    confusion: list[dict] = field(default_factory=list)  # plots/confusion.json
    heatmap_labels: list[list[str]] = field(default_factory=list)  # axis labels per item
    heatmap_ids: list[str] = field(default_factory=list)  # the items' names
    outputs: dict[str, Any] = field(default_factory=dict)  # e.g. actual / predicted arrays


ReportExtension = Callable[[EvalContext, Evaluation], dict]  # -> entries for eval.json


def cross_entropy_only(task: str, train: TrainConfig | None) -> None:
    """Raise ConfigError when ``train.loss`` asks a cross-entropy task for a regression loss."""
    if train is not None and train.loss != "mse":
        raise ConfigError(
            f"params key 'train.loss': '{train.loss}' is a forecast loss; task "
            f"'{task}' trains with cross-entropy (leave train.loss at mse)"
        )


@dataclass(frozen=True)
class CardNotes:
    """A task's lines in the model card."""

    attention: str  # how the attention reads, ending the model sentence
    intended_use: str
    limits: tuple[str, ...] = ()  # lines added to the card's limits


class Task(ABC):
    """One job: next-state prediction, classification, forecasting, ..."""

    name: ClassVar[str]
    accepts: ClassVar[tuple[str, ...]]  # raw kinds (attnlib.encoding.kind_of) it can encode
    needs: ClassVar[str]  # those kinds in words, for the error when the data does not fit
    # the main test metric, the one eval.json's ``versus`` judges by ("" = no ``versus``)
    headline: ClassVar[str] = ""
    # model config fields that mean nothing for this job (left out of ``model.json``)
    unused_model_fields: ClassVar[frozenset[str]] = frozenset()
    # sequences over ``encode.max_length``: cut into overlapping windows (True; prediction
    # then reads the last max_length steps) or truncated to the first (False)
    cuts_windows: ClassVar[bool] = False
    # a prediction after every step of a sequence (predict's ``--last`` keeps the one after
    # its end); False: one prediction per sequence or window
    step_predictions: ClassVar[bool] = False
    # why this task's outputs need one model (e.g. a streaming state): ``train.ensemble:
    # auto`` then keeps one; "" = auto may average several members on small data
    single_model: ClassVar[str] = ""
    # rows are independent sequences, so a refitted ensemble's members may hold out rotated
    # folds of the training split for calibration (attnlib.folds); False for one series
    rotates_folds: ClassVar[bool] = False
    # what ``auto`` means for AWD-LSTM's regularisers (train.embedding_dropout,
    # locked_dropout, weight_drop; a key left out is 0), and why
    auto_dropout: ClassVar[dict[str, float]] = {}
    auto_dropout_why: ClassVar[str] = (
        "no AWD-LSTM dropout: the head's dropout regularises this task"
    )

    def __init__(self) -> None:
        self.extensions: list[ReportExtension] = []

    # ---- data ----
    @abstractmethod
    def encode(
        self, raw: pl.DataFrame, kind: str, opt: EncodeOptions, *, source: object
    ) -> tuple[pl.DataFrame, dict]:
        """Assign splits, fit vocabulary / labels / scaling on train, encode every row.

        Returns: (encoded frame, metadata for ``data/vocab.json``, with ``model_fields``:
        the model config fields the data fixes).
        """

    @abstractmethod
    def split(self, frame: pl.DataFrame, *, source: object) -> dict[str, pl.DataFrame]:
        """The train / val / test frames of an encoded frame, checked for leaks."""

    def usable(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of a split frame that hold something to predict (default: all)."""
        return frame

    @abstractmethod
    def tensors(self, frame: pl.DataFrame, *, source: object) -> SequenceData:
        """Inputs and targets of an encoded split frame."""

    def refit_data(self, train: pl.DataFrame, val: pl.DataFrame) -> SequenceData | None:
        """What a refit (``train.refit``) trains on, from the usable rows of the train and
        val splits; None: the two splits' tensors, one after the other."""
        return None

    def data_spec(self, meta: dict) -> dict:
        """What a saved model needs from ``meta`` to prepare raw input for prediction."""
        return {k: meta[k] for k in ("task", "input") if k in meta}

    # ---- model ----
    def check_model(self, cfg: ModelConfig) -> None:  # noqa: B027  (optional: default accepts)
        """Raise ValueError when the model config cannot do this task (default: any can)."""

    @abstractmethod
    def build_head(self, cfg: ModelConfig, dim: int) -> nn.Module:
        """The head on top of encoder outputs of width ``dim``: ``head(h, last, mask) ->
        (output, attention weights)``; a ``shape`` attribute (per item) reshapes the output."""

    @abstractmethod
    def loss(self, cfg: ModelConfig, train: TrainConfig | None = None) -> Callable:
        """``loss(output, target) -> scalar``, the mean over real predictions (``train``
        may pick a variant, e.g. ``train.loss``)."""

    def average(self, cfg: ModelConfig, outputs: list) -> Any:
        """An ensemble's output from its members' (:class:`attnlib.ensemble.Ensemble`);
        default: the mean (regression). Tasks with classes average probabilities."""
        import torch

        return torch.stack(outputs).mean(0)

    @abstractmethod
    def onnx_axes(self, cfg: ModelConfig) -> dict[str, dict[int, str]]:
        """Dynamic axes of the ONNX graph's ``output`` and ``attention``."""

    def default_model(self, profile, known: tuple[str, ...]) -> tuple[str, str]:
        """The architecture ``train.name: auto`` picks for data of this ``profile``
        (:class:`attnlib.auto.DataProfile`) among the ``known`` models: (name, why)."""
        return "lstm_attention", "a one-directional LSTM with attention (the default)"

    def default_select(self, profile, small: int) -> tuple[str, str]:
        """What ``train.select: auto`` is for data of this ``profile`` (``small``: the
        training targets below which validation steers little): (val | train, why)."""
        return "val", "the checkpoint with the lowest validation loss (early stopping)"

    def default_refit(self, profile) -> tuple[bool, str] | None:
        """What ``train.refit: auto`` is for this task, (on, why), or None: the general rule
        (a refit after ``select: train``, :func:`attnlib.auto.refit`)."""
        return None

    def default_label_smoothing(self, profile) -> tuple[float, str]:
        """What ``train.label_smoothing: auto`` is for data of this ``profile``: (eps, why)."""
        return 0.0, "no classes to smooth"

    def default_linear_base(self, profile) -> tuple[bool, str]:
        """What ``train.linear_base: auto`` is for data of this ``profile``: (on, why)."""
        return False, "a linear base is a forecast's: no window of values to regress on"

    def train_metrics(self, hist: History) -> dict:
        """Entries this task adds to ``metrics/train.json`` (default: none)."""
        return {}

    # ---- evaluation ----
    @abstractmethod
    def score(self, ctx: EvalContext) -> Evaluation:
        """Model and baselines on the test split, and the task's plots (``ctx.task_plots``)."""

    def evaluate(self, ctx: EvalContext) -> Evaluation:
        """:meth:`score`, the model against its baselines (``versus``), then every
        extension's entries merged into the report."""
        result = self.score(ctx)
        if against := versus(result.report, self.headline):
            result.report["versus"] = against
        for extend in self.extensions:
            result.report.update(extend(ctx, result))
        return result

    def extend_report(self, fn: ReportExtension) -> ReportExtension:
        """Add ``fn(ctx, evaluation) -> entries`` to this task's evaluation (a decorator)."""
        self.extensions.append(fn)
        return fn

    def heatmap(self, w: np.ndarray, labels: list[str], steps: int, path: Path, item: str):
        """Draw one item's attention ``w`` over its first ``steps`` labelled steps."""
        from attnlib.plots import attention_heatmap

        attention_heatmap(w[:steps], labels[:steps], path, title=f"Attention, {item}")

    # ---- prediction and export ----
    @abstractmethod
    def predict(
        self,
        predictor,
        frame: pl.DataFrame,
        *,
        top_k: int,
        attention: bool,
        batch_size: int,
        sets: bool = False,
    ) -> pl.DataFrame:
        """``attnlib predict``: score raw input rows with a bundle (its columns are the task's;
        ``sets``: each row's conformal prediction set, where the task predicts classes)."""

    def export_extras(self, model: nn.Module, out: Path, *, test: SequenceData, opset: int) -> dict:
        """Write this task's extra files into the export bundle ``out`` (checked against
        eager PyTorch on ``test``); return their entries for ``metrics/export.json``
        (default: none)."""
        return {}

    @abstractmethod
    def card(self, cfg: ModelConfig) -> CardNotes:
        """The task's lines in the model card."""
