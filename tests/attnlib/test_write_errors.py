"""Any OS error while writing an output (a missing place, a full or read-only disk) is one
line naming the output and the OS's reason, and leaves nothing behind."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys

import polars as pl
import pytest

from attnlib.errors import DataError
from attnlib.files import input_path, write_table

FRAME = pl.DataFrame({"id": ["a"], "tokens": [["x", "y"]]})


def _half_written(message: str):
    """A polars writer that writes a little, then fails as polars does (the OS error is only
    in the text, ``strerror`` is None)."""

    def write(self, file, *args, **kwargs):
        with open(file, "wb") as f:
            f.write(b"PAR1 half")
        raise OSError(message)

    return write


@pytest.mark.parametrize("ext", [".parquet", ".csv", ".jsonl"])
def test_a_full_disk_is_one_error_and_leaves_nothing(tmp_path, monkeypatch, ext):
    full = _half_written("No space left on device (os error 28): somewhere")
    for name in ("write_parquet", "write_csv", "write_ndjson"):
        monkeypatch.setattr(pl.DataFrame, name, full)
    out = tmp_path / f"out{ext}"
    out.write_text("old")
    with pytest.raises(DataError) as exc:
        write_table(FRAME, out)
    assert str(exc.value) == f"--out {out}: cannot write (No space left on device)"
    assert [p.name for p in tmp_path.iterdir()] == [out.name] and out.read_text() == "old"


def test_a_read_only_disk_at_the_rename_is_one_error(tmp_path, monkeypatch):
    def read_only(src, dst):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    out = tmp_path / "out.parquet"
    with pytest.raises(DataError, match=r"out\.parquet: cannot write \(Read-only file system\)$"):
        write_table(FRAME, out)
    assert list(tmp_path.iterdir()) == []


def test_a_place_no_file_can_be_made_in_is_one_error(tmp_path, monkeypatch):
    def no_such_place(*args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))

    monkeypatch.setattr("tempfile.mkstemp", no_such_place)  # what /proc does, even for root
    with pytest.raises(DataError, match=r"cannot write \(No such file or directory\)$"):
        write_table(FRAME, tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_writing_into_proc_exits_2_with_one_line(tmp_path):
    if os.access("/proc", os.W_OK):  # root: the check passes, the write fails
        expected = "--out /proc/x.parquet: cannot write (No such file or directory)"
    else:
        expected = "--out /proc/x.parquet: cannot write in /proc (permission denied)"
    csv = tmp_path / "crlf.csv"
    csv.write_bytes(b"tokens\r\na b c\r\nc d\r\n")
    proc = subprocess.run(
        [sys.executable, "-m", "attnlib.cli", "ingest", str(csv), "-o", "/proc/x.parquet"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: {expected}"]
    assert "Traceback" not in proc.stderr


def test_a_full_disk_while_copying_standard_input_is_one_error(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a b c\n")))

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("pathlib.Path.write_bytes", full)
    with pytest.raises(DataError, match=r"^standard input \(-\): cannot copy it to .*"
                                        r"\(No space left on device\)$"):  # fmt: skip
        with input_path("-"):
            pass


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("ext", [".parquet", ".csv", ".jsonl"])
def test_the_writers_own_full_disk_errors_are_one_error(tmp_path, monkeypatch, ext):
    """Each polars writer sent to /dev/full (the error it really raises: ComputeError for
    Parquet, OSError for the text formats), not a mock of it."""

    def to_full(real):
        return lambda self, _path, *a, **k: real(self, "/dev/full", *a, **k)

    for name in ("write_parquet", "write_csv", "write_ndjson"):
        monkeypatch.setattr(pl.DataFrame, name, to_full(getattr(pl.DataFrame, name)))
    big = pl.DataFrame({"a": list(range(200_000))})  # more than a write buffer
    with pytest.raises(DataError, match=r"cannot write \(No space left on device\)$"):
        write_table(big, tmp_path / f"out{ext}")
    assert list(tmp_path.iterdir()) == []
