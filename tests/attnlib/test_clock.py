"""Many series on one clock (``unique_id, ds, y``, no label): one table to forecast, a
column per series and value, rows in time order; every id a row at every time."""

import logging

import numpy as np
import polars as pl
import pytest

from attnlib.datasets import clock, panel, read_and_describe, read_source
from attnlib.encoding import kind_of
from attnlib.errors import ConfigError, DataError
from tests.attnlib.test_panel import table

# two series, rows as a query returns them (ids interleaved, times out of order)
ROWS = ("unique_id,ds,y\nH2,2020-02,21\nH1,2020-01,10\nH1,2020-03,12\nH2,2020-01,20\n"
        "H1,2020-02,11\nH2,2020-03,22\n")  # fmt: skip


def test_a_nixtla_table_is_one_table_a_column_per_series(tmp_path):
    frame, how = read_and_describe(table(tmp_path, ROWS), columns={"id": "unique_id"})
    assert kind_of(frame) == "long"
    assert frame.columns == ["time", "y_H2", "y_H1"]  # the order the ids first appear in
    assert frame["time"].to_list() == ["2020-01", "2020-02", "2020-03"]
    assert frame["y_H1"].to_list() == [10.0, 11.0, 12.0]
    assert frame["y_H2"].to_list() == [20.0, 21.0, 22.0]
    assert "; 2 series by id on one clock, a column each; the id in column 'unique_id'" in how
    with pytest.raises(DataError, match="ds '2020-01' repeats line 3 .*ingest.id_column"):
        read_source(table(tmp_path, ROWS))  # the id under another name, not named: a value


def test_several_values_times_as_numbers_and_names(tmp_path):
    rows = "id,t,a,b\np,10,1,5\nq,9,3,7\np,9,0,4\nq,10,4,8\n"  # 9 before 10 as numbers
    frame = read_source(table(tmp_path, rows))
    assert frame.columns == ["time", "a_p", "a_q", "b_p", "b_q"]
    assert frame["time"].to_list() == ["9", "10"] and frame["a_p"].to_list() == [0.0, 1.0]
    assert frame["b_q"].to_list() == [7.0, 8.0]
    named = "id,step,v\np,mon,1\np,tue,2\nq,mon,3\nq,tue,4\n"  # names: in the order they come
    out = read_source(table(tmp_path, named, "n.csv"))
    assert out["time"].to_list() == ["mon", "tue"] and out["v_q"].to_list() == [3.0, 4.0]


@pytest.mark.parametrize(("text", "message"), [
    ("id,t,v\np,0,1\np,1,2\nq,0,3\n", r"line 3: t '1' is only for 1 of 2 ids \('p'\)"),
    ("id,t,v\np,0,1\np,1,2\nq,0,3\nr,0,1\nr,1,2\n", r"line 4: id 'q' has no row at t '1' \(3 "
                                                     r"series on one clock of 2 times"),
    ("id,step,v\np,a,1\np,b,2\nq,b,3\nq,a,4\n", r"line 5: step 'a' of id 'q' comes in another "
                                               r"order than on earlier lines"),
    ("id,t,a,a_b\nb_c,0,1,2\nb_c,1,3,4\nc,0,5,6\nc,1,7,8\n", r"column 'a' of id 'b_c' and "
                                                            r"column 'a_b' of id 'c' would both"),
    ("id,t,v\np,0,1\np,0,2\nq,0,3\n", r"line 3: t '0' repeats line 2 for id 'p'"),
    ("id,t,v\np,0,1\np,1,x\nq,0,3\nq,1,4\n", r"line 3: column 'v': 'x' is not a number$"),
    ("id,t,v\np,0,1\np,1.0,2\nq,0,3\nq,1,4\np,1,5\n", r"line 6: t '1' repeats line 3"),
])  # fmt: skip
def test_a_clock_that_does_not_hold_together_names_the_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_source(table(tmp_path, text))


def test_a_models_stored_id_is_no_error_where_one_the_user_names_is(tmp_path):
    one = table(tmp_path, "subject,t,x\na,0,1\nb,1,2\n", "one.csv")  # no id on two rows
    with panel.for_forecaster(["x"]), pytest.raises(ConfigError, match="names 'subject'"):
        read_source(one, columns={"id": "subject"})  # the user's --id-column: refused
    with panel.for_forecaster(["x"]), panel.stored_id():  # the model's name for it: read
        assert read_source(one, columns={"id": "subject"}).columns == ["time", "x"]


def test_a_label_makes_series_to_classify_and_a_classifier_reads_series(tmp_path):
    labelled = (
        ROWS.replace("y\n", "y,label\n").replace("\n", ",a\n").replace("y,label,a", "y,label")
    )
    frame = read_source(table(tmp_path, labelled, "l.csv"), columns={"id": "unique_id"})
    assert kind_of(frame) == "series" and frame["id"].to_list() == ["H2", "H1"]
    with panel.for_classifier():  # attnlib predict with a series classifier: its series
        assert kind_of(read_source(table(tmp_path, ROWS), columns={"id": "unique_id"})) == "series"


def test_a_frame_given_to_a_forecaster_in_python_reads_as_its_file_does(tmp_path):
    frame = pl.read_csv(table(tmp_path, ROWS)).rename({"unique_id": "id"})
    out = panel.as_series(frame, "frame")
    assert out.equals(read_source(table(tmp_path, ROWS), columns={"id": "unique_id"}))


def test_text_attributes_of_a_series_are_left_out_and_numbers_are_columns(tmp_path, caplog):
    rows = "".join(f"{s},{t},{t + k},{t % 2},{k * 10},big{k},train\n" for k, s in enumerate("pq")
                   for t in range(4))  # fmt: skip
    with caplog.at_level(logging.WARNING):
        frame = read_source(table(tmp_path, "id,t,y,holiday,size,kind,split\n" + rows))
    assert frame.columns == ["time", "y_p", "y_q", "holiday_p", "holiday_q", "size_p", "size_q"]
    assert frame["size_q"].to_list() == [10.0] * 4  # numbers: a column, whatever they hold
    assert "column(s) ['kind']: text that never changes within an id" in caplog.text
    assert "column 'split' is not read" in caplog.text
    pd = pytest.importorskip("pandas")
    kinds = pd.DataFrame(
        {
            "unique_id": ["a", "a", "b", "b"],
            "ds": [1, 2, 1, 2],
            "y": [1.0, 2, 3, 4],
            "store": pd.Categorical(["x", "x", "z", "z"]),
        }
    )
    kinds.to_parquet(tmp_path / "k.parquet")  # pandas' category: text too
    out = read_source(tmp_path / "k.parquet", columns={"id": "unique_id"})
    assert out.columns == ["time", "y_a", "y_b"]


def test_a_forecaster_reads_the_columns_it_was_trained_on(tmp_path, caplog):
    one = table(tmp_path, "unique_id,ds,y\nH2,1,5\nH2,2,6\n", "one.csv")  # one id of the clock
    with panel.for_forecaster(["y_H1", "y_H2"]):
        out = read_source(one, columns={"id": "unique_id"}, optional_columns=("id",))
        assert out.columns == ["time", "y_H2"] and out["y_H2"].to_list() == [5.0, 6.0]
        framed = panel.as_series(pl.DataFrame({"id": ["H1"] * 2, "ds": [1, 2], "y": [1.0, 2]}), "f")
        assert framed.columns == ["time", "y_H1"]
    lags = table(tmp_path, "id,t,sales,sales_1\n1,1,11,10\n2,2,12,11\n", "lags.csv")
    with panel.for_forecaster(["sales", "sales_1"]):  # the trained columns, a row id beside
        assert read_source(lags).columns == ["time", "sales", "sales_1"]
        assert read_source(table(tmp_path, "id,t,v\n1,1,2\n2,2,3\n", "v.csv")).columns == [
            "time",
            "v",
        ]  # other columns: read as they are, the forecaster names what it lacks
    renamed = table(tmp_path, "id,ds,sales\nH1,1,5\nH2,1,6\nH1,2,7\nH2,2,8\n", "r.csv")
    with panel.for_forecaster(["y_H1", "y_H2"]):  # its ids, another value column: read so
        assert read_source(renamed).columns == ["time", "sales_H1", "sales_H2"]
    single = table(tmp_path, "id,t,y\nA,1,5\nA,2,6\n", "single.csv")  # one series, its id
    with panel.for_forecaster(["y"]):  # trained on one series: the id is no series of a clock
        assert read_source(single).columns == ["time", "y"]
    extra = table(tmp_path, "unique_id,ds,y\nH1,1,5\nH4,1,6\nH1,2,7\nH4,2,8\n", "x.csv")
    with panel.for_forecaster(["y_H1", "y_H2"]), caplog.at_level(logging.WARNING):
        read_source(extra, columns={"id": "unique_id"})
    assert "id(s) ['H4'] are none of the forecaster's series: not forecast" in caplog.text
    other = table(tmp_path, "unique_id,ds,y\nH4,2,5\nH4,1,6\n", "h4.csv")  # none of its ids
    with panel.for_forecaster(["y_H1", "y_H2"]), pytest.raises(
        DataError, match=r"trained on columns \['y_H1', 'y_H2'\], series by id on one clock; "
                         r"the file's ids \['H4'\] make none of them"):  # fmt: skip
        read_source(other, columns={"id": "unique_id"})


def test_many_series_make_a_warning(tmp_path, caplog):
    ids = [f"s{i}" for i in range(clock.WIDE_WARNING + 1)]
    rows = "".join(f"{s},{t},{t * k}\n" for k, s in enumerate(ids) for t in range(3))
    with caplog.at_level(logging.WARNING):
        frame = read_source(table(tmp_path, "id,t,v\n" + rows))
    assert frame.width == len(ids) + 1
    assert f"{len(ids)} series on one clock make {len(ids)} channels" in caplog.text


def test_times_repeat_as_read_and_pandas_index_is_no_series(tmp_path):
    rows = ",Unnamed: 0,id,t,y\n0,0,p,1,1\n1,1,p,2,2\n2,2,q,1.0,3\n3,3,q,2.0,4\n"  # saved twice
    frame = read_source(table(tmp_path, rows))  # 1 and 1.0 are one time: two series on it
    assert frame.columns == ["time", "y_p", "y_q"] and frame["y_q"].to_list() == [3.0, 4.0]
    pd = pytest.importorskip("pandas")
    named = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": [1, 2, 1, 2],
                          "y": [1.0, 2, 3, 4]},
                         index=pd.Index([5, 9, 7, 8], name="obs"))  # fmt: skip
    named.to_parquet(tmp_path / "n.parquet")
    for fmt in ("auto", "long"):
        out = read_source(tmp_path / "n.parquet", fmt, columns={"id": "unique_id"})
        assert out.columns == ["time", "y_a", "y_b"], fmt


def test_a_clock_table_given_to_a_classifier_says_where_its_class_goes(tmp_path):
    from attnlib.encode import encode_dataset
    from attnlib.encoding import EncodeOptions

    frame = read_source(table(tmp_path, "id,t,x,target\np,0,1,0\np,1,2,0\nq,0,3,1\nq,1,4,1\n"))
    with pytest.raises(DataError, match="many series by id without a label is read as one "
                                        "table to forecast: to classify them, their class goes "
                                        "in 'label' or ingest.label_column"):  # fmt: skip
        encode_dataset(frame, "classify", EncodeOptions())


def test_a_parquet_index_of_year_and_month_is_the_time(tmp_path):
    pd = pytest.importorskip("pandas")
    stepped = pd.DataFrame({"date": ["2020-01-01", "2020-01-02"], "load": [1.0, 2.0]},
                           index=pd.Index([7, 3], name="step"))  # fmt: skip
    stepped.to_parquet(tmp_path / "s.parquet")  # a named index beside the time: no value
    assert read_source(tmp_path / "s.parquet").columns == ["time", "load"]
    frame = pd.DataFrame({"year": [2020] * 3 + [2021] * 3, "month": [1, 2, 3] * 2,
                          "load": np.arange(6.0)}).set_index(["year", "month"])  # fmt: skip
    frame.to_parquet(tmp_path / "ym.parquet")
    out = read_source(tmp_path / "ym.parquet")
    assert out.columns == ["time", "load"] and out["time"][3] == "2021-01"


def test_a_forecaster_predicts_series_on_one_clock_as_from_their_wide_table(tmp_path, caplog):
    """A forecaster trained on series on one clock (its bundle as the train stage saves it)
    forecasts the same numbers from the long file, its wide table, a pandas-style frame whose
    ids were read as floats (``1.0``: one id with ``1``) and ``attnlib predict``."""
    import torch
    from typer.testing import CliRunner

    from attnlib.api import Model
    from attnlib.cli import app
    from attnlib.config import ModelConfig
    from attnlib.encode import EncodeOptions, encode_dataset
    from attnlib.models import build_model
    from attnlib.persistence import save_model
    from attnlib.tasks import get_task

    rng = np.random.default_rng(0)
    rows = [(k, t, np.sin(t / 3) * k + rng.normal(0, 0.1)) for t in range(40) for k in (1, 2)]
    text = "store,ds,y\n" + "".join(f"{k},{t},{v:.4f}\n" for k, t, v in rows)
    path = table(tmp_path, text, "stores.csv")
    raw = read_source(path, columns={"id": "store"})
    assert raw.columns == ["time", "y_1", "y_2"]
    _, meta = encode_dataset(raw, "forecast", EncodeOptions(lookback=8, horizon=4))
    cfg = ModelConfig(task="forecast", hidden_dim=8, **meta["model_fields"])
    torch.manual_seed(0)
    save_model(tmp_path / "m", build_model(cfg).eval(),
               extra={"data": get_task("forecast").data_spec(meta),
                      "training_data": {"columns": {"id": "store"}}})  # fmt: skip
    model = Model(tmp_path / "m", engine="torch")
    assert model.channels == ("y_1", "y_2")
    wide = model.predict(raw)
    assert wide.height == 4 and {"y_1", "y_2"} <= set(wide.columns)
    assert model.predict(pl.read_csv(path)).equals(wide)
    written = table(tmp_path, text.replace("\n1,", "\n1.0,"), "f.csv")  # 1.0 beside 2
    assert written.read_text().count("\n1.0,") == 40  # every row of store 1 as pandas' float
    with panel.for_model(model):
        assert read_source(written, columns={"id": "store"}).columns == ["time", "y_1", "y_2"]
    floats = pl.read_csv(path).with_columns(pl.col("store").cast(pl.Float64))  # 1.0, 2.0
    extra = pl.DataFrame({"store": [3.0] * 40, "ds": range(40), "y": [0.0] * 40})
    with caplog.at_level(logging.WARNING):
        assert model.predict(pl.concat([floats, extra], how="vertical_relaxed")).equals(wide)
    assert "id(s) ['3'] are none of the forecaster's series" in caplog.text
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["predict", str(tmp_path / "m"), str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(pl.read_csv(out).select("y_1", "y_2").to_numpy(),
                               wide.select("y_1", "y_2").to_numpy(), rtol=1e-5)  # fmt: skip
