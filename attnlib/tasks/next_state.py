"""Next-state prediction: every position of a token sequence predicts the next token.

Data: token sequences, no label; whole sequences go to one split. Model: the causal
next-state head (position t attends to steps <= t), cross-entropy over real positions.
Evaluation: accuracy, top-k (``evaluate.top_k``), NLL and perplexity per real token beside
an interpolated Kneser-Ney n-gram model (order chosen on validation, refitted on train +
validation); a confusion plot of the most frequent states.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from torch import nn

from attnlib.data import SequenceData
from attnlib.encoding import encode_sequences, split_sequences
from attnlib.errors import DataError
from attnlib.models.heads import NextStateHead
from attnlib.scoring import score_batches, softmax, token_ids, top_k_columns
from attnlib.tasks import NEXT_STATE
from attnlib.tasks.base import (
    CardNotes,
    EvalContext,
    Evaluation,
    Task,
    cross_entropy_only,
    refuse_label_smoothing,
)
from attnlib.vocab import PAD_ID

PARITY_STEPS = 256  # export: streaming parity over at most this many steps per sequence


class NextState(Task):
    name = NEXT_STATE
    accepts = ("tokens",)
    needs = "token sequences"
    headline = "perplexity"
    unused_model_fields = frozenset({"num_classes", "horizon", "num_targets", "query"})
    cuts_windows = True
    step_predictions = True
    single_model = "streaming prediction (stream.onnx, predict --stream) keeps one model's state"
    auto_dropout = {"embedding_dropout": 0.1, "locked_dropout": 0.3, "weight_drop": 0.3}
    auto_dropout_why = (
        "a language model overfits its corpus within a few epochs: AWD-LSTM's word-type, "
        "locked and weight dropout (validated on the chorales and Hamlet, "
        "bench/results/recipe_validation.json)"
    )

    def encode(self, raw, kind, opt, *, source):
        return encode_sequences(
            raw,
            kind,
            opt,
            task=self.name,
            labelled=False,
            windows=self.cuts_windows,
            source=source,
        )

    def split(self, frame, *, source):
        return split_sequences(frame, source=source)

    def usable(self, frame: pl.DataFrame) -> pl.DataFrame:
        # a 1-token sequence has nothing to predict; dropped so rows stay aligned with tensors
        return frame.filter(pl.col("length") >= 2) if "length" in frame.columns else frame

    def tensors(self, frame, *, source) -> SequenceData:
        if "x" in frame.columns:
            raise DataError(f"{source}: task '{self.name}' is not supported for numeric series")
        return SequenceData.next_state(frame["ids"].to_list())

    def check_model(self, cfg) -> None:
        if cfg.name != "lstm_attention":
            raise ValueError(
                f"model '{cfg.name}' is bidirectional and would see the future: "
                f"{self.name} needs 'lstm_attention'"
            )
        if cfg.input_kind != "tokens":
            raise ValueError(f"{self.name} needs token input")

    def default_model(self, profile, known):
        return "lstm_attention", (
            "next-state prediction must not see the next token: the one-directional LSTM"
        )

    def default_linear_base(self, profile) -> tuple[bool, str]:
        return True, ("next-state prediction: the training split's Kneser-Ney model, its "
                      "order chosen on validation; its probabilities are mixed with the "
                      "network's at the weight with the lowest validation loss (0 drops it; "
                      "README, the Kneser-Ney partner)")  # fmt: skip

    def build_head(self, cfg, dim: int) -> nn.Module:
        return NextStateHead(dim, cfg.vocab_size, cfg.attention, cfg.dropout)

    def loss(self, cfg, train=None):
        refuse_label_smoothing(self.name, train)
        cross_entropy_only(self.name, train)

        def next_state_loss(logits, y):  # logits (B, T, V), y (B, T) with PAD_ID = no target
            return nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=PAD_ID
            )

        return next_state_loss

    def average(self, cfg, outputs):
        from attnlib.ensemble import mean_probability_logits

        return mean_probability_logits(outputs, binary=False)  # (B, T, V) log-probabilities

    def onnx_axes(self, cfg) -> dict:
        return {"output": {0: "batch", 1: "time"}, "attention": {0: "batch", 1: "time", 2: "time"}}

    def train_metrics(self, hist) -> dict:
        return {"val_perplexity": math.exp(hist.best_val_loss)}

    def score(self, ctx: EvalContext) -> Evaluation:
        from attnlib.baselines.ngram import kneser_ney_baseline
        from attnlib.evaluate import categorical, predict
        from attnlib.metrics import next_state_metrics
        from attnlib.trust.calibration import real_positions

        top_k = ctx.options.top_k  # model and baseline alike; the key is top{k}_accuracy
        logits, targets, _ = predict(ctx.model, ctx.test)
        metrics = next_state_metrics(logits, targets, top_k=top_k)
        actual = np.concatenate([t.reshape(-1).numpy() for t in targets])
        pred = np.concatenate([lg.argmax(-1).reshape(-1).numpy() for lg in logits])
        keep = actual != PAD_ID
        actual, pred = actual[keep], pred[keep]
        metrics["test_tokens"] = int(len(actual))
        metrics["test_sequences"] = len(ctx.test)
        # Kneser-Ney: order chosen on validation, refitted on train + val, scored on test
        seqs = (f["ids"].to_list() for f in ctx.splits)
        kn = kneser_ney_baseline(*seqs, len(ctx.saved.vocab), ctx.options.ngram_orders, top_k)
        report = {"model": metrics, "kneser_ney": kn}
        result = categorical(ctx, self.name, report, actual, pred, ctx.saved.vocab.itos)
        result.outputs["logits"] = real_positions(logits, targets, PAD_ID)[0]  # (N, V)
        return result

    def trust(self, ctx: EvalContext, result: Evaluation) -> dict:
        """Calibration and conformal sets over every real position; faithfulness of the
        prediction after each test sequence's last step (validation = calibration split)."""
        from attnlib.evaluate import predict
        from attnlib.trust.calibration import real_positions
        from attnlib.trust.checks import class_checks

        val = self.tensors(self.usable(ctx.splits[1]), source="validation split")
        z_val, y_val = real_positions(*predict(ctx.calibrator, val)[:2], PAD_ID)
        entries, result.outputs["saved"] = class_checks(
            ctx.model, ctx.test, z_val, y_val, result.outputs["logits"], result.outputs["actual"],
            options=ctx.options, seed=ctx.seed, plots=ctx.task_plots,
        )  # fmt: skip
        return ctx.noting_fit(entries)

    def heatmap(self, w, labels, steps, path, item):
        from attnlib.plots import attention_heatmap

        # row t: attention when predicting token t+1
        attention_heatmap(w[:steps, :steps], labels[:steps], path,
                          query_labels=[f"→{t}" for t in labels[1 : steps + 1]],
                          title=f"Attention, test sequence {item}")  # fmt: skip

    def predict(self, predictor, frame, *, top_k, attention, batch_size, sets=False):
        """One row per position: ``id``, ``step``, ``actual`` next token (None after the
        last), ``correct``, ``predicted``, ``top_k``, ``probabilities`` (calibrated)
        [, ``attention``] [, ``set_members``]."""
        from attnlib.trust.checks import SavedSets

        rule = SavedSets.of(predictor.trust) if sets else None
        tokens, seq_ids, ids, order = token_ids(predictor.meta, frame)
        names = predictor.meta.vocab.itos
        k = min(top_k, len(names))
        rows: list[dict] = []
        batches = score_batches(
            predictor, ids, order, pad=PAD_ID, dtype=np.int64, batch_size=batch_size
        )
        for i, out, w, n in batches:
            probs = softmax(out[:n])  # (n, V)
            for t in range(n):
                row = {"_order": i, "id": seq_ids[i], "step": t}
                has_next = t + 1 < n
                row["actual"] = tokens[i][t + 1] if has_next else None
                row["correct"] = bool(probs[t].argmax() == ids[i][t + 1]) if has_next else None
                weights = w[t, : t + 1] if attention else None
                key = f"{seq_ids[i]}\x1f{t}"  # (id, step): the row's own draw of U
                rows.append(top_k_columns(row, probs[t], names, k, weights, rule, key))
        return pl.DataFrame(rows).sort(["_order", "step"]).drop("_order")

    def export_extras(self, model, out, *, test, opset) -> dict:
        """``stream.onnx``: the streaming step graph (:mod:`attnlib.export_stream`), checked
        against eager streaming over the first test sequences."""
        from attnlib.export_stream import STREAM_FILE, export_stream_onnx, stream_parity

        if len(getattr(model, "members", ())) > 1:  # an Ensemble: one state per member
            return {"stream_onnx": f"not written: {self.single_model}; this model is an "
                    "ensemble (train.ensemble > 1)"}  # fmt: skip
        path = export_stream_onnx(model, out / STREAM_FILE, opset=opset)
        # a few sequences, each cut to PARITY_STEPS: one step at a time is slow in Python
        cut = test.lengths[:8].clamp(max=PARITY_STEPS).tolist()
        seqs = [test.x[i, :n].tolist() for i, n in enumerate(cut)]
        diff = stream_parity(model, path, seqs)
        return {"stream_onnx_max_abs_diff": diff, "stream_onnx_bytes": path.stat().st_size}

    def card(self, cfg) -> CardNotes:
        return CardNotes(
            attention=", causal: position t attends to steps <= t.",
            intended_use="Predict the next state of a categorical sequence (top-k with "
            "probabilities) and show which earlier steps the prediction attended to.",
            limits=(
                "`stream.onnx`: one streaming step (inputs `token`, `h`, `c`, `cache`, "
                "`length`, and `recent` with a Kneser-Ney partner; outputs `logits` and the "
                "next `h_out`, `c_out`, `cache_out`, `length_out` [, `recent_out`]), run with "
                "`attnlib.export_stream.OnnxStream`; "
                "`attnlib predict BUNDLE --stream` streams tokens from stdin.",
            ),
        )


TASK = NextState()
TASK.extend_report(TASK.trust)
