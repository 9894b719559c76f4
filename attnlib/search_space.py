"""The ``search`` section: its typed config and the seed-style search space.

Grammar (SeqLab's, extended), one entry per key of the ``train`` section::

    lr:        {min: 1.0e-4, max: 1.0e-2, log: true}   # float (a bound is a float), log scale
    num_layers: {min: 1, max: 3}                       # int (both bounds are ints)
    dropout:   {min: 0.0, max: 0.5, step: 0.1}         # float on a grid
    attention: {values: [additive, dot, general]}      # categorical

:func:`suggest` is the one place a trial becomes a set of overrides of the ``train``
section; :func:`apply_overrides` turns base configs plus overrides into the configs of
one trial. Every mistake is a :class:`ConfigError` naming the key path, such as
``search.space.lr.min``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import optuna
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from attnlib.config import ModelConfig, TrainConfig, validate
from attnlib.errors import ConfigError

SPACE = "search.space"

# Keys of the `train` section a search may vary. `epochs` is `search.epochs`; device and
# resume are not hyper-parameters.
SEARCHABLE = ("name", "attention", "query", "embedding_dim", "hidden_dim", "num_layers",
              "dropout", "batch_size", "lr", "weight_decay", "grad_clip", "patience",
              "min_delta")  # fmt: skip
_RANGE_KEYS = {"min", "max", "log", "step"}


@dataclass(frozen=True)
class Dim:
    """One searchable parameter: an int / float range or a categorical choice."""

    kind: Literal["int", "float", "categorical"]
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple = ()

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def parse_dim(key: str, spec: object) -> Dim:
    """Parse one entry of the space; ``key`` is the parameter name (for messages)."""
    path = f"{SPACE}.{key}"
    if key not in SEARCHABLE:
        raise ConfigError(
            f"params key '{path}': '{key}' is not a searchable train param "
            f"(searchable: {', '.join(SEARCHABLE)})"
        )
    if not isinstance(spec, dict):
        raise ConfigError(
            f"params key '{path}': expected {{min, max[, log, step]}} or {{values: [...]}}, "
            f"got {spec!r}"
        )
    if "values" in spec:
        extra = sorted(set(spec) - {"values"})
        if extra:
            raise ConfigError(f"params key '{path}.{extra[0]}': unknown key next to 'values'")
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"params key '{path}.values': expected a non-empty list")
        for i, v in enumerate(values):
            if not (v is None or isinstance(v, bool | int | float | str)):
                raise ConfigError(f"params key '{path}.values.{i}': {v!r} is not a scalar")
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"params key '{path}.values': duplicate values {values}")
        return Dim("categorical", choices=tuple(values))

    extra = sorted(set(spec) - _RANGE_KEYS)
    if extra:
        raise ConfigError(
            f"params key '{path}.{extra[0]}': unknown key (allowed: log, max, min, step, "
            "or values alone)"
        )
    for bound in ("min", "max"):
        if bound not in spec:
            raise ConfigError(f"params key '{path}.{bound}': missing (a range needs min and max)")
        if not _is_number(spec[bound]) or not math.isfinite(spec[bound]):
            raise ConfigError(
                f"params key '{path}.{bound}': expected a number, got {spec[bound]!r}"
            )
    low, high = spec["min"], spec["max"]
    if low > high:
        raise ConfigError(f"params key '{path}.min': min {low} is greater than max {high}")
    log, step = spec.get("log", False), spec.get("step")
    if not isinstance(log, bool):
        raise ConfigError(f"params key '{path}.log': expected true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"params key '{path}.min': a log scale needs min > 0, got {low}")
    if step is not None:
        if log:
            raise ConfigError(f"params key '{path}.step': step and log cannot be combined")
        if not _is_number(step) or step <= 0:
            raise ConfigError(f"params key '{path}.step': expected a number > 0, got {step!r}")
    is_int = isinstance(low, int) and isinstance(high, int)
    if is_int and step is not None and not isinstance(step, int):
        raise ConfigError(f"params key '{path}.step': an int range needs an int step, got {step}")
    if is_int:
        return Dim("int", low, high, log, step)
    return Dim("float", float(low), float(high), log, None if step is None else float(step))


def parse_space(space: object) -> dict[str, Dim]:
    """Parse the whole ``search.space`` mapping (key order is kept)."""
    if space is None:
        return {}
    if not isinstance(space, dict):
        raise ConfigError(f"params key '{SPACE}': expected a mapping of param -> spec")
    return {str(k): parse_dim(str(k), v) for k, v in space.items()}


def suggest(trial: optuna.Trial, space: dict[str, Dim]) -> dict[str, Any]:
    """Ask ``trial`` for a value of every parameter: the overrides of the ``train`` section."""
    out: dict[str, Any] = {}
    for key, d in space.items():
        if d.kind == "categorical":
            out[key] = trial.suggest_categorical(key, list(d.choices))
        elif d.kind == "int":
            out[key] = trial.suggest_int(key, d.low, d.high, step=d.step or 1, log=d.log)
        else:
            out[key] = trial.suggest_float(key, d.low, d.high, step=d.step, log=d.log)
    return out


def apply_overrides(
    model: ModelConfig, train: TrainConfig, overrides: dict[str, Any], *, section: str = SPACE
) -> tuple[ModelConfig, TrainConfig]:
    """The configs of one trial: ``model`` / ``train`` with ``overrides`` validated in."""
    m = {k: v for k, v in overrides.items() if k in ModelConfig.model_fields}
    t = {k: v for k, v in overrides.items() if k in TrainConfig.model_fields and k not in m}
    unknown = sorted(set(overrides) - set(m) - set(t))
    if unknown:
        raise ConfigError(f"params key '{section}.{unknown[0]}': not a model or train setting")
    return (
        validate(ModelConfig, {**model.model_dump(), **m}, section=section),
        validate(TrainConfig, {**train.model_dump(), **t}, section=section),
    )


def check_space(space: dict[str, Dim], model: ModelConfig, train: TrainConfig) -> None:
    """Fail before the first trial if a bound or choice is not a valid value for its key."""
    for key, d in space.items():
        for value in d.choices if d.kind == "categorical" else (d.low, d.high):
            try:
                apply_overrides(model, train, {key: value})
            except ConfigError as exc:
                if f"'{SPACE}.{key}'" in str(exc):
                    raise
                # a cross-field check (e.g. a bidirectional model for next_state)
                detail = str(exc).split("': ", 1)[-1].removeprefix("Value error, ")
                raise ConfigError(f"params key '{SPACE}.{key}': {value!r}: {detail}") from None


class SearchConfig(BaseModel):
    """The ``search`` section of params.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    # false: no search, an empty best.yaml (train uses its own params); auto: search when
    # the training data is large enough for validation to rank trials (attnlib.auto)
    enabled: bool | Literal["auto"] = "auto"
    n_trials: int = Field(20, ge=1)  # COMPLETE + PRUNED trials the study ends with
    timeout: float = Field(0, ge=0)  # seconds per worker; 0 = no time budget
    epochs: int = Field(10, ge=1)  # max epochs per trial
    sampler: Literal["tpe", "random"] = "tpe"
    pruner: Literal["median", "hyperband", "halving", "none"] = "halving"  # halving: successive
    storage: str = ""  # SQLAlchemy URL; "" = the stage's default SQLite file
    study_name: str = Field("attnlib", min_length=1)
    metric: Literal["val_loss"] = "val_loss"  # minimised; never a test-split number
    startup_trials: int = Field(2, ge=0)  # random (TPE) and never pruned (median) at first
    warmup_epochs: int = Field(1, ge=1)  # median pruner: epochs a trial trains before a verdict
    # a trial stops after this many epochs without a lower val loss and counts as complete
    # with its best epoch's loss (early stopping inside the trial); 0 = off
    patience: int = Field(1, ge=0)
    heartbeat_interval: int = Field(10, ge=1)  # seconds between a running trial's heartbeats
    grace_period: int = Field(60, ge=1)  # seconds without heartbeat before a trial is failed
    space: dict[str, Dim] = {}

    @field_validator("space", mode="before")
    @classmethod
    def _parse(cls, value: object) -> dict[str, Dim]:
        # ConfigError is not a ValueError, so pydantic lets it through with its full key path.
        return parse_space(value)

    @model_validator(mode="after")
    def _check(self) -> SearchConfig:
        if self.grace_period <= self.heartbeat_interval:
            raise ValueError(
                f"grace_period ({self.grace_period}) must exceed heartbeat_interval "
                f"({self.heartbeat_interval}) or live trials would be failed"
            )
        return self

    @classmethod
    def from_params(cls, data: dict | None) -> SearchConfig:
        """Validate the ``search`` section (errors name ``search.<key>``)."""
        return validate(cls, data, section="search")
