"""The HTML report: parses, embeds every image, has every section, leaks nothing."""

import base64
import json
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from attnlib.cli import app
from attnlib.errors import DataError
from attnlib.report import SECTIONS, Section, Table, attention_example, render_report
from attnlib.report_project import build_report, experiments_table
from tests.report_project import make_project, pngs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Every tag with its attributes, the text per section id."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: dict[str, str] = {}
        self._section = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self._section = a["id"]
            self.text[self._section] = ""

    def handle_data(self, data):
        if self._section:
            self.text[self._section] += data

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None

    def all(self, tag):
        return [a for t, a in self.tags if t == tag]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("project"))


def test_full_project_report_embeds_every_image_and_renders_every_section(project):
    page = Page(build_report(project))
    sections = {a["id"]: a for a in page.all("section")}
    assert set(sections) == set(SECTIONS) - {"experiments"}
    assert all(a["data-available"] == "yes" for a in sections.values()), sections
    imgs = page.all("img")
    assert len(imgs) == len(pngs(project)) == 5
    for img in imgs:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        assert base64.b64decode(img["src"][len(prefix) :]).startswith(PNG_MAGIC)
    # nothing may load from elsewhere: no external script, style sheet, font or link
    assert not [a for a in page.all("script") if "src" in a]
    assert not page.all("link")
    assert all(a["href"].startswith("#") for a in page.all("a"))
    csp = [a for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in csp[0]["content"]


def test_sections_show_the_project_figures(project):
    page = Page(build_report(project))
    ev = json.loads((project / "metrics/eval.json").read_text())
    assert "rows per split" in page.text["data"] and "trec6" in page.text["data"]
    assert "PRUNED" in page.text["search"]
    assert "tfidf_svm" in page.text["metrics"] and "0.85" in page.text["metrics"]
    assert f"{ev['calibration']['temperature']:.4g}" in page.text["calibration"]
    assert "perfectly calibrated" in page.text["calibration"]  # the split's ECE noise
    assert f"{ev['calibration']['ece_floor_p90_after']:.4g}" in page.text["calibration"]
    fitted = ev["calibration"]["accuracy_fitted_on"]
    fitted = f"accuracy of the predictions it was fitted on{fitted:.4g}"
    assert fitted in page.text["calibration"]  # label and value, side by side
    assert f"accuracy on test{ev['model']['accuracy']:.4g}" in page.text["calibration"]
    assert f"{ev['conformal']['mean_set_size']:.4g}" in page.text["coverage"]
    assert ev["faithfulness"]["verdict_line"] in page.text["faithfulness"]
    assert "comprehensiveness" in page.text["faithfulness"]
    toks = [a for a in page.all("span") if a.get("class") == "tok"]
    assert [float(a["data-w"]) for a in toks] == [0.05, 0.05, 0.05, 0.5, 0.05, 0.25, 0.05]
    # the card is Markdown rendered without raw HTML: its script tag is shown, not run
    assert page.all("script") == [{}]  # only the page's own inline hover script
    assert 'alert("card")' in page.text["card"]
    assert [a for t, a in page.tags if t == "table"]


def test_missing_files_say_not_available(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/eval.json").write_text("{not json")
    page = Page(build_report(tmp_path))
    for sid in set(SECTIONS) - {"experiments"}:
        assert "not available" in page.text[sid], sid
    assert "eval.json unreadable" in page.text["metrics"]
    with pytest.raises(DataError, match="project directory not found"):
        build_report(tmp_path / "nowhere")


def test_metrics_table_leaves_out_versus_and_shows_its_verdict():
    from attnlib.report_project import metrics_section

    report = {"model": {"accuracy": 0.9}, "majority": {"accuracy": 0.5},
              "versus": {"metric": "accuracy", "margin": 0.4, "verdict": "beats every one"},
              "calibration": {"ece_after": 0.01}}  # fmt: skip
    section = metrics_section(report)
    assert [row[0] for row in section.tables[0].rows] == ["model", "majority"]
    assert section.text == "The model beats every one."


def test_project_without_trust_figures_keeps_the_rest(tmp_path):
    page = Page(build_report(make_project(tmp_path, with_trust=False)))
    assert "not available" in page.text["calibration"]
    assert "not available" in page.text["faithfulness"]
    assert "not available" not in page.text["metrics"]


def test_render_escapes_text_and_rejects_unknown_sections():
    html = render_report({"data": Section(facts={"<b>x</b>": "<i>"})})
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    with pytest.raises(ValueError, match="unknown section"):
        render_report({"nope": Section()})
    with pytest.raises(ValueError, match="2 tokens, 1 weights"):
        attention_example("a", ["x", "y"], [1.0])


EXP_SHOW = [  # the shape `dvc exp show --json` (DVC 3) prints
    {"rev": "workspace", "name": None, "error": None, "experiments": None,
     "data": {"params": {"params.yaml": {"data": {"train": {"lr": 0.2}}}},
              "metrics": {"metrics/eval.json": {"data": {"model": {"accuracy": 0.7}}}}}},
    {"rev": "364a3a04e0", "name": "main", "error": None,
     "data": {"params": {"params.yaml": {"data": {"train": {"lr": 0.1}}}},
              "metrics": {"metrics/eval.json": {"data": {"model": {"accuracy": 0.8}}}}},
     "experiments": [{"revs": [{
         "rev": "a2c2026", "name": "lated-esne", "error": None,
         "data": {"params": {"params.yaml": {"data": {"train": {"lr": 0.3}}}}, "metrics": {}}}]}]},
]  # fmt: skip


def test_experiments_table_flattens_dvc_exp_show():
    t = experiments_table(EXP_SHOW)
    assert isinstance(t, Table)
    assert t.columns == ["experiment", "train.lr", "model.accuracy"]
    assert t.rows == [["workspace", 0.2, 0.7], ["main", 0.1, 0.8], ["main / lated-esne", 0.3, None]]


def test_cli_report_writes_the_page(project, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["report", "-p", str(project), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"report -> {out}" in res.output
    assert Page(out.read_text()).all("section")
    res = CliRunner().invoke(app, ["report", "-p", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "project directory not found" in res.output


def test_cli_report_experiments_from_a_real_dvc_project(project, tmp_path):
    run = dict(cwd=project, check=True, capture_output=True)
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], **run)
    subprocess.run(["git", "add", "-A"], **run)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "p"], **run
    )
    out = tmp_path / "exp.html"
    res = CliRunner().invoke(app, ["report", "-p", str(project), "--experiments", "-o", str(out)])
    assert res.exit_code == 0, res.output
    page = Page(out.read_text())
    assert "workspace" in page.text["experiments"] and "seed" in page.text["experiments"]
    res = CliRunner().invoke(app, ["report", "-p", str(tmp_path), "--experiments"])
    assert res.exit_code == 2 and "dvc exp show" in res.output
