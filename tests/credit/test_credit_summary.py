"""credit_summary.csv: each segment's share of what is owed, named for what it is and rounded (no float noise)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from typer.testing import CliRunner

from segmint.cli import app

from ledgers import DAY_BOOK_EXPECTED, DAY_BOOK_HEADER, day_book_csv


def test_share_of_owed_is_named_and_rounded(tmp_path):
    path = day_book_csv(tmp_path / "daybook.csv")
    result = CliRunner().invoke(app, ["credit", str(path), "--as-of", "2023-06-30", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    segments = pd.read_csv(tmp_path / "out" / "credit.csv").set_index("customer_id")["credit_segment"]
    # owed by hand: A 3,200, B 500, C 700 (D is 400 ahead, owes nothing); 4,400 in all
    owed = {customer: max(expected["outstanding"], 0.0) for customer, expected in DAY_BOOK_EXPECTED.items()}
    expected = {}
    for customer, amount in owed.items():
        expected[segments[customer]] = expected.get(segments[customer], 0.0) + amount
    summary = pd.read_csv(tmp_path / "out" / "credit_summary.csv").set_index("credit_segment")
    assert "share_of_outstanding" not in summary.columns  # it is the share of the positive balances, not of net
    for segment, amount in expected.items():
        assert summary.loc[segment, "owed"] == amount
        assert summary.loc[segment, "share_of_owed"] == round(amount / 4400, 4)
    text = (tmp_path / "out" / "credit_summary.csv").read_text()
    assert not any(len(cell.split(".")[-1]) > 4 for line in text.splitlines()[1:] for cell in line.split(",")
                   if cell.replace(".", "").replace("-", "").isdigit())


def test_share_of_owed_is_undefined_when_nothing_is_owed(tmp_path):
    """A ledger paid up (the receivables sample: every invoice settled): 0 owed of 0 is no share, not 0.0%."""
    rows = [["10-01-2023", "A", "Sales", "S1", "500.00", ""], ["20-01-2023", "A", "Receipt", "R1", "", "500.00"],
            ["01-02-2023", "B", "Sales", "S2", "300.00", ""], ["05-02-2023", "B", "Receipt", "R2", "", "300.00"]]
    path = tmp_path / "paid.csv"
    path.write_text("\n".join(",".join(row) for row in [DAY_BOOK_HEADER, *rows]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["credit", str(path), "--as-of", "2023-06-30", "--out", str(tmp_path / "out")],
                                terminal_width=200)  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "out" / "credit_summary.csv")
    assert (summary["owed"] == 0).all() and summary["share_of_owed"].isna().all()
    risk = result.output.split("risk summary")[1].split("lowest scores")[0]
    row = next(line for line in risk.splitlines() if "0.00" in line)  # the segment's row: owed 0.00
    assert [cell.strip() for cell in row.split("│")][4] == "-"  # % of owed
    from segmint.app.pages.credit import summary_table

    assert "0.0%" not in str(summary_table(summary)) and "nan" not in str(summary_table(summary))


def test_open_bills_age_is_days_since_the_bill_date(tmp_path):
    """With 30-day terms, as of 2023-06-30 (tests/credit/ledgers.py): A's S2 (2023-02-01, 2,000 open) is 149
    days old and 119 overdue (90+); S3 (2023-06-10, 1,200) is 20 days old and not yet due (0-30)."""
    path = day_book_csv(tmp_path / "daybook.csv")
    result = CliRunner().invoke(app, ["credit", str(path), "--as-of", "2023-06-30", "--terms", "30",
                                      "--out", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 0, result.output
    bills = pd.read_csv(tmp_path / "out" / "open_bills.csv").set_index("bill_no")
    as_of = dt.date(2023, 6, 30)
    assert bills.loc["S2", "age_days"] == (as_of - dt.date(2023, 2, 1)).days == 149
    assert bills.loc["S2", "days_overdue"] == 119 and bills.loc["S2", "bucket"] == "aging_90_plus"
    assert bills.loc["S3", "age_days"] == (as_of - dt.date(2023, 6, 10)).days == 20
    assert bills.loc["S3", "days_overdue"] == 0 and bills.loc["S3", "bucket"] == "aging_0_30"
    assert bills.loc["S2", "open_amount"] == 2000.0 and bills.loc["S3", "open_amount"] == 1200.0
