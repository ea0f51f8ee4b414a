"""Atomic outputs: written whole or not at all, with the permissions the umask asks for."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from segmint.report import export_tables
from segmint.util import current_umask, write_atomic, write_text_atomic


@pytest.fixture
def umask():
    """Set the process umask for a test, restoring it afterwards."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_outputs_respect_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    assert current_umask() == mask
    text = write_text_atomic(tmp_path / "report.json", "{}")
    written = export_tables({"features": pd.DataFrame({"a": [1]})}, tmp_path / "out", "csv")
    parquet = export_tables({"features": pd.DataFrame({"a": [1]})}, tmp_path / "pq", "parquet")
    assert mode(text) == expected
    assert mode(written["features"]) == expected and mode(parquet["features"]) == expected


def test_replacing_a_file_keeps_its_permissions(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "shared.csv"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new" and mode(target) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "kept.csv"
    target.write_text("old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["kept.csv"]
