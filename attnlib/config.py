"""Typed configs, validated from plain dicts (params.yaml sections) with errors naming the key."""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeVar

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

ModelName = Literal["lstm_attention", "bilstm_attention", "cnn_bilstm_attention", "alstm_fcn"]
Scorer = Literal["additive", "dot", "general", "scaled_dot"]
BIDIRECTIONAL = ("bilstm_attention", "cnn_bilstm_attention")


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
    # forecast (from the encode stage): every input step minus the window's last real step,
    # so the model sees shape, not level (the targets are residuals; attnlib.seasonality)
    local_level: bool = False
    lookback: int = Field(0, ge=0)  # forecast (from the encode stage): input steps per window
    # forecast: a linear autoregressive term over the window (LSTNet's highway, Lai et al.
    # 2018), fitted in closed form before training and fixed (attnlib/models/linear_base.py);
    # classify tokens: a logistic regression on n-grams whose probabilities are
    # mixed with the network's (attnlib/models/ngram_partner.py); classify series: the same
    # on random convolution-kernel features (attnlib/models/kernel_partner.py); next_state:
    # a Kneser-Ney n-gram model mixed in the same way (attnlib/models/kn_partner.py)
    linear_base: bool = False
    # the n-gram partner of character tokens, from the encode stage: its highest n-gram order
    # and hashed rows (0 = words: unigrams and bigrams, rows from the vocabulary)
    ngram_order: int = Field(0, ge=0)
    ngram_buckets: int = Field(0, ge=0)
    # the kernel partner of numeric series, from the encode stage: the train split's median
    # series length, which sets its dilations (0 = a model saved before it: no partner)
    kernel_length: int = Field(0, ge=0)
    # numeric, from the encode stage: the last input channels that hold each series' scale
    # as constants (encode.normalize: series, attnlib.scaling); the kernel partner reads
    # them as features instead of convolving them (0 = none, or a model saved before it)
    level_channels: int = Field(0, ge=0)
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
    # alstm_fcn: the fully convolutional arm (Karim et al. 2017); SE blocks when channels > 1
    fcn_filters: tuple[int, int, int] = (128, 256, 128)
    fcn_kernels: tuple[int, int, int] = (8, 5, 3)
    se_reduction: int = Field(16, ge=1)  # squeeze-and-excitation bottleneck = filters / this
    # AWD-LSTM regularisers (Merity et al. 2017); see attnlib/models/regularizers.py
    embedding_dropout: float = Field(0.0, ge=0.0, lt=1.0)  # tokens: drop whole word types
    locked_dropout: float = Field(0.0, ge=0.0, lt=1.0)  # one mask per sequence, all steps
    weight_drop: float = Field(0.0, ge=0.0, lt=1.0)  # DropConnect on the LSTM's W_hh
    # next_state: output layer shares the embedding matrix. Stored configs hold a bool (an old
    # model.json without the key was trained untied); "auto" resolves on validation to
    # "tie when embedding_dim equals the LSTM output size".
    tie_weights: bool | Literal["auto"] = False

    @model_validator(mode="before")
    @classmethod
    def _resolve_tie(cls, data):
        if isinstance(data, dict) and data.get("tie_weights") == "auto":
            get = lambda k: data.get(k, cls.model_fields[k].default)  # noqa: E731
            dirs = 2 if get("name") in BIDIRECTIONAL else 1
            data = {**data, "tie_weights": get("task") == tasks.NEXT_STATE
                    and get("input_kind") == "tokens"
                    and get("embedding_dim") == get("hidden_dim") * dirs
                    and not get("subword_rows") and not get("vectors_dim")}  # fmt: skip
        return data

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
        if self.level_channels and self.level_channels >= self.input_dim:
            raise ValueError(f"level_channels ({self.level_channels}) must leave some of the "
                             f"{self.input_dim} input channels to the series")  # fmt: skip
        if self.name == "alstm_fcn" and (
            self.input_kind != "numeric" or self.task == tasks.NEXT_STATE
        ):
            raise ValueError(
                "model 'alstm_fcn' is for numeric series (classify or forecast), "
                f"not {self.input_kind} input with task {self.task}"
            )
        tasks.get_task(self.task).check_model(self)  # e.g. next_state: causal, tokens
        if self.tie_weights and (
            self.task != tasks.NEXT_STATE or self.embedding_dim != self.out_dim
        ):
            raise ValueError(
                f"tie_weights needs task next_state and embedding_dim ({self.embedding_dim}) "
                f"equal to the LSTM output size ({self.out_dim}); use tie_weights: auto"
            )
        if self.local_level and self.input_kind != "numeric":
            raise ValueError("local_level subtracts a window's last values: it needs numeric input")
        partner_ok = (
            self.task == tasks.CLASSIFY and (self.input_kind == "tokens" or self.kernel_length > 0)
        ) or self.task == tasks.NEXT_STATE
        if (
            self.linear_base
            and not partner_ok
            and (self.task != tasks.FORECAST or not self.lookback)
        ):
            raise ValueError(
                "linear_base is a linear term over the input window for task forecast (it "
                "needs the window length from the encode stage), a regression on n-grams or "
                "kernel features for task classify (kernel features need the series length "
                "from the encode stage) or a Kneser-Ney partner for task next_state: not for "
                f"task {self.task} with "
                f"{self.input_kind} input, lookback {self.lookback} (re-run the encode stage, "
                "or set linear_base: false)"
            )
        if self.embedding_dropout and self.input_kind != "tokens":
            raise ValueError("embedding_dropout drops word vectors: it needs token input")
        return self

    def applicable_dump(self) -> dict:
        """The fields that apply to this model, as JSON: ``model.json`` shows no field a
        reader would take for a fact about it (``num_classes`` of a next-state model)."""
        unused = set(tasks.get_task(self.task).unused_model_fields)
        unused |= {"input_dim"} if self.input_kind == "tokens" else {"vocab_size"}
        if self.name != "cnn_bilstm_attention":
            unused |= {"cnn_channels", "cnn_kernel", "cnn_pool"}
        # the training-time vectors file (the weights hold what it held); the word input
        # layer's sizes when unused (a bundle without them reads as before)
        optional = ("subword_rows", "subword_width", "vectors_dim", "local_level", "lookback",
                    "linear_base", "ngram_order", "ngram_buckets", "kernel_length",
                    "level_channels")  # fmt: skip
        unused |= {"input_init"} | {k for k in optional if not getattr(self, k)}
        return self.model_dump(mode="json", exclude=unused)

    @property
    def ngram_partner(self) -> bool:
        """``linear_base`` on token input to classify: a classifier's n-gram partner."""
        return self.linear_base and self.input_kind == "tokens" and self.task == tasks.CLASSIFY

    @property
    def kn_partner(self) -> bool:
        """``linear_base`` for next_state: the Kneser-Ney partner."""
        return self.linear_base and self.task == tasks.NEXT_STATE

    @property
    def kernel_partner(self) -> bool:
        """``linear_base`` on numeric series with their length (classify only, as above): a
        classifier's kernel partner, not a forecast's linear base."""
        return self.linear_base and self.input_kind == "numeric" and self.kernel_length > 0

    @property
    def bidirectional(self) -> bool:
        return self.name in BIDIRECTIONAL

    @property
    def out_dim(self) -> int:
        """The LSTM encoder's output size D (hidden_dim per direction)."""
        return self.hidden_dim * (2 if self.bidirectional else 1)


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
    # CPU training: bf16 autocast where the CPU has it natively (auto), or always / never
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    bucket: bool = True  # length-bucketed batches (less padding, same loss)
    # forecast: the regression loss of the search's trials and of the final fit alike;
    # next_state / classify always use cross-entropy and accept only the default
    loss: Literal["mse", "huber"] = "mse"
    # the loss the checkpoint and early stopping watch: "val" (the validation loss) or
    # "train" (the epoch's training loss, over the whole budget: the protocol of the UCR
    # deep-learning benchmarks, where a validation share of a few series picks noise)
    select: Literal["val", "train"] = "val"
    # after the fit, a new model on train + val: for the epoch count validation chose
    # (select: val), or for the same budget, again at its lowest training loss (select: train)
    refit: bool = False
    progress: bool = True
    # the training recipe (attnlib/optim.py): defaults keep the original Adam, constant lr
    optimizer: Literal["adam", "adamw"] = "adam"  # adamw: weight decay decoupled from the gradient
    schedule: Literal["none", "onecycle", "cosine", "plateau"] = "none"  # lr, stepped per batch
    warmup: float = Field(0.1, ge=0.0, lt=1.0)  # cosine / onecycle: share of steps warming up
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)  # classify: targets smoothed by this
    ensemble: int = Field(1, ge=1)  # members trained with seeds seed, seed + 1, ...


class _TrainRun(_Frozen):
    """How the train stage runs (the rest of the ``train`` section is below)."""

    resume: bool = True  # continue a killed run from its checkpoint (same params only)
    nproc: int = Field(1, ge=1)  # > 1: DistributedDataParallel over N processes (torchrun)


# The ``train`` section of params.yaml: every model and optimisation field declared above
# (type, default, bound), so a new hyper-parameter is added there alone, and _TrainRun's;
# not the fields the data fixes (encode records them) nor those the stage sets.
DATA_FIELDS = ("task", "input_kind", "vocab_size", "input_dim", "num_classes", "horizon",
               "num_targets", "subword_rows", "subword_width", "vectors_dim",
               "input_init", "local_level", "lookback", "ngram_order", "ngram_buckets",
               "kernel_length", "level_channels")  # fmt: skip
STAGE_FIELDS = ("seed", "progress")  # the top-level ``seed``; progress bars on a terminal
MODEL_KEYS = tuple(k for k in ModelConfig.model_fields if k not in DATA_FIELDS)
TRAIN_KEYS = tuple(k for k in TrainConfig.model_fields if k not in STAGE_FIELDS)


# Keys whose value may be "auto": decided from the training data (attnlib.auto).
AUTO_KEYS = (
    "name",
    "batch_size",
    "epochs",
    "patience",
    "select",
    "schedule",
    "refit",
    "ensemble",
    "embedding_dropout",
    "locked_dropout",
    "weight_drop",
    "label_smoothing",
    "linear_base",
)


def _fields(model: type[BaseModel], keys: tuple[str, ...]) -> dict:
    """``model``'s declarations of ``keys`` (type, default, bound), for another model;
    an :data:`AUTO_KEYS` key also takes ``"auto"``, its default."""
    out = {}
    for k in keys:
        info = model.model_fields[k]
        if k in AUTO_KEYS:  # the bounds apply to the value, not to "auto"
            parts = (info.annotation, *info.metadata)
            bounded = Annotated[parts] if info.metadata else info.annotation
            out[k] = (bounded | Literal["auto"], "auto")
        else:
            out[k] = (info.annotation, info)
    return out


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
    An :data:`AUTO_KEYS` value still ``auto`` here takes the configs' default;
    :func:`attnlib.auto.resolve_section` decides them from the data first.
    """
    run = validate(TrainSection, section, section="train")
    values = run.model_dump()
    unknown = set(overrides or {}) - set(values)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)}")
    values.update(overrides or {})
    for k in AUTO_KEYS:  # still "auto" (no data decided, see attnlib.auto): the defaults
        if values[k] == "auto":
            owner = ModelConfig if k in ModelConfig.model_fields else TrainConfig
            values[k] = owner.model_fields[k].default
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

    top_k: int = Field(5, ge=1)  # next_state: k of top-k accuracy (model and Kneser-Ney)
    ngram_orders: list[int] = [1, 2, 3, 4, 5, 6, 7]  # next_state: Kneser-Ney orders tried
    heatmaps: int = Field(3, ge=0)  # attention heatmaps of this many test items
    confusion_top: int = Field(15, ge=2)  # confusion among the most frequent classes
    season: int = Field(0, ge=0)  # forecast: seasonal period (0 = the one encode found)
    alpha: float = Field(0.1, gt=0, lt=1)  # conformal miscoverage: sets / intervals at 1 - alpha
    # conformal sets: exact = APS as published (randomised, may be empty, coverage 1 - alpha
    # up to 1/(n+1)); nonempty = the top label always in (coverage >= the accuracy)
    sets: Literal["exact", "nonempty"] = "exact"
    faith_items: int = Field(200, ge=0)  # faithfulness: test items erased (0 = skip the check)
    faith_ig_items: int = Field(4, ge=0)  # of those, items compared with integrated gradients
    # forecast: Holt-Winters' weight in the reported forecast (attnlib.combination): 0 = the
    # network alone (the default); auto = chosen on validation with 3+ windows, else 0.5
    # (0 where Holt-Winters fails on a validation window)
    combine: Annotated[float, Field(ge=0, le=1)] | Literal["auto"] = 0.0


C = TypeVar("C", bound=BaseModel)
_UNION_MEMBER = re.compile(r"^(int|float|bool|str|constrained-\w+|literal\[.*\])$")


def validate(cls: type[C], data: dict | None, *, section: str = "") -> C:
    """Build ``cls`` from ``data``; raise :class:`ConfigError` naming the offending key path."""
    try:
        return cls.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        # a union's member ("int", "literal[...]") is not part of the key's path
        loc = tuple(p for p in err["loc"] if not _UNION_MEMBER.match(str(p)))
        key = ".".join(str(p) for p in ((section,) if section else ()) + loc)
        msg = err["msg"]
        if loc and loc[-1] in AUTO_KEYS and len(loc) < len(err["loc"]):
            msg += ", or 'auto'"
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (allowed: {', '.join(sorted(cls.model_fields))})"
        raise ConfigError(f"params key '{key or section}': {msg}") from None
