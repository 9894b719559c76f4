"""Sequence classification: one label per token sequence, text or numeric series.

Data: token sequences or numeric series with a ``label``; splits stratified by label,
whole sequences only. Model: a pooled attention head, one logit (2 classes, BCE) or K
logits (cross-entropy). Evaluation: accuracy and macro-F1 beside the majority class and
TF-IDF + linear SVM (text) or 1-NN Euclidean (series); a confusion plot.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import torch
from torch import nn

from attnlib.data import SequenceData
from attnlib.encoding import encode_sequences, split_sequences
from attnlib.errors import DataError
from attnlib.models.heads import PooledHead
from attnlib.scoring import bundle_scaler, class_probs, score_batches, token_ids, top_k_columns
from attnlib.tasks import CLASSIFY
from attnlib.tasks.base import CardNotes, EvalContext, Evaluation, Task, cross_entropy_only
from attnlib.tokenize import detokenize
from attnlib.vocab import PAD_ID


class Classify(Task):
    name = CLASSIFY
    accepts = ("tokens", "series")
    needs = "token sequences or numeric series"
    headline = "accuracy"
    unused_model_fields = frozenset({"horizon", "num_targets"})
    rotates_folds = True  # one label per independent sequence

    def encode(self, raw, kind, opt, *, source):
        if "label" not in raw.columns:
            raise DataError(f"{source}: task '{self.name}' needs a 'label' column (classes "
                            "under another name: ingest.label_column)")  # fmt: skip
        return encode_sequences(
            raw,
            kind,
            opt,
            task=self.name,
            labelled=True,
            windows=self.cuts_windows,
            source=source,
        )

    def split(self, frame, *, source):
        return split_sequences(frame, source=source)

    def tensors(self, frame, *, source) -> SequenceData:
        if "label_id" not in frame.columns:
            raise DataError(f"{source}: not a classification split (no 'label_id' column)")
        labels = frame["label_id"].to_list()
        if "x" in frame.columns:  # numeric series
            series = [np.asarray(v, dtype=np.float32) for v in frame["x"].to_list()]
            return SequenceData.numeric(series, np.asarray(labels, np.int64))
        return SequenceData.classify_tokens(frame["ids"].to_list(), labels)

    def default_model(self, profile, known):
        if profile.input_kind == "numeric" and "alstm_fcn" in known:
            return "alstm_fcn", ("numeric series classification: a fully convolutional arm "
                                 "beside the attention LSTM (ALSTM-FCN)")  # fmt: skip
        if profile.input_kind == "numeric":
            return "cnn_bilstm_attention", (
                "numeric series classification: a CNN front end before the BiLSTM"
            )
        return "bilstm_attention", (
            "token classification: the whole sequence is known, so read it in both directions"
        )

    def default_select(self, profile, small):
        if profile.n_targets < small:
            return "train", (
                f"{profile.n_targets} < {small} training sequences: a validation share of a "
                "few series rewards early, unsure epochs (ArrowHead: best validation loss "
                "at epochs 1-2 or a test accuracy of .64); the checkpoint with the lowest "
                "training loss over the whole budget, the UCR benchmarks' protocol (Wang "
                "et al. 2017, Fawaz et al. 2019)")  # fmt: skip
        return super().default_select(profile, small)

    def default_label_smoothing(self, profile):
        if profile.input_kind == "tokens":
            return 0.1, ("token classification: targets smoothed by 0.1 (on TREC-6 and Rotten "
                         "Tomatoes validation accuracy +3.5 and +2.6 points, validation loss "
                         "lower; bench/results/recipe_validation.json)")  # fmt: skip
        return 0.0, ("numeric series: validation splits of a few dozen series, all or nearly "
                     "all right, cannot show what smoothing does: off")  # fmt: skip

    def default_linear_base(self, profile) -> tuple[bool, str]:
        if profile.input_kind == "tokens":
            return True, ("token classification: a logistic regression on n-grams (words: "
                          "1-2, characters: 1-5), fitted first; its probabilities are mixed "
                          "with the network's at the weight with the lowest validation loss "
                          "(0 drops it; README, Classification)")  # fmt: skip
        return True, ("numeric series: a logistic regression on random convolution-kernel "
                      "features (MiniRocket), fitted first; its probabilities are mixed with "
                      "the network's at the weight with the lowest validation loss (0 drops "
                      "it), half and half under train.select: train, where validation holds "
                      "a few series (README, the kernel partner)")  # fmt: skip

    def build_head(self, cfg, dim: int) -> nn.Module:
        binary = cfg.num_classes == 2  # one logit, squeezed to (B,)
        out = 1 if binary else cfg.num_classes
        return PooledHead(dim, out, cfg.attention, cfg.query, cfg.dropout,
                          shape=() if binary else None)  # fmt: skip

    def loss(self, cfg, train=None):
        cross_entropy_only(self.name, train)
        # train.label_smoothing trains towards (1 - eps) one_hot + eps / K: cross-entropy's
        # own option for K > 2; the one-logit binary case smooths its 0/1 targets (K = 2)
        eps = train.label_smoothing if train is not None else 0.0
        if cfg.num_classes == 2:
            return lambda logit, y: nn.functional.binary_cross_entropy_with_logits(
                logit, y.float() * (1 - eps) + eps / 2
            )
        return lambda logits, y: nn.functional.cross_entropy(logits, y, label_smoothing=eps)

    def average(self, cfg, outputs):
        from attnlib.ensemble import mean_probability_logits

        return mean_probability_logits(outputs, binary=cfg.num_classes == 2)  # (B,) | (B, K)

    def onnx_axes(self, cfg) -> dict:
        # the CNN front end pools time, so pooled-head attention spans ceil(T / pool) steps
        steps = "steps" if cfg.name == "cnn_bilstm_attention" else "time"
        return {"output": {0: "batch"}, "attention": {0: "batch", 1: steps}}

    def score(self, ctx: EvalContext) -> Evaluation:
        from attnlib.evaluate import categorical, predict
        from attnlib.metrics import classification_metrics

        names = list(ctx.saved.label_map)
        outputs, targets, _ = predict(ctx.model, ctx.test)
        scores, y = torch.cat(outputs), torch.cat(targets)
        pred = (scores > 0).long() if scores.ndim == 1 else scores.argmax(-1)
        metrics = classification_metrics(scores, y, len(names))
        metrics["test_sequences"] = len(ctx.test)
        report = {"model": metrics, **self.baselines(ctx, len(names))}
        result = categorical(ctx, self.name, report, y.numpy(), pred.numpy(), names)
        result.outputs["logits"] = scores.numpy()  # (N,) binary or (N, K): the trust checks
        return result

    def trust(self, ctx: EvalContext, result: Evaluation) -> dict:
        """Calibration, conformal sets and faithfulness (validation = calibration split)."""
        from attnlib.evaluate import predict
        from attnlib.trust.checks import class_checks

        outs, ys = [], []
        for model, rows in ctx.calibration_sets(self):
            o, y, _ = predict(model, self.tensors(rows, source="validation split"))
            outs, ys = outs + o, ys + y
        entries, result.outputs["saved"] = class_checks(
            ctx.model, ctx.test, torch.cat(outs).numpy(), torch.cat(ys).numpy(),
            result.outputs["logits"], result.outputs["actual"], options=ctx.options,
            seed=ctx.seed, plots=ctx.task_plots,
        )  # fmt: skip
        return ctx.noting_fit(entries)

    def baselines(self, ctx: EvalContext, num_classes: int) -> dict:
        """Majority class, and TF-IDF + LinearSVC (text) or 1-NN Euclidean (series), fitted
        on train + val and scored like the model: ``{name: {"accuracy", "macro_f1"}}``."""
        from attnlib.baselines import classic
        from attnlib.metrics import classification_metrics

        train, val, test = ctx.splits
        fit = pl.concat([train, val], how="diagonal_relaxed")
        fit_y, y = fit["label_id"].to_list(), np.asarray(test["label_id"].to_list(), np.int64)
        preds = {"majority": classic.majority(fit_y, len(y))}
        if "tokens" in fit.columns:
            spec = ctx.meta.get("input", {}).get("text")  # characters: the SVM sees words
            fit_x, test_x = ([detokenize(t, spec) for t in f["tokens"].to_list()]
                             for f in (fit, test))  # fmt: skip
            preds["tfidf_svm"] = classic.tfidf_svm(fit_x, fit_y, test_x, seed=ctx.seed)
        else:
            fit_x, test_x = ([np.asarray(v, dtype=np.float64) for v in f["values"].to_list()]
                             for f in (fit, test))  # fmt: skip
            preds["nn1_euclidean"] = classic.nn1_euclidean(fit_x, fit_y, test_x)
        return {name: classification_metrics(p, y, num_classes) for name, p in preds.items()}

    def predict(self, predictor, frame, *, top_k, attention, batch_size, sets=False):
        """One row per sequence: ``id``, [``actual``], ``predicted``, ``top_k``,
        ``probabilities`` (calibrated) [, ``attention`` over its steps] [, ``set_members``]."""
        from attnlib.trust.checks import SavedSets

        rule = SavedSets.of(predictor.trust) if sets else None
        names = list(predictor.meta.label_map or [])
        k = min(top_k, len(names))
        labels = frame["label"].to_list() if "label" in frame.columns else None
        if "tokens" not in frame.columns and "values" in frame.columns:  # numeric series
            _, scaler = bundle_scaler(predictor)
            seqs = [scaler.transform(np.asarray(v, dtype=np.float64))
                    for v in frame["values"].to_list()]  # fmt: skip
            seq_ids, order, pad, dtype = frame["id"].to_list(), range(len(seqs)), 0.0, np.float32
        else:
            _, seq_ids, seqs, order = token_ids(predictor.meta, frame)
            pad, dtype = PAD_ID, np.int64
        rows = []
        batches = score_batches(predictor, seqs, order, pad=pad, dtype=dtype, batch_size=batch_size)
        for i, out, w, n in batches:
            row = {"_order": i, "id": seq_ids[i]}
            if labels is not None:
                row["actual"] = labels[i]
            weights = w[:n] if attention else None
            rows.append(top_k_columns(row, class_probs(out), names, k, weights, rule, seq_ids[i]))
        return pl.DataFrame(rows).sort("_order").drop("_order")

    def card(self, cfg) -> CardNotes:
        return CardNotes(
            attention=".",
            intended_use="Classify whole sequences (tokens, text or numeric series) with "
            "per-step attention weights as an explanation.",
        )


TASK = Classify()
TASK.extend_report(TASK.trust)
