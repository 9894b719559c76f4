"""Data-aware defaults: what ``auto`` means for each param, decided from the data.

Every rule reads only the shape of the training data (how many examples, how long, how
many channels, classes and vocabulary entries, token or numeric input): never a data
set's name and never the test split. Each choice comes with one line saying why; the
stages log those lines and write them to ``metrics/train.json`` so ``dvc exp show`` shows
them. A value set by hand is kept as it is (and said to be so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from attnlib.config import AUTO_KEYS, TrainSection, validate
from attnlib.data import SequenceData
from attnlib.tasks import get_task

AUTO = "auto"
SMALL = 500  # training targets below which validation is too small to steer much
TARGET_STEPS = 2000  # optimiser steps an `auto` epoch budget aims at (early stopping ends it)
ENSEMBLE_BELOW = 20_000  # training targets below which `auto` averages several members
ENSEMBLE_MEMBERS = 3
# optimiser steps a search trial needs before its validation loss says where a
# configuration ends: a tenth of TARGET_STEPS. Shorter trials rank early speed (high
# learning rates, no dropout win): on the chorales (16 batches an epoch, 6-epoch trials:
# 96 steps) the searched params ended at validation loss 3.399, the unsearched defaults at
# 3.338. On Rotten Tomatoes (366 steps a trial; best epochs 1-4) the search helped:
# validation loss 0.466 searched, 0.491 not (means of 3 seeds' ensembles).
TRIAL_STEPS = TARGET_STEPS // 10
REGULARISED_FACTOR = 3  # epoch budget x this under AWD-LSTM's locked / weight dropout
# Series-steps (training series x mean real steps x epochs) the auto budget is cut to under
# select: train, where no validation early stopping ends it (only a training loss that
# stops falling for `patience` epochs, rare under the cosine schedule). The largest budget
# run whole before the cut was OSULeaf's (159 series of 427 steps x 100 epochs: 6.8 M, ~16
# min a seed on 2 cores); ACSF1's 1,460-step series at the step rule would need 23 M.
# Never under MIN_EPOCHS epochs or train.min_steps optimiser steps, so small sets of long
# series can pass it (ACSF1: 11.7 M).
WHOLE_BUDGET_STEPS = 8_000_000
MIN_EPOCHS = 10


@dataclass(frozen=True)
class DataProfile:
    """The facts about the training data that the rules read."""

    task: str
    input_kind: str  # "tokens" | "numeric"
    n_train: int  # training examples (sequences; forecast: windows)
    mean_length: float  # real steps per example
    max_length: int
    n_targets: int = 0  # predictions the loss averages (next_state: one per step; else n)
    channels: int = 0  # numeric: values per step
    vocab_size: int = 0  # tokens: vocabulary size, <pad> and <unk> included
    num_classes: int = 0  # classify: classes

    @classmethod
    def of(cls, task: str, data: SequenceData, vocab_size: int = 0, num_classes: int = 0):
        numeric = data.x.dim() == 3  # (N, T, C) values, else (N, T) token ids
        lengths = data.lengths.double()
        return cls(
            task=task,
            input_kind="numeric" if numeric else "tokens",
            n_train=len(data),
            mean_length=float(lengths.mean()),
            max_length=int(lengths.max()),
            n_targets=int(data.lengths.sum()) if data.y_per_step else len(data),
            channels=int(data.x.shape[-1]) if numeric else 0,
            vocab_size=vocab_size,
            num_classes=num_classes,
        )

    @classmethod
    def of_fields(cls, task: str, data: SequenceData, fields: dict) -> DataProfile:
        """The profile from the training tensors and the model fields the data fixes."""
        return cls.of(task, data, fields.get("vocab_size", 0), fields.get("num_classes", 0))

    def describe(self) -> str:
        kind = f"{self.channels}-channel series" if self.input_kind == "numeric" else "tokens"
        return (f"{self.n_train} training examples of {kind}, "
                f"mean length {self.mean_length:.0f}, max {self.max_length}")  # fmt: skip


@dataclass(frozen=True)
class Choice:
    """One resolved param: its value and the one-line reason."""

    key: str
    value: object
    why: str

    def line(self) -> str:
        return f"{self.key} = {self.value}: {self.why}"


def model_name(p: DataProfile, known: tuple[str, ...]) -> Choice:
    """The architecture for this task and input: the task's rule
    (:meth:`attnlib.tasks.base.Task.default_model`)."""
    name, why = get_task(p.task).default_model(p, known)
    return Choice("name", name, why)


def batch_size(p: DataProfile) -> Choice:
    """About n/16 examples a batch, a power of two in [8, 64]: small data gets many steps."""
    raw = min(max(p.n_train / 16, 8), 64)
    size = 2 ** round(math.log2(raw))
    return Choice("batch_size", size, f"{p.n_train} training examples: about n/16 per "
                  "batch, a power of two between 8 and 64")  # fmt: skip


def epochs(p: DataProfile, batch: int, regularised: bool = False, whole: bool = False,
           min_steps: int = 0) -> tuple[Choice, Choice]:  # fmt: skip
    """An epoch budget of at least TARGET_STEPS optimiser steps and 30 epochs (at most
    1000), and a patience of a fifth of it (at least 5): early stopping ends it.

    ``whole`` (select: train, where validation does not end the budget): cut to
    WHOLE_BUDGET_STEPS series-steps, so that long series do not multiply the time of a run
    by their length; but never under MIN_EPOCHS epochs or ``min_steps`` optimiser steps
    (``train.min_steps``, which :func:`attnlib.train.budget` would enforce anyway), and
    never above the step rule's budget.

    ``regularised`` (AWD-LSTM's locked or weight dropout on): the budget is
    REGULARISED_FACTOR times larger, the patience the same. Such a model keeps improving
    long after a plain one has stopped: Hamlet's best epoch was 141-153 of a 154-epoch
    budget, and 244 with a budget of 400 (validation loss 1.798 -> 1.770).
    """
    per_epoch = max(1, math.ceil(p.n_train / batch))  # batches (optimiser steps) an epoch
    n = min(1000, max(30, math.ceil(TARGET_STEPS / per_epoch)))
    patience = max(5, n // 5)
    why = f"{per_epoch} batches an epoch: at least {TARGET_STEPS} steps and 30 epochs"
    if regularised:
        n = min(1000, n * REGULARISED_FACTOR)
        why += (f", x{REGULARISED_FACTOR} under locked / weight dropout (slower to converge; "
                "patience still ends it)")  # fmt: skip
    per_epoch_steps = p.n_train * p.mean_length  # series-steps (not optimiser steps) an epoch
    patience_why = "a fifth of the (unregularised) epoch budget, at least 5"
    floor = max(MIN_EPOCHS, math.ceil(min_steps / per_epoch))  # what fit would run anyway
    cut = max(floor, math.floor(WHOLE_BUDGET_STEPS / per_epoch_steps))
    if whole and cut < n:
        n, patience = cut, min(patience, max(5, cut // 5))
        patience_why = "a fifth of the cut epoch budget, at least 5"
        steps = f" or train.min_steps ({min_steps}) optimiser steps" if min_steps else ""
        why += (f"; validation does not end it (select: train), so it is cut to about "
                f"{WHOLE_BUDGET_STEPS / 1e6:g} M series-steps ({p.n_train} series x "
                f"{p.mean_length:.0f} steps an epoch), never under {MIN_EPOCHS} epochs"
                f"{steps}: {n} epochs")  # fmt: skip
    return Choice("epochs", n, why), Choice("patience", patience, patience_why)


def select(p: DataProfile) -> Choice:
    """The loss the checkpoint is chosen on: the task's rule
    (:meth:`attnlib.tasks.base.Task.default_select`)."""
    value, why = get_task(p.task).default_select(p, SMALL)
    return Choice("select", value, why)


def schedule(selected: str) -> Choice:
    """A cosine lr schedule where the checkpoint is chosen on the training loss: the whole
    budget runs, and the annealed end gives a converged checkpoint (a constant lr leaves
    the lowest-loss epoch wherever an oscillation happens to dip)."""
    if selected == "train":
        return Choice("schedule", "cosine", "the checkpoint is chosen on the training loss over "
                      "the whole budget: the lr anneals to 0 so its end converges (ArrowHead, "
                      "single models, seeds 0-2: test accuracy .766 at a constant lr, .846 "
                      "cosine)")  # fmt: skip
    return Choice("schedule", "none", "validation early stopping ends the run before a "
                  "schedule would: a constant lr")  # fmt: skip


def refit(p: DataProfile, selected: str) -> Choice:
    """A refit on train + validation where validation chose nothing (``select: train``):
    the validation series then train the kept model too, once the first fit's held-out
    predictions have calibrated it; after validation early stopping, where the task's rule
    asks for one (:meth:`attnlib.tasks.base.Task.default_refit`)."""
    if selected == "train":
        return Choice("refit", True, "the checkpoint is chosen on the training loss: the "
                      "first model's validation predictions calibrate, then a new model "
                      "trains on train + validation for the same budget")  # fmt: skip
    task_rule = get_task(p.task).default_refit(p)
    if task_rule is not None:
        return Choice("refit", *task_rule)
    return Choice("refit", False, "validation chose the checkpoint: a refit would train "
                  "on it blind (measured: gains on some sets, losses on others)")  # fmt: skip


def val_share(n_examples: int, sequences: bool = True) -> Choice:
    """The validation share of the data: larger when there are few sequences.

    ``sequences=False`` (one long series cut into windows): the forecasting split holds
    whole horizons at the end, and 10 % keeps the training span long.
    """
    if not sequences:
        return Choice("val", 0.1, f"one series of {n_examples} steps: the last horizons")
    share = 0.2 if n_examples < 2 * SMALL else 0.1
    return Choice("val", share, f"{n_examples} sequences: {share:.0%} for validation "
                  "(early stopping and calibration need enough of them)")  # fmt: skip


def resolve_val(val: float | str, n_examples: int, sequences: bool = True) -> tuple:
    """``split.val`` as a fraction: (value, the choice made or None when set by hand)."""
    if val != AUTO:
        return float(val), None
    choice = val_share(n_examples, sequences)
    return choice.value, choice


def ensemble(p: DataProfile) -> Choice:
    """Small data: average a few members trained from different seeds.

    On a few thousand examples the test figure moves by several points with nothing but
    the seed (initialisation, batch order); the mean of the members' probabilities moves
    far less, is better calibrated, and each member is cheap to train at that size.
    """
    single = get_task(p.task).single_model
    if single:
        return Choice("ensemble", 1, f"one model: {single}")
    if p.n_targets < ENSEMBLE_BELOW:
        return Choice("ensemble", ENSEMBLE_MEMBERS, f"{p.n_targets} < {ENSEMBLE_BELOW:,} "
                      f"training targets: {ENSEMBLE_MEMBERS} members from seeds seed, seed + 1, "
                      "... averaged (a single run's figure is mostly its seed)")  # fmt: skip
    return Choice("ensemble", 1, f"{p.n_targets} >= {ENSEMBLE_BELOW:,} training targets: "
                  "one model")  # fmt: skip


DROPOUT_KEYS = ("embedding_dropout", "locked_dropout", "weight_drop")


def dropout(p: DataProfile) -> tuple[Choice, ...]:
    """AWD-LSTM's word-type (embedding), locked and weight dropout where the task asks for
    them (next-state language models); embedding dropout needs token input."""
    task = get_task(p.task)
    rates = {k: task.auto_dropout.get(k, 0.0) for k in DROPOUT_KEYS}
    if p.input_kind != "tokens":
        rates["embedding_dropout"] = 0.0
    return tuple(Choice(k, v, task.auto_dropout_why) for k, v in rates.items())


def label_smoothing(p: DataProfile) -> Choice:
    """Smoothed class targets where the task's rule asks for them
    (:meth:`attnlib.tasks.base.Task.default_label_smoothing`)."""
    eps, why = get_task(p.task).default_label_smoothing(p)
    return Choice("label_smoothing", eps, why)


def search_enabled(p: DataProfile, trial_epochs: int, batch: int) -> Choice:
    """Search only where validation can rank trials, and where a trial is long enough to
    rank what a configuration reaches rather than how fast it starts (``search.enabled:
    auto``; ``trial_epochs`` is ``search.epochs``, ``batch`` the train batch size)."""
    if p.n_targets < SMALL:
        return Choice("enabled", False, f"{p.n_targets} < {SMALL} training targets: trial "
                      "rankings on so small a validation split are noise")  # fmt: skip
    steps = trial_epochs * max(1, math.ceil(p.n_train / batch))
    if steps < TRIAL_STEPS:
        return Choice("enabled", False, f"a trial of {trial_epochs} epochs is {steps} "
                      f"optimiser steps (< {TRIAL_STEPS}): it would rank how fast a "
                      "configuration starts, not where it ends; raise search.epochs to "
                      "search")  # fmt: skip
    return Choice("enabled", True, f"{p.n_targets} training targets, {steps} optimiser "
                  "steps a trial")  # fmt: skip


def resolve_train(p: DataProfile, requested: dict, known_models: tuple[str, ...]) -> tuple:
    """Replace every ``auto`` among the train params the rules cover.

    Args:
        p: the training data's profile.
        requested: the train section as given (values or ``"auto"``).
        known_models: registered model names (an ``auto`` never picks an unknown one).
    Returns:
        (resolved params, the choices made, one per ``auto`` replaced).
    """
    out, made = dict(requested), []

    def take(choice: Choice) -> None:
        if out.get(choice.key) == AUTO:
            out[choice.key] = choice.value
            made.append(choice)

    take(model_name(p, known_models))
    take(batch_size(p))
    for c in dropout(p):
        take(c)
    take(label_smoothing(p))
    take(Choice("linear_base", *get_task(p.task).default_linear_base(p)))
    take(select(p))
    bs = out.get("batch_size")
    regularised = any((out.get(k) or 0) > 0 for k in ("locked_dropout", "weight_drop"))
    whole = out.get("select") == "train"
    for c in epochs(p, bs if isinstance(bs, int) else batch_size(p).value, regularised,
                    whole=whole, min_steps=out.get("min_steps") or 0):  # fmt: skip
        take(c)
    take(schedule(out.get("select")))
    take(refit(p, out.get("select")))
    take(ensemble(p))
    return out, made


def resolve_search(
    enabled: bool | str, p: DataProfile, trial_epochs: int, batch: int
) -> tuple[bool, Choice | None]:
    """``search.enabled``: (whether to search, the choice made or None when set by hand)."""
    if enabled != AUTO:
        return bool(enabled), None
    choice = search_enabled(p, trial_epochs, batch)
    return choice.value, choice


def auto_metrics(choices: list[Choice], meta: dict | None = None) -> dict:
    """``metrics/train.json`` entries: what each ``auto`` became and why (``meta``: the
    encode stage's record, holding its own choices such as ``split.val``)."""
    choices = [Choice(**c) for c in (meta or {}).get("auto", [])] + list(choices)
    if not choices:
        return {}
    return {"auto": {c.key: c.value for c in choices}, "auto_why": {c.key: c.why for c in choices}}


def resolve_section(section: dict | None, p: DataProfile | None) -> tuple[dict, list[Choice]]:
    """The ``train`` section with its ``auto`` values decided from the data profile ``p``.

    The section is validated first (errors name the key); without a profile it is
    returned as given (:func:`attnlib.config.train_configs` then takes the defaults).
    """
    values = validate(TrainSection, section, section="train").model_dump()
    if p is None or not any(values[k] == AUTO for k in AUTO_KEYS):
        return values, []
    from attnlib.models import MODELS  # the registry imports every model: only when needed

    return resolve_train(p, values, tuple(MODELS))
