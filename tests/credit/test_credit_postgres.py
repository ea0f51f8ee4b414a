"""The ledger reading and credit measures run inside PostgreSQL too (same numbers as DuckDB)."""

from __future__ import annotations

import pandas as pd
import pytest

from ledgers import DAY_BOOK_EXPECTED, day_book_csv

pytestmark = pytest.mark.postgres


def test_day_book_credit_in_postgres(postgres_con, tmp_path):
    import segmint

    path = day_book_csv(tmp_path / "daybook.csv")
    result = segmint.credit(str(path), as_of="2023-06-30", con=postgres_con)
    credit = result.credit.set_index("customer_id")
    assert sorted(credit.index) == ["A", "B", "C", "D"]
    for customer, expected in DAY_BOOK_EXPECTED.items():
        for name, value in expected.items():
            got = credit.loc[customer, name]
            assert (pd.isna(got) if value is None else got == pytest.approx(value, abs=0.005)), (customer, name)
    assert result.report.rows_in == 20 and result.report.dropped["counter_ledger"].count == 2
