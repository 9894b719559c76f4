"""The series classifier's kernel partner: MiniRocket features, a logistic regression, mixed
in on validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.auto import DataProfile, resolve_train
from attnlib.config import ModelConfig
from attnlib.data import Batches, SequenceData
from attnlib.export import export_onnx, parity_check
from attnlib.models import build_model
from attnlib.models.kernel_partner import KERNELS, PENALTIES, PER_KERNEL, plan
from attnlib.models.partner import fit_partner, mix_again, refit_partner, set_mix, split_logits
from attnlib.persistence import load_model, save_model
from tests.partners import assert_alone_equals_padded, assert_scorer_reads_the_mixed_model

TINY = dict(hidden_dim=4, fcn_filters=(4, 4, 4), embedding_dim=4)


def _cfg(name: str = "alstm_fcn", channels: int = 1, classes: int = 2, length: int = 40,
         levels: int = 0):  # fmt: skip
    return ModelConfig(name=name, task="classify", input_kind="numeric", input_dim=channels,
                       num_classes=classes, linear_base=True, kernel_length=length,
                       level_channels=levels, **TINY)  # fmt: skip


def _waves(n: int, seed: int, channels: int = 1, classes: int = 2) -> SequenceData:
    """Noisy sines whose frequency is the class (3 + 3 x class cycles over the series), of
    lengths 24..40; with several channels only the last carries the class."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(24, 41, (n,), generator=g)
    y = torch.arange(n) % classes
    t = torch.arange(40).float()
    x = 0.3 * torch.randn(n, 40, channels, generator=g)
    phase = 6.28 * torch.rand(n, 1, generator=g)
    x[:, :, -1] += torch.sin(6.2832 * (3 + 3 * y[:, None]) * t / 40 + phase)
    x *= (t[None, :, None] < lengths[:, None, None]).float()  # padding is zero, as encoded
    return SequenceData(x, lengths, y)


@pytest.mark.parametrize("length", [5, 9, 24, 150, 1460])
def test_the_plan_spreads_119_thresholds_a_kernel_over_dilations_up_to_a_ninth_of_the_length(
    length,
):
    p = plan(length)
    dilations = [d for d, _ in p]
    assert sum(q for _, q in p) == PER_KERNEL and all(q > 0 for _, q in p)
    assert dilations[0] == 1 and dilations == sorted(set(dilations))
    assert dilations[-1] <= max(1, (length - 1) / 8)
    assert (len(p) > 4) == (length > 100)  # long series get many dilations, short ones one or two


@pytest.mark.parametrize(("channels", "classes"), [(1, 2), (3, 3)])
def test_the_partner_is_scikit_learns_logistic_regression_on_standardised_features(
    channels, classes
):
    from sklearn.linear_model import LogisticRegression

    train = _waves(60, seed=1, channels=channels, classes=classes)
    val = _waves(30, seed=2, channels=channels, classes=classes)
    torch.manual_seed(0)
    model = build_model(_cfg(channels=channels, classes=classes)).eval()
    report = fit_partner(model, train, val)
    assert report["penalty"] in PENALTIES
    f = model.partner.matrix(train)
    assert f.shape == (60, KERNELS * PER_KERNEL)
    used = f.std(0) > 0  # constant features are left unscaled and get weight ~0
    assert np.allclose(f[:, used].mean(0), 0, atol=1e-5)
    assert np.allclose(f[:, used].std(0), 1, atol=1e-3)
    lr = LogisticRegression(C=report["penalty"], max_iter=2000).fit(f, train.y.numpy())
    ours = split_logits(model.partner, val)
    expected = torch.from_numpy(lr.decision_function(model.partner.matrix(val))).float()
    if classes > 2:  # softmax logits are defined up to a constant per row
        ours = ours - ours.mean(1, keepdim=True)
        expected = expected - expected.mean(1, keepdim=True)
    assert torch.allclose(ours, expected, atol=1e-3)
    pred = (ours > 0).long() if classes == 2 else ours.argmax(1)
    assert (pred == val.y).float().mean() >= 0.9  # frequency is what kernels see


def test_each_kernel_sums_a_random_subset_of_channels_and_members_differ():
    train = _waves(40, seed=3, channels=12)
    picks = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = build_model(_cfg(channels=12))
        model.partner.prepare(train)
        ch = model.partner.channels
        assert set(ch.unique().tolist()) == {0.0, 1.0}
        per_kernel = ch.sum(-1)
        assert per_kernel.min() >= 1 and per_kernel.max() <= 9
        assert len(per_kernel.unique()) > 1  # MiniRocket's multivariate form: 1 to 9 of them
        picks.append(model.partner.thresholds.clone())
    assert not torch.equal(*picks)


@pytest.mark.parametrize("name", ["alstm_fcn", "bilstm_attention"])
def test_a_series_alone_equals_it_padded_beside_longer_ones(name):
    train, val = _waves(40, seed=4), _waves(20, seed=5)
    torch.manual_seed(0)
    model = assert_alone_equals_padded(build_model(_cfg(name)), train, val, atol=1e-5)
    assert_scorer_reads_the_mixed_model(model, val)
    mixed = model.partner.combine(torch.zeros(len(val)), val.x, val.lengths)
    assert not torch.allclose(mixed, torch.zeros(len(val)))  # the partner really takes part


def test_saved_and_exported_models_keep_the_mixed_partner(tmp_path):
    train, val = _waves(40, seed=6, channels=2, classes=3), _waves(21, seed=7, channels=2,
                                                                    classes=3)  # fmt: skip
    torch.manual_seed(0)
    model = build_model(_cfg(channels=2, classes=3))
    fit_partner(model, train, val)
    set_mix(model.partner, 0.3)
    model.eval()
    save_model(tmp_path / "m", model, label_map=["a", "b", "c"])
    loaded, _ = load_model(tmp_path / "m")
    assert loaded.partner.active and torch.equal(loaded.partner.channels, model.partner.channels)
    assert torch.equal(loaded(val.x, val.lengths), model(val.x, val.lengths))
    example = next(iter(Batches(val, batch_size=4)))
    path = export_onnx(model, tmp_path / "model.onnx", example=example)
    assert parity_check(model, path, Batches(val, batch_size=7)) <= 1e-4


def test_a_refit_draws_its_tables_from_train_and_val_with_the_first_fits_choices():
    train, val = _waves(40, seed=8), _waves(20, seed=9)
    torch.manual_seed(3)
    first = build_model(_cfg())
    report = {**fit_partner(first, train, val), "mix": 0.4}
    torch.manual_seed(3)
    again = build_model(_cfg())
    refit_partner(again, SequenceData.concat(train, val), report)
    assert not again.partner.active  # the refit's network trains and is evaluated alone ...
    mix_again(again, report)
    assert float(again.partner.mix) == pytest.approx(0.4) and again.partner.active  # ... then
    assert torch.equal(again.partner.channels, first.partner.channels)  # the same draws ...
    assert not torch.equal(again.partner.center, first.partner.center)  # ... on more series


def test_auto_and_the_encode_stage_give_series_classifiers_the_partner(tmp_path):
    import polars as pl

    from attnlib.encoding import EncodeOptions, encode_sequences

    p = DataProfile("classify", "numeric", n_train=60, mean_length=30.0, max_length=40,
                    n_targets=60)  # fmt: skip
    out, made = resolve_train(p, {"linear_base": "auto"}, ("alstm_fcn",))
    assert out["linear_base"] is True and "MiniRocket" in made[0].why
    n = 24
    raw = pl.DataFrame({"id": [str(i) for i in range(n)],
                        "values": [[[float(j)] for j in range(10 + 3 * i)] for i in range(n)],
                        "label": ["a", "b"] * (n // 2),
                        "split": ["train"] * 16 + ["test"] * 8})  # fmt: skip
    frame, meta = encode_sequences(raw, "numeric", EncodeOptions(val=0.25), task="classify",
                                   labelled=True, source=tmp_path / "f.parquet")  # fmt: skip
    train = frame.filter(pl.col("split") == "train")
    assert len(train) == 12  # the validation share carved from the shipped train rows
    assert meta["model_fields"]["kernel_length"] == int(train["values"].list.len().median())


@pytest.mark.parametrize("select", ["val", "train"])
def test_the_weight_is_chosen_on_validation_unless_it_holds_a_few_series(select):
    from attnlib.config import TrainConfig
    from attnlib.fitting import build_and_fit
    from attnlib.models.partner import EQUAL, MIXES

    train, val = _waves(40, seed=10), _waves(12, seed=11)
    tc = TrainConfig(batch_size=8, lr=1e-2, epochs=2, patience=2, select=select,
                     refit=select == "train", progress=False)  # fmt: skip
    model, hist = build_and_fit(_cfg(), tc, train, val)
    report = hist.linear_base
    if select == "train":
        assert report["mix"] == EQUAL and "few series" in report["mix_rule"]
    else:
        assert report["mix"] in MIXES and "mix_rule" not in report
        assert report["mixed_val_loss"] <= report["network_val_loss"]
    assert float(model.partner.mix) == pytest.approx(report["mix"])


def test_the_features_prepare_returns_are_those_the_model_computes():
    train = _waves(30, seed=12, channels=2)
    model = build_model(_cfg(channels=2))
    assert np.array_equal(model.partner.prepare(train), model.partner.matrix(train))


def test_the_model_card_says_whether_validation_chose_the_weight():
    from attnlib.card import model_card
    from attnlib.persistence import ModelMeta

    chosen = {"linear_base": {"mix": 0.3}}
    equal = {"members": [{"linear_base": {"mix": 0.5, "mix_rule": "equal: ..."}}] * 2}
    lines = {}
    for name, metrics in (("chosen", chosen), ("equal", equal)):
        card = model_card(ModelMeta(_cfg(), metrics=metrics), data={}, eval_metrics={},
                          export_metrics={})  # fmt: skip
        lines[name] = card.split("## Model\n", 1)[1].splitlines()[0]
    assert (
        "random convolution-kernel features (MiniRocket), at the weight validation chose "
        "(0.3)" in lines["chosen"]
    )
    assert "at half and half (a validation split of a few series" in lines["equal"]


def _scaled(n: int, seed: int) -> SequenceData:
    """Noisy sines of one shape whose amplitude is the class (1 or 30), each series then
    standardised by its own scale with the scale kept as two constant channels
    (encode.normalize: series): only those channels tell the classes apart."""
    from attnlib.scaling import Standardizer

    g = np.random.default_rng(seed)
    y = np.arange(n) % 2
    lengths = g.integers(24, 41, n)
    raw = [(1 + 29 * c) * (np.sin(np.arange(t) / 3 + g.uniform(0, 6.28))[:, None]
                           + 0.3 * g.standard_normal((t, 1)))
           for c, t in zip(y, lengths, strict=True)]  # fmt: skip
    scaler = Standardizer.fit(raw, per_series=True)  # the test's own train statistics
    x = torch.zeros(n, 40, scaler.features)
    for i, a in enumerate(raw):
        x[i, : len(a)] = torch.from_numpy(scaler.transform(a))
    return SequenceData(x, torch.from_numpy(lengths), torch.from_numpy(y))


def test_scale_channels_skip_the_kernels_and_join_the_features_as_they_are():
    train, val = _scaled(60, seed=13), _scaled(40, seed=14)
    torch.manual_seed(0)
    model = build_model(_cfg(channels=3, levels=2))
    assert model.partner.channels.shape[-1] == 1  # the kernels read the series channel only
    report = fit_partner(model, train, val)
    weight = (KERNELS * PER_KERNEL / 2) ** 0.5  # the scale block's share: the kernels'
    assert report["level_weight"] == pytest.approx(weight, abs=1e-4)  # chosen over 0
    f = model.partner.matrix(val)
    assert f.shape == (40, KERNELS * PER_KERNEL + 2)
    levels = val.x[:, 0, 1:].double().numpy()  # as encoded, then standardised on train
    center, scale = model.partner.center[-2:].double(), model.partner.scale[-2:].double()
    assert np.allclose(f[:, -2:], weight * (levels - center.numpy()) / scale.numpy(), atol=1e-3)
    pred = (split_logits(model.partner, val) > 0).long()
    assert (pred == val.y).float().mean() == 1.0  # the amplitude alone tells them apart
    # the shapes carry nothing: every series standardised by its own scale looks alike
    kernels_only = LogisticRegression_accuracy(model.partner.matrix(train)[:, :-2], train.y,
                                               f[:, :-2], val.y)  # fmt: skip
    assert kernels_only < 0.8


def LogisticRegression_accuracy(x, y, x_val, y_val) -> float:  # noqa: N802
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=0.1, max_iter=2000).fit(x, y.numpy())
    return float((lr.predict(x_val) == y_val.numpy()).mean())


def test_a_series_with_scale_channels_alone_equals_it_padded_and_survives_save_and_export(
    tmp_path,
):
    train, val = _scaled(40, seed=15), _scaled(20, seed=16)
    torch.manual_seed(0)
    model = assert_alone_equals_padded(build_model(_cfg(channels=3, levels=2)), train, val,
                                       atol=1e-5)  # fmt: skip
    save_model(tmp_path / "m", model, label_map=["small", "large"])
    loaded, _ = load_model(tmp_path / "m")
    assert loaded.partner.levels == 2
    assert torch.equal(loaded(val.x, val.lengths), model(val.x, val.lengths))
    path = export_onnx(model, tmp_path / "model.onnx", example=next(iter(Batches(val, 4))))
    assert parity_check(model, path, Batches(val, batch_size=7)) <= 1e-4


def test_a_training_split_of_one_class_leaves_the_scaled_partner_unused():
    train, val = _scaled(20, seed=17), _scaled(10, seed=18)
    train = SequenceData(train.x, train.lengths, torch.zeros_like(train.y))
    model = build_model(_cfg(channels=3, levels=2))
    assert "one class" in fit_partner(model, train, val)["why"]
    assert not model.partner.fitted()


def test_level_channels_must_leave_a_series_channel():
    with pytest.raises(ValueError, match="level_channels"):
        _cfg(channels=2, levels=2)
