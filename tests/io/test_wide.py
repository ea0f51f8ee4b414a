"""Wide files: only the columns the job reads are loaded, with the same result as reading them all."""

from __future__ import annotations

import csv

import ibis
import pytest

from segmint import engine
from segmint.io import read_raw
from segmint.io.wide import LABEL_COLUMNS, WIDE_COLUMNS
from segmint.reading import read_transactions

FILLER = WIDE_COLUMNS + 100  # unmapped columns: text codes and small numbers, the way ERP dumps pad a table
NARROWER = 20  # a lower threshold for the tests that also read every column to compare (300 cost 20-37 s)


@pytest.fixture
def lower_threshold(monkeypatch) -> int:
    """Files of more than NARROWER columns count as wide; the filler to write for one."""
    import segmint.io.csv

    monkeypatch.setattr(segmint.io.csv, "WIDE_COLUMNS", NARROWER)
    return NARROWER + 20


def _write(path, rows: list[dict[str, str]], lead: list[str] | None = None, filler_columns: int = FILLER) -> list[str]:
    """A sales log with ``lead`` columns first, then customer/date/amount/product, then the filler."""
    filler = [f"{'memo' if k % 2 else 'field'}_{k}" for k in range(filler_columns)]
    filler[1] = "customer_segment"  # named like a candidate: the real customer column must still win
    header = [*(lead or []), "customer_id", "date", "amount", "product", *filler]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for number, row in enumerate(rows):
            cells = {c: (f"x{(number * k) % 13}" if k % 2 else str((number + k) % 7)) for k, c in enumerate(filler)}
            cells["customer_segment"] = "Gold" if number % 2 else "Silver"
            writer.writerow([{**cells, **row}.get(c, "") for c in header])
    return header


def _sales(n: int = 40) -> list[dict[str, str]]:
    return [{"customer_id": f"C{i % 5}", "date": f"2023-01-{1 + i % 28:02d}", "amount": f"{10 + i}.50",
             "product": f"P{i % 3}"} for i in range(n)]  # fmt: skip


def _both(path):
    """The job's transactions read projected (as every command does) and with every column loaded."""
    projected = read_transactions(path, con=ibis.duckdb.connect())
    from segmint.reading import clean_raw

    con = ibis.duckdb.connect()
    whole = clean_raw(read_raw(path, con=con), con=con, label=path.name)
    return projected, whole


def _same(projected, whole) -> None:
    rows = lambda tx: tx.table.order_by(list(tx.table.columns)).to_pyarrow()  # noqa: E731
    assert rows(projected).equals(rows(whole))
    report, expected = projected.report.model_dump(), whole.report.model_dump()
    for reason, dropped in expected["dropped"].items():  # a reader's examples hold the columns it read
        read = report["dropped"][reason]["examples"]
        dropped["examples"] = [{c: e[c] for c in (read[0] if read else e)} for e in dropped["examples"]]
    assert report == expected
    assert projected.mapping == whole.mapping


def test_a_wide_file_loads_only_the_mapped_and_label_columns(tmp_path):
    path = tmp_path / "erp.csv"
    header = _write(path, _sales())
    raw = read_raw(path, con=engine.connect(), project=True)
    # customer, date, amount, product (and quantity from a filler's small numbers, as for all columns), the
    # leading label columns and the repeated-header test's column: a bounded set, not 300 columns
    assert len(raw.columns) <= 5 + LABEL_COLUMNS + 1
    assert raw.table.columns[: len(raw.columns)] == tuple(raw.columns)
    assert sorted(raw.columns + raw.unread_columns, key=header.index) == header
    assert raw.table.count().execute() == 40
    projected, whole = _both(path)
    assert projected.mapping.fields["customer_id"] == "customer_id"
    assert set(projected.report.unused_columns) == set(whole.report.unused_columns)
    _same(projected, whole)


def test_a_total_line_labelled_in_an_unmapped_column_is_dropped_with_its_reason(tmp_path, lower_threshold):
    rows = [{**row, "region": "North"} for row in _sales()]
    rows.insert(20, {"region": "Total", "amount": "1234.00"})  # file row 22: the label sits in no mapped column
    path = tmp_path / "erp.csv"
    _write(path, rows, lead=["region"], filler_columns=lower_threshold)
    raw = read_raw(path, con=engine.connect(), project=True)
    assert "region" in raw.columns and len(raw.columns) < 15 and raw.unread_columns
    assert raw.skipped == {"total_row": 1}
    assert [e["_row"] for e in raw.skipped_examples["total_row"]] == [22]
    projected, whole = _both(path)
    report = projected.report
    assert report.rows_in == 41 and report.rows_kept == 40 and report.dropped["total_row"].count == 1
    _same(projected, whole)


def test_a_row_blank_in_the_columns_read_but_not_in_others_loads_every_column(tmp_path, lower_threshold):
    """Blank means every cell empty: a row empty in the mapped columns but holding a filler value is not
    blank (it is dropped later for its missing customer), so the file is read whole to tell."""
    rows = _sales()
    path = tmp_path / "erp.csv"
    header = _write(path, rows, filler_columns=lower_threshold)
    text = path.read_text(encoding="utf-8").splitlines()
    cells = [""] * len(header)
    cells[header.index("memo_9")] = "note"
    blank = ["," * (len(header) - 1)]
    path.write_text("\n".join([*text[:11], ",".join(cells), *blank, *text[11:]]) + "\n", encoding="utf-8")
    raw = read_raw(path, con=engine.connect(), project=True)
    assert len(raw.columns) == len(header) and raw.unread_columns == []
    assert raw.skipped == {"blank": 1}
    projected, whole = _both(path)
    assert projected.report.rows_in == 42 and projected.report.rows_kept == 40
    _same(projected, whole)


def test_narrow_files_and_unprojected_reads_keep_every_column(tmp_path):
    path = tmp_path / "erp.csv"
    header = _write(path, _sales())
    assert read_raw(path, con=engine.connect()).columns == header  # a mapping editor offers them all
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("customer_id,date,amount,note\nC1,2023-01-02,3.50,x\n", encoding="utf-8")
    assert read_raw(narrow, con=engine.connect(), project=True).columns == ["customer_id", "date", "amount", "note"]
