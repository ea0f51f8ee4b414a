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


def test_packaged_yaml_is_parsed_once_then_read_back_as_json_without_pyyaml(tmp_path, monkeypatch):
    """The parsed value of packaged YAML is kept as JSON keyed by the text: read back equal (types too),
    with PyYAML's loader never called; YAML that JSON cannot hold exactly (a date, a number as a key)
    is parsed every time; a corrupt entry is parsed again; the cache off keeps nothing."""
    import datetime as dt
    import json

    import yaml

    from segmint.util import parse_packaged_yaml

    monkeypatch.setenv("SEGMINT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SEGMINT_SQL_CACHE", raising=False)
    text = "rules:\n  - name: Champions\n    r: [4, 5]\n    share: 0.5\n    new: false\n    note: ~\n"
    expected = {"rules": [{"name": "Champions", "r": [4, 5], "share": 0.5, "new": False, "note": None}]}
    assert parse_packaged_yaml(text) == expected
    (entry,) = (tmp_path / "yaml").iterdir()
    assert json.loads(entry.read_text().split("\n", 1)[1]) == expected

    calls = []
    real_load = yaml.load
    monkeypatch.setattr(yaml, "load", lambda *a, **k: calls.append(1) or real_load(*a, **k))
    again = parse_packaged_yaml(text)
    assert again == expected and calls == []
    assert type(again["rules"][0]["share"]) is float and type(again["rules"][0]["r"][0]) is int

    assert parse_packaged_yaml("day: 2024-01-02\n") == {"day": dt.date(2024, 1, 2)}
    assert parse_packaged_yaml("1: one\n") == {1: "one"}
    assert parse_packaged_yaml("1: one\n") == {1: "one"} and len(calls) == 3  # parsed at each call
    assert len(list((tmp_path / "yaml").iterdir())) == 1

    entry.write_text(entry.read_text()[:-3])  # the checksum no longer matches: parsed again
    assert parse_packaged_yaml(text) == expected and len(calls) == 4

    monkeypatch.setenv("SEGMINT_SQL_CACHE", "0")
    assert parse_packaged_yaml("a: 1\n") == {"a": 1} and len(calls) == 5
    assert len(list((tmp_path / "yaml").iterdir())) == 1


def test_counted_says_one_customer_not_one_customers():
    """Counts in report lines agree with their noun (the credit summary said '1 customers')."""
    from segmint.io.ledger_report import LedgerReport, VoucherTypeRow
    from segmint.util import counted

    assert [counted(n, "customer") for n in (0, 1, 2, 2310)] == [
        "0 customers", "1 customer", "2 customers", "2,310 customers"]
    report = LedgerReport.model_construct(voucher_types=[
        VoucherTypeRow(voucher_type="Sales", base_type="Sales", why="sale", vouchers=1, credit=100.0),
        VoucherTypeRow(voucher_type="Receipt", base_type="Receipt", why="payment", vouchers=1, debit=40.0),
    ])
    assert report.sales_line() == ("Sales view: 1 sales voucher worth 100.00, less 0 credit notes worth 0.00; "
                                   "1 receipt worth 40.00 is a payment, not returns")
