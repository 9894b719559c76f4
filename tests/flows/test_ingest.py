"""flows/ingest.py: a user file is read (and its format detected) once per ingest."""

from __future__ import annotations

import logging

import polars as pl
import pytest
import yaml


def test_ingest_reads_the_file_once_and_logs_the_detected_format(
    tmp_path, monkeypatch, prefect_api, request, caplog
):
    from attnlib.datasets import rows
    from flows.ingest import ingest

    src = tmp_path / "d.csv"
    src.write_text("date,load\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n", encoding="utf-8")
    params = yaml.safe_load((request.config.rootpath / "params.yaml").read_text())
    params["ingest"].update(source=str(src), workers=1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    reads, read_decoded = [], rows.read_decoded
    monkeypatch.setattr(rows, "read_decoded", lambda p, e: reads.append(p) or read_decoded(p, e))
    run_log = logging.getLogger("prefect.flow_runs")
    run_log.addHandler(caplog.handler)  # Prefect's run loggers do not propagate to the root
    try:
        ingest()
    finally:
        run_log.removeHandler(caplog.handler)

    assert reads == [src]
    assert pl.read_parquet(tmp_path / "data/raw.parquet")["load"].to_list() == [1.0, 2.0, 3.0]
    assert f"ingest: read {src}: format auto -> long (a time column 'date'" in caplog.text
    assert "ingest: 3 rows from" in caplog.text
    assert f"{src} is outside data/input/: DVC will not re-run ingest" in caplog.text


def test_only_files_outside_data_input_are_untracked(tmp_path, monkeypatch):
    from flows.ingest import untracked_source

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/input").mkdir(parents=True)
    (tmp_path / "data/input/a.txt").write_text("a b\n")
    (tmp_path / "b.txt").write_text("a b\n")
    (tmp_path / "texts/pos").mkdir(parents=True)  # a folder of texts
    assert untracked_source("data/input/a.txt") is None
    assert untracked_source(str(tmp_path / "data/input/a.txt")) is None
    assert untracked_source("builtin:bach_chorales") is None
    assert "b.txt is outside data/input/" in untracked_source("b.txt")
    assert "texts is outside data/input/" in untracked_source("texts")


def test_ingest_takes_an_archive_pairs_test_file_as_the_test_split(
    tmp_path, monkeypatch, prefect_api, request, caplog
):
    from flows.ingest import ingest

    (tmp_path / "data/input").mkdir(parents=True)
    rows = lambda labels: "".join(f"{y}\t0.{i}\t1.5\t2.5\n" for i, y in enumerate(labels))  # noqa: E731
    (tmp_path / "data/input/Set_TRAIN.tsv").write_text(rows([1, 2, 1, 2]))
    (tmp_path / "data/input/Set_TEST.tsv").write_text(rows([2, 1]))
    params = yaml.safe_load((request.config.rootpath / "params.yaml").read_text())
    params["ingest"].update(source="data/input/Set_TRAIN.tsv", workers=1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run_log = logging.getLogger("prefect.flow_runs")
    run_log.addHandler(caplog.handler)
    try:
        ingest()
    finally:
        run_log.removeHandler(caplog.handler)

    raw = pl.read_parquet(tmp_path / "data/raw.parquet")
    assert raw["split"].to_list() == ["train"] * 4 + ["test"] * 2
    assert raw["label"].to_list() == ["1", "2", "1", "2", "2", "1"]
    assert "with Set_TEST.tsv beside it as the test split" in caplog.text


def test_ingest_fills_gaps_in_both_archive_files_or_refuses_them_as_params_yaml_says(
    tmp_path, monkeypatch, prefect_api, request
):
    from attnlib.datasets import gaps
    from attnlib.errors import DataError
    from flows.ingest import ingest

    (tmp_path / "data/input").mkdir(parents=True)
    (tmp_path / "data/input/G_TRAIN.tsv").write_text("1\t1\tNaN\t3\n2\t2\t4\t6\n")
    (tmp_path / "data/input/G_TEST.tsv").write_text("2\tNaN\t5\t6\n")
    params = yaml.safe_load((request.config.rootpath / "params.yaml").read_text())
    params["ingest"].update(source="data/input/G_TRAIN.tsv", workers=1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    told, said = logging.getLogger(gaps.__name__), logging.Handler()
    said.emit = lambda record: records.append(record.getMessage())  # whatever Prefect's set-up
    records: list[str] = []
    told.addHandler(said)
    try:
        ingest()
    finally:
        told.removeHandler(said)
    raw = pl.read_parquet(tmp_path / "data/raw.parquet")
    assert raw["values"].to_list() == [[[1.0], [2.0], [3.0]], [[2.0], [4.0], [6.0]],
                                       [[5.0], [5.0], [6.0]]]  # fmt: skip
    assert records == [
        "data/input/G_TRAIN.tsv: 2 missing value(s) in 2 series filled by linear "
        "interpolation (the first: data/input/G_TRAIN.tsv, line 1, step 2)"
    ]
    assert gaps.read(tmp_path / "data/raw.parquet") == {  # for the report and model card
        "values": 2,
        "series": 2,
        "first": "data/input/G_TRAIN.tsv, line 1, step 2",
    }
    (tmp_path / "data/raw.parquet").unlink()
    params["ingest"]["missing"] = "error"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(DataError, match=r"G_TRAIN\.tsv, line 1, step 2: missing value inside"):
        ingest()
    assert not (tmp_path / "data/raw.parquet").exists()


def test_ingest_reads_the_columns_params_yaml_names(tmp_path, monkeypatch, prefect_api, request):
    from flows.ingest import ingest

    src = tmp_path / "r.csv"
    src.write_text("review,sentiment\nGreat movie,pos\nTerrible plot,neg\n", encoding="utf-8")
    params = yaml.safe_load((request.config.rootpath / "params.yaml").read_text())
    params["ingest"].update(source=str(src), workers=1, text_column="review",
                            label_column="sentiment")  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    ingest()
    raw = pl.read_parquet(tmp_path / "data/raw.parquet")
    assert raw["text"].to_list() == ["Great movie", "Terrible plot"]
    assert raw["label"].to_list() == ["pos", "neg"]


def test_a_column_name_dvc_writes_as_a_number_is_read_as_a_name():
    from flows._params import IngestParams

    p = IngestParams(label_column=0, text_column="review", id_column=7)  # -S ...=0 in YAML
    assert p.columns() == {"text": "review", "label": "0", "time": "", "id": "7"}


def test_a_column_name_dvc_writes_as_a_float_or_bool_is_an_error():
    import pydantic
    import pytest

    from flows._params import IngestParams

    for value in (1.10, True):  # YAML's 1.10 is 1.1: only a quoted name is exact
        with pytest.raises(pydantic.ValidationError, match="valid string"):
            IngestParams(label_column=value)


def test_a_panels_channel_names_go_from_ingest_to_the_model(
    tmp_path, monkeypatch, prefect_api, request
):
    """ingest keeps the value columns' names in raw.parquet, encode in the input spec, train
    in the model: a new file is then read by them (attnlib.datasets.channel_names)."""
    import numpy as np

    import attnlib
    from attnlib.errors import DataError
    from flows.encode import encode
    from flows.ingest import ingest
    from flows.split import split
    from flows.train import train
    from tests.flows.test_train_ensemble import run_classify_stages

    rng = np.random.default_rng(0)
    rows = [(f"s{i}", t, float(rng.normal() + i % 2), float(rng.normal() * 9), f"c{i % 2}")
            for i in range(40) for t in range(6)]  # fmt: skip
    table = pl.DataFrame(rows, schema=["id", "t", "speed", "angle", "label"], orient="row")
    table.write_csv(tmp_path / "d.csv")
    run_classify_stages(
        tmp_path,
        monkeypatch,
        request,
        tmp_path / "d.csv",
        (ingest, encode, split, train),
        epochs=1,
        ensemble=1,
        refit=False,
    )

    from attnlib.datasets import channel_names

    assert channel_names.read(tmp_path / "data/raw.parquet") == ["speed", "angle"]
    model = attnlib.load(tmp_path / "models/model", engine="torch")
    assert model.channel_names == ("speed", "angle")
    first = table.filter(pl.col("id").is_in(["s0", "s1"]))
    swapped = first.select("id", "t", "angle", "speed")
    right = model.predict(first)["probabilities"].to_list()
    assert model.predict(swapped)["probabilities"].to_list() == right
    by_place = swapped.rename({"angle": "speed", "speed": "angle"})  # what a swap would do
    assert model.predict(by_place)["probabilities"].to_list() != right
    with pytest.raises(DataError, match="missing 'angle'; not the model's 'heading'"):
        model.predict(first.rename({"angle": "heading"}))
