"""PNG pictures are written atomically, as real PNG files."""

from attnlib.plots import note


def test_note_writes_a_png(tmp_path):
    path = note(tmp_path / "sub" / "forecast.png", "classify: no forecast")
    assert path == tmp_path / "sub" / "forecast.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["forecast.png"]  # no temp file left
