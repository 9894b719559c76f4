"""A series classifier reads new long tables' channels by the training file's names
(attnlib.datasets.channel_names): another column order is put right, missing or extra
channels are refused by name, and series read without names are taken by place."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from typer.testing import CliRunner

import attnlib
from attnlib.cli import app
from attnlib.config import ModelConfig
from attnlib.datasets import channel_names, read_source
from attnlib.encode import keep_channel_names
from attnlib.errors import DataError, listed
from attnlib.io import write_parquet_atomic
from attnlib.models import build_model
from attnlib.persistence import save_model
from attnlib.scaling import Standardizer

runner = CliRunner()


def bundle(path, names=("x", "y")):
    torch.manual_seed(0)
    cfg = ModelConfig(task="classify", input_kind="numeric", input_dim=2, num_classes=2,
                      name="lstm_attention", hidden_dim=8)  # fmt: skip
    # channels on very different scales: a swap changes what the model sees
    scaler = Standardizer.fit([np.random.default_rng(0).normal(size=(9, 2)) * [1.0, 50.0]])
    inputs = {"scaler": scaler.to_dict(), "channels": 2, "kind": "series"}
    if names:
        inputs["channel_names"] = list(names)
    save_model(path, build_model(cfg).eval(), label_map=["a", "b"],
               extra={"data": {"input": inputs}})  # fmt: skip
    return path


def panel(columns=("x", "y")):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=8), rng.normal(size=8) * 50
    values = {"x": x, "y": y, "z": -x}
    return pl.DataFrame(
        {"id": ["p"] * 4 + ["q"] * 4, "time": [0, 1, 2, 3] * 2}
        | {c: values[c].tolist() for c in columns}
    )


def test_a_panel_in_another_column_order_is_scored_in_the_training_order(tmp_path):
    model = attnlib.load(bundle(tmp_path / "m"), engine="torch")
    assert model.channel_names == ("x", "y")
    assert "2 channel(s) (x, y)" in model.info()["input"]
    right = model.predict(panel(("x", "y")))["probabilities"].to_list()
    assert model.predict(panel(("y", "x")))["probabilities"].to_list() == right
    by_place = attnlib.load(bundle(tmp_path / "n", names=()), engine="torch")
    assert by_place.channel_names == ()  # trained without names: taken by place, as before
    assert by_place.predict(panel(("x", "y")))["probabilities"].to_list() == right
    assert by_place.predict(panel(("y", "x")))["probabilities"].to_list() != right


@pytest.mark.parametrize(
    "columns, said",
    [
        (("x", "z"), "missing 'y'; not the model's 'z'; rename the columns to the model's"),
        (("x", "y", "z"), "are x, y, z: not the model's 'z'"),
        (("y",), "missing 'x'; give the file every one of them"),
    ],
)
def test_a_panel_without_the_models_channels_is_refused_naming_them(tmp_path, columns, said):
    model = attnlib.load(bundle(tmp_path / "m"), engine="torch")
    with pytest.raises(DataError, match=r"trained on channels x, y \(value columns") as err:
        model.predict(panel(columns), source="new.csv")
    assert str(err.value).startswith("new.csv: ") and said in str(err.value)


def test_predict_reads_a_files_columns_by_the_models_names(tmp_path):
    model = bundle(tmp_path / "m")
    out = tmp_path / "p.csv"
    scored = []
    for columns in (("x", "y"), ("y", "x")):
        panel(columns).write_csv(tmp_path / "new.csv")
        result = runner.invoke(app, ["predict", str(model), str(tmp_path / "new.csv"),
                                     "-o", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        scored.append(pl.read_csv(out))
    assert scored[0].equals(scored[1])
    panel(("x", "z")).write_csv(tmp_path / "bad.csv")
    result = runner.invoke(app, ["predict", str(model), str(tmp_path / "bad.csv"), "-o",
                                 str(tmp_path / "q.csv")])  # fmt: skip
    assert result.exit_code != 0 and not (tmp_path / "q.csv").exists()
    assert f"{tmp_path / 'bad.csv'}: the model was trained on channels x, y" in result.output


def test_reading_a_panel_records_its_channel_names_in_file_order(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,t,speed,angle,label\na,0,1,2,u\na,1,2,3,u\nb,0,5,1,v\nb,1,4,2,v\n")
    with channel_names.recording() as seen:
        read_source(path)
    assert seen == [("speed", "angle")]
    with channel_names.recording() as seen:
        (tmp_path / "s.jsonl").write_text('{"values": [[1, 2], [3, 4]], "label": "u"}\n')
        read_source(tmp_path / "s.jsonl")
    assert seen == []  # series read without names
    assert channel_names.recorded([("a", "b"), ("a", "b")]) == ["a", "b"]
    assert channel_names.recorded([("a", "b"), ("b", "a")]) == []
    assert channel_names.recorded([]) == []


def test_names_round_trip_through_parquet_metadata_and_are_kept_one_per_channel(tmp_path):
    path = tmp_path / "raw.parquet"
    write_parquet_atomic(path, pl.DataFrame({"a": [1]}), channel_names.metadata(["é", "b"]))
    assert channel_names.read(path) == ["é", "b"]
    write_parquet_atomic(path, pl.DataFrame({"a": [1]}), channel_names.metadata([]))
    assert channel_names.read(path) == []
    pl.DataFrame({"a": [1]}).write_parquet(path, metadata={channel_names.KEY: '{"a": 1}'})
    with pytest.raises(DataError, match="is not a JSON list of names"):
        channel_names.read(path)
    for kind, count, kept in (("series", 2, True), ("series", 3, False), ("long", 2, False)):
        meta = {"input": {"kind": kind, "channels": count}}
        keep_channel_names(meta, ["a", "b"])
        assert ("channel_names" in meta["input"]) is kept


def test_an_archive_pair_in_two_orders_records_the_train_files_names(tmp_path):
    """ingest's recording sees the train file's panel and the test file's, put in its order
    (a nested recording passes its names out): one set of names to keep."""
    from attnlib.datasets import read_and_describe

    panel(("x", "y")).with_columns(label=pl.lit("a")).write_csv(tmp_path / "P_TRAIN.csv")
    panel(("y", "x")).with_columns(label=pl.lit("b")).write_csv(tmp_path / "P_TEST.csv")
    with channel_names.recording() as seen:
        frame, how = read_and_describe(tmp_path / "P_TRAIN.csv", archive_split=True)
    assert seen == [("x", "y"), ("x", "y")] and channel_names.recorded(seen) == ["x", "y"]
    train, test = frame["values"].to_list()[0], frame["values"].to_list()[2]
    assert train == test  # the same numbers, in the same channels


def test_names_match_as_labels_do_and_extra_columns_are_named_to_drop(tmp_path):
    with channel_names.expecting(("1", "2")):
        assert channel_names.matched(["2.0", "1.0"], "f") == ["1.0", "2.0"]  # as 1 and 2
        with pytest.raises(DataError, match="2: not the model's '1.0'; drop the others"):
            channel_names.matched(["1", "1.0", "2"], "f")
    with channel_names.expecting(("1", "1.0", "2")):  # both trained: each its own
        assert channel_names.matched(["1.0", "2", "1"], "f") == ["1", "1.0", "2"]
        with pytest.raises(DataError, match="missing '1.0'; give the file every one of them"):
            channel_names.matched(["1", "2"], "f")
    with channel_names.expecting(("a", "b")), pytest.raises(DataError) as err:
        channel_names.matched(["a", "b", "subject"], "f")
    assert str(err.value).endswith(
        "not the model's 'subject'; drop the others, or name the "
        "file's id or label column (--id-column, --label-column)"
    )
    assert listed([str(i) for i in range(14)], 12).endswith("10, 11 and 2 more")


def test_a_read_that_fails_passes_no_names_out():
    with channel_names.recording() as outer:
        with pytest.raises(DataError, match=r"^a later row is bad$"), channel_names.recording():
            channel_names.matched(["q"], "f")
            raise DataError("a later row is bad")
        channel_names.matched(["p"], "g")
    assert outer == [("p",)]
