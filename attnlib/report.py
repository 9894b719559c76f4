"""One self-contained HTML page per project: data, search, training, metrics beside the
baselines, calibration, coverage, faithfulness, attention examples and the model card.

``render_report`` turns plain data (:class:`Section` per section) into HTML through the
jinja2 template ``templates/report.html.j2``: images are embedded as base64 ``data:`` URIs,
CSS and the hover script are inline, and a Content-Security-Policy forbids any request, so
the page works offline and leaks nothing. ``build_report`` collects the sections from the
files a project holds after ``dvc repro`` (:func:`attnlib.report_project.build_report`).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt

from attnlib.io import write_text_atomic

SECTIONS = {  # id -> heading, in page order
    "data": "Data and splits",
    "search": "Search history",
    "learning": "Learning curves",
    "metrics": "Metrics beside the baselines",
    "calibration": "Calibration",
    "coverage": "Coverage",
    "faithfulness": "Faithfulness of the attention",
    "attention": "Attention examples",
    "card": "Model card",
    "experiments": "Experiments",
}
OPTIONAL = {"experiments"}  # shown only when given
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Table:
    columns: list[str]
    rows: list[list]
    caption: str = ""


@dataclass
class Section:
    """What one section shows; every part is optional.

    facts: label -> value lines. tables: :class:`Table` s. images: (caption, PNG bytes or
    path). text: a highlighted line (e.g. a verdict). markdown: rendered without raw HTML.
    examples: attention examples from :func:`attention_example`. note: why data is missing.
    """

    facts: dict = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    images: list[tuple[str, bytes | str | Path]] = field(default_factory=list)
    text: str = ""
    markdown: str = ""
    examples: list[dict] = field(default_factory=list)
    note: str = ""

    def empty(self) -> bool:
        return not (self.facts or self.tables or self.images or self.text or self.markdown
                    or self.examples)  # fmt: skip


def data_uri(png: bytes | str | Path) -> str:
    """A PNG (bytes or a file path) as a ``data:image/png;base64,...`` URI."""
    raw = png if isinstance(png, bytes) else Path(png).read_bytes()
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def attention_example(ident: str, tokens: list, weights: list[float], caption: str = "") -> dict:
    """One interactive example: each step with its weight and a shade relative to the peak.

    Args:
        ident: the item's id. tokens: step labels (tokens, or step numbers / times).
        weights: the attention each step received (same length as ``tokens``).
        caption: e.g. the true and predicted class.
    """
    if len(tokens) != len(weights):
        raise ValueError(f"attention example {ident}: {len(tokens)} tokens, {len(weights)} weights")
    peak = max((float(w) for w in weights), default=0.0) or 1.0
    steps = [{"token": str(t), "weight": float(w), "shade": round(float(w) / peak, 3)}
             for t, w in zip(tokens, weights, strict=True)]  # fmt: skip
    return {"id": str(ident), "caption": caption, "steps": steps}


def _fmt(value) -> str:
    """Numbers to 4 significant digits; None / NaN as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    return env


def render_report(sections: dict[str, Section | None], *, title: str = "attnlib report") -> str:
    """The HTML page: one block per :data:`SECTIONS` id, "not available" where ``sections``
    has none (or an empty one) for it; optional sections appear only when given."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise ValueError(f"report: unknown section(s) {sorted(unknown)}; known: {list(SECTIONS)}")
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    blocks = []
    for sid, heading in SECTIONS.items():
        s = sections.get(sid)
        if s is None and sid in OPTIONAL:
            continue
        s = s or Section()
        blocks.append({
            "id": sid,
            "title": heading,
            "available": not s.empty(),
            "s": s,
            "images": [(cap, data_uri(png)) for cap, png in s.images],
            "markdown_html": md.render(s.markdown) if s.markdown else "",
        })  # fmt: skip
    return _environment().get_template("report.html.j2").render(title=title, blocks=blocks)


def write_report(path: str | Path, html: str) -> Path:
    """Write the page atomically (a reader never sees half a page)."""
    write_text_atomic(path, html)
    return Path(path)
