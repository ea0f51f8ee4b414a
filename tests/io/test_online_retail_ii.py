"""The Online Retail II export as CSV, in both forms it circulates in (UCI/ISO dates, Kaggle m/d/yyyy h:mm).

Latin-1 bytes ('£' as 0xA3) appear only past the head the encoding is sniffed from, customer ids are
floats written ``13085.0`` and cancellations are invoices ``C489449`` with negative quantities.
"""

from __future__ import annotations

import datetime as dt

import pytest

import segmint

HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
FILLER = 4_000  # lines of ASCII first: about 300 KB, past the 256 KB the encoding is sniffed from
LINES = [  # (invoice, stock, description, quantity, date, price, customer, country)
    ("489434", "85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", 12, dt.datetime(2009, 12, 1, 7, 45), "6.95", "13085.0", "United Kingdom"),
    ("C489449", "22087", "PAPER BUNTING WHITE LACE", -12, dt.datetime(2009, 12, 1, 10, 33), "2.95", "16321.0", "Australia"),
    ("489436", "POST", "POSTAGE £ PER PARCEL", 1, dt.datetime(2009, 12, 13, 9, 6), "18.00", "13078.0", "United Kingdom"),
    ("489437", "21523", "DOORMAT HOME SWEET HOME", 2, dt.datetime(2009, 12, 14, 9, 8), "7.49", "", "United Kingdom"),
]


def _write(path, stamp):
    filler = [f"{500000 + i // 8},22350,CAT BOWL,1,{stamp(dt.datetime(2010, 1, 4 + i % 20, 9, 0))},2.55,{12346 + i % 300}.0,France"
              for i in range(FILLER)]  # fmt: skip
    tail = [f"{i},{s},{d},{q},{stamp(t)},{p},{c},{n}" for i, s, d, q, t, p, c, n in LINES]
    path.write_bytes(("\n".join([HEADER, *filler, *tail]) + "\n").encode("latin-1"))


@pytest.mark.parametrize(
    "stamp",
    [lambda t: t.strftime("%Y-%m-%d %H:%M:%S"), lambda t: f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}"],
    ids=["uci_iso", "kaggle_m_d_y"],
)
def test_online_retail_ii_csv(tmp_path, stamp):
    path = tmp_path / "online_retail_II.csv"
    _write(path, stamp)
    tx = segmint.read_transactions(str(path))
    report = tx.report
    assert (report.rows_in, report.rows_kept) == (FILLER + 4, FILLER + 3)
    assert report.dropped["missing_customer"].examples[0]["_row"] == FILLER + 5  # header = row 1
    assert report.returns == 1 and report.returns_value == pytest.approx(-35.40)
    t = tx.table
    mine = t.filter(t.invoice_id.isin(["489434", "C489449", "489436"])).order_by("invoice_date").execute()
    assert mine["customer_id"].tolist() == ["13085", "16321", "13078"]  # not 13085.0
    assert mine["is_return"].tolist() == [False, True, False]
    assert mine["amount"].round(2).tolist() == [83.40, -35.40, 18.00]  # 12 x 6.95, -12 x 2.95, 1 x 18.00
    assert mine["product_name"].tolist()[2] == "POSTAGE £ PER PARCEL"
    assert [d.to_pydatetime() for d in mine["invoice_date"]] == [LINES[0][4], LINES[1][4], LINES[2][4]]
    # CAT BOWL lines: 4,000 x 2.55 plus the three above
    assert round(report.total_amount, 2) == round(FILLER * 2.55 + 83.40 - 35.40 + 18.00, 2)
