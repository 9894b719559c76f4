"""What the benchmarks that run the pipeline share: a copy of the project, README tables."""

from __future__ import annotations

import shutil
from pathlib import Path

from attnlib.io import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ["attnlib", "flows", "dvc.yaml", "params.yaml", "pyproject.toml", ".dvc/config",
           ".dvcignore", ".gitignore", "data/input"]  # fmt: skip


def copy_project(dest: Path, names: list[str] = PROJECT) -> None:
    """Copy what ``dvc repro`` needs (code, pipeline, params, DVC config) into ``dest``."""
    for name in names:
        src, dst = ROOT / name, dest / name
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def update_readme(md: str, marker: str) -> None:
    """Put ``md`` between README.md's ``<!-- MARKER:start -->`` and ``:end`` lines."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        write_text_atomic(readme, head + start + "\n" + md.strip() + "\n" + end + tail)
