"""Typed configs, validated from plain dicts (params.yaml sections) with errors naming the key."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from attnlib import tasks
from attnlib.errors import ConfigError

ModelName = Literal["lstm_attention", "bilstm_attention", "cnn_bilstm_attention"]
Scorer = Literal["additive", "dot", "general", "scaled_dot"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelConfig(_Frozen):
    """Everything needed to rebuild a model (stored in every checkpoint)."""

    name: ModelName = "lstm_attention"
    task: str = tasks.NEXT_STATE  # a key of attnlib.tasks.TASKS
    input_kind: Literal["tokens", "numeric"] = "tokens"
    vocab_size: int = Field(0, ge=0)  # tokens: size of the vocabulary, <pad> and <unk> included
    input_dim: int = Field(0, ge=0)  # numeric: channels per time step
    embedding_dim: int = Field(64, ge=1)  # tokens: embedding size; numeric: projection size
    hidden_dim: int = Field(128, ge=1)  # per direction
    num_layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)  # between LSTM layers and before the head
    attention: Scorer = "additive"
    query: Literal["learned", "last"] = "learned"  # next_state always attends from step t
    num_classes: int = Field(2, ge=2)  # classify: 2 -> one logit, K > 2 -> K logits
    horizon: int = Field(1, ge=1)  # forecast: steps ahead
    num_targets: int = Field(1, ge=1)  # forecast: target channels
    cnn_channels: int = Field(64, ge=1)  # cnn_bilstm_attention front end
    cnn_kernel: int = Field(3, ge=1)
    cnn_pool: int = Field(2, ge=1)
    # tokens, from the encode stage (attnlib.models.subword): char n-gram rows (0 = none),
    # n-grams per word, pretrained vector size (0 = none) and the file holding the n-gram
    # table and vectors (read when training starts; a saved model has them in its weights)
    subword_rows: int = Field(0, ge=0)
    subword_width: int = Field(0, ge=0)
    vectors_dim: int = Field(0, ge=0)
    input_init: str = ""

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str) -> str:
        if task not in tasks.TASKS:
            raise ValueError(f"unknown task '{task}' (known: {', '.join(tasks.TASKS)})")
        return task

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if self.input_kind == "tokens" and self.vocab_size < 3:
            raise ValueError("vocab_size must be >= 3 for token input (<pad>, <unk> and a token)")
        if self.input_kind == "numeric" and self.input_dim < 1:
            raise ValueError("input_dim must be >= 1 for numeric input")
        tasks.get_task(self.task).check_model(self)  # e.g. next_state: causal, tokens
        return self

    @property
    def bidirectional(self) -> bool:
        return self.name != "lstm_attention"


class TrainConfig(_Frozen):
    """Optimisation settings for :func:`attnlib.train.fit`."""

    epochs: int = Field(20, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float = Field(1.0, ge=0)  # max global grad norm; 0 disables
    patience: int = Field(5, ge=1)  # epochs without val improvement before stopping
    min_delta: float = Field(0.0, ge=0)  # improvement smaller than this does not count
    # Small data: when epochs x batches per epoch is below this, epochs and patience are both
    # multiplied by the same factor until it is not (0 = off); see attnlib.train.budget.
    min_steps: int = Field(0, ge=0)
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    amp: bool = True  # mixed precision, used on CUDA only
    bucket: bool = True  # length-bucketed batches (less padding, same loss)
    loss: Literal["auto", "mse", "huber"] = "auto"  # regression loss; auto = mse
    progress: bool = True


class _TrainRun(_Frozen):
    """How the train stage runs (the rest of the ``train`` section is below)."""

    resume: bool = True  # continue a killed run from its checkpoint (same params only)
    nproc: int = Field(1, ge=1)  # > 1: DistributedDataParallel over N processes (torchrun)


# The ``train`` section of params.yaml: every model and optimisation field declared above
# (type, default, bound), so a new hyper-parameter is added there alone, and _TrainRun's;
# not the fields the data fixes (encode records them) nor those the stage sets.
DATA_FIELDS = ("task", "input_kind", "vocab_size", "input_dim", "num_classes", "horizon",
               "num_targets", "subword_rows", "subword_width", "vectors_dim",
               "input_init")  # fmt: skip
STAGE_FIELDS = ("seed", "progress")  # the top-level ``seed``; progress bars on a terminal
MODEL_KEYS = tuple(k for k in ModelConfig.model_fields if k not in DATA_FIELDS)
TRAIN_KEYS = tuple(k for k in TrainConfig.model_fields if k not in STAGE_FIELDS)


def _fields(model: type[BaseModel], keys: tuple[str, ...]) -> dict:
    """``model``'s declarations of ``keys`` (type, default, bound), for another model."""
    return {k: (model.model_fields[k].annotation, model.model_fields[k]) for k in keys}


TrainSection = create_model(
    "TrainSection",
    __base__=_TrainRun,
    __doc__="The ``train`` section: model hyper-parameters, optimisation, how the stage runs.",
    **_fields(ModelConfig, MODEL_KEYS),
    **_fields(TrainConfig, TRAIN_KEYS),
)  # fmt: skip


def train_configs(
    section: dict | None, *, task: str, seed: int, data_fields: dict,
    overrides: dict | None = None, progress: bool = False, source: str = "search/best.yaml",
) -> tuple[ModelConfig, TrainConfig, _TrainRun]:  # fmt: skip
    """The ``train`` section (+ the search's best ``overrides``) as the model config, the
    optimisation config and the stage's run options.

    Args:
        data_fields: the model fields the data fixes (input kind and width, vocabulary
            size, classes, horizon; see what encode records as ``model_fields``).
    """
    run = validate(TrainSection, section, section="train")
    values = run.model_dump()
    unknown = set(overrides or {}) - set(values)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)}")
    values.update(overrides or {})
    model = validate(
        ModelConfig, {**{k: values[k] for k in MODEL_KEYS}, "task": task, **data_fields},
        section="train",
    )  # fmt: skip
    train = validate(
        TrainConfig, {**{k: values[k] for k in TRAIN_KEYS}, "seed": seed, "progress": progress},
        section="train",
    )  # fmt: skip
    return model, train, run


class EvaluateConfig(_Frozen):
    """The ``evaluate`` section: what the tasks' evaluations draw and compare."""

    top_k: int = Field(5, ge=1)
    ngram_orders: list[int] = [1, 2, 3, 4, 5, 6, 7]  # next_state: Kneser-Ney orders tried
    heatmaps: int = Field(3, ge=0)  # attention heatmaps of this many test items
    confusion_top: int = Field(15, ge=2)  # confusion among the most frequent classes
    season: int = Field(0, ge=0)  # forecast: seasonal period (0 = the one encode found)


C = TypeVar("C", bound=BaseModel)


def validate(cls: type[C], data: dict | None, *, section: str = "") -> C:
    """Build ``cls`` from ``data``; raise :class:`ConfigError` naming the offending key path."""
    try:
        return cls.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in ((section,) if section else ()) + tuple(err["loc"]))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (allowed: {', '.join(sorted(cls.model_fields))})"
        raise ConfigError(f"params key '{key or section}': {msg}") from None
