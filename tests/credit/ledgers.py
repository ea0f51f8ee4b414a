"""Small ledgers in every layout, built in code, with their measures computed by hand (see each docstring)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

DAY_BOOK_HEADER = ["Date", "Particulars", "Vch Type", "Vch No.", "Debit Amount", "Credit Amount"]
# A Day Book of 2023 (opening balances are not in a Day Book; party A's is a row of the ledger here):
#   A: opening 1,000 (dated 01-01); S1 5,000 on 01-10; S2 3,000 on 02-01; receipt 4,000 on 02-15 pays the
#      opening (45 days) and 3,000 of S1 (36 days); credit note 500 on 03-01 takes S1 to 1,500 open (not a
#      payment); receipt 2,500 on 04-20 pays S1's 1,500 (100 days) and 1,000 of S2 (78 days); S3 1,200 on
#      06-10. As of 06-30: outstanding 3,200 = S2 2,000 (149 days: 90+) + S3 1,200 (20 days: 0-30).
#      days to pay (1000*45 + 3000*36 + 1500*100 + 1000*78) / 6500 = 58.62; late beyond 30 days:
#      (1000*15 + 3000*6 + 1500*70 + 1000*48) / 6500 = 28.62; bills 4, both settled bills paid late;
#      credit notes 500 / sales 9,200 = 5.43 %; highest end-of-day balance 9,000 (02-01).
#   B: advance 2,000 on 03-01; S4 1,500 on 03-10 and S5 1,000 on 04-05 take it (0 days); S5 500 open,
#      86 days old: aging 61-90. Outstanding 500.
#   C: S6 700 on 02-01, never paid: 149 days, 90+. Days to pay blank; days late incl. open 119.
#   D: S7 600 on 05-01, receipt 1,000 on 05-15: outstanding -400 (400 on account), days to pay 14.
# Not customers: Cash (a counter-ledger, cash sale), HDFC Bank (contra), supplier E (purchase + payment),
# and a Sales Order and a Delivery Note move no money. One row has an unreadable amount.
DAY_BOOK_ROWS = [
    ["01-01-2023", "A", "Opening Balance", "", "1,000.00", ""],
    ["10-01-2023", "A", "Sales", "S1", "5,000.00", ""],
    ["12-01-2023", "Cash", "Sales", "S0", "250.00", ""],
    ["20-01-2023", "E", "Purchase", "P1", "", "8,000.00"],
    ["01-02-2023", "A", "Bhosari Sales", "S2", "3,000.00", ""],
    ["01-02-2023", "C", "Nashik Sales", "S6", "700.00", ""],
    ["15-02-2023", "A", "Nashik Reciept", "R1", "", "4,000.00"],
    ["16-02-2023", "E", "Payment", "PY1", "8,000.00", ""],
    ["20-02-2023", "HDFC Bank", "Contra", "C1", "", "10,000.00"],
    ["01-03-2023", "A", "Credit Note", "CN1", "", "500.00"],
    ["01-03-2023", "B", "Receipt", "R3", "", "2,000.00"],
    ["05-03-2023", "B", "Sales Order", "SO1", "9,999.00", ""],
    ["10-03-2023", "B", "Sales", "S4", "1,500.00", ""],
    ["11-03-2023", "B", "Delivery Note", "DN1", "", "1,500.00"],
    ["05-04-2023", "B", "Sales", "S5", "1,000.00", ""],
    ["20-04-2023", "A", "Receipt", "R2", "", "2,500.00"],
    ["01-05-2023", "D", "Sales", "S7", "600.00", ""],
    ["02-05-2023", "D", "Sales", "S8", "six hundred", ""],
    ["15-05-2023", "D", "Receipt", "R4", "", "1,000.00"],
    ["10-06-2023", "A", "Sales", "S3", "1,200.00", ""],
]
DAY_BOOK_EXPECTED = {
    "A": {"outstanding": 3200.0, "aging_0_30": 1200.0, "aging_31_60": 0.0, "aging_61_90": 0.0,
          "aging_90_plus": 2000.0, "avg_days_to_pay": 58.62, "bills": 4, "bills_paid_late": 2},
    "B": {"outstanding": 500.0, "aging_0_30": 0.0, "aging_31_60": 0.0, "aging_61_90": 500.0,
          "aging_90_plus": 0.0, "avg_days_to_pay": 0.0, "bills": 2, "bills_paid_late": 0},
    "C": {"outstanding": 700.0, "aging_0_30": 0.0, "aging_31_60": 0.0, "aging_61_90": 0.0,
          "aging_90_plus": 700.0, "avg_days_to_pay": None, "bills": 1, "bills_paid_late": 0},
    "D": {"outstanding": -400.0, "aging_0_30": 0.0, "aging_31_60": 0.0, "aging_61_90": 0.0,
          "aging_90_plus": 0.0, "avg_days_to_pay": 14.0, "bills": 1, "bills_paid_late": 0},
}


def day_book_csv(path: Path) -> Path:
    lines = [",".join(f'"{c}"' if "," in c else c for c in row) for row in [DAY_BOOK_HEADER, *DAY_BOOK_ROWS]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def day_book_xlsx(path: Path) -> Path:
    """The same Day Book as Tally exports it to Excel: title rows, real dates, a caption line, a total."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Day Book"
    for title in (["Demo Traders Pvt Ltd"], ["Pune"], ["Day Book"], ["1-Jan-23 to 30-Jun-23"]):
        sheet.append(title)
    sheet.append(DAY_BOOK_HEADER)
    sheet.append([None, None, None, None, None, None])
    for row in DAY_BOOK_ROWS:
        day = dt.datetime.strptime(row[0], "%d-%m-%Y")
        numbers = [float(v.replace(",", "")) if v and v[0].isdigit() else (v or None) for v in row[4:]]
        sheet.append([day, row[1], row[2], row[3] or None, *numbers])
    sheet.append([None, "Grand Total", None, None, 1.0, 1.0])
    book.save(path)
    return path


# One party's Ledger Account ("Sharma Stores"), Tally style: the party on the line above "Ledger Account".
#   Opening 2,000 (dated 2023-04-01, the period start); S101 10,000 on 04-05; receipt 7,000 on 04-20 pays
#   the opening (19 days) and 5,000 of S101 (15); credit note 1,000 on 05-02 leaves S101 at 4,000; S102
#   4,000 on 05-10; receipt 5,000 on 06-15 pays S101's 4,000 (71 days) and 1,000 of S102 (36 days).
#   As of 2023-06-30 with 30-day terms: outstanding 3,000 = S102's open 3,000, due 06-09 -> 21 days: 0-30.
#   Days to pay (2000*19 + 5000*15 + 4000*71 + 1000*36) / 12000 = 36.08; days late (4000*41 + 1000*6) /
#   12000 = 14.17; bills 3, paid late 1 (S101, settled 06-15 after its 05-05 due date).
LEDGER_TITLES = ["ABC Traders Pvt Ltd", "12 MG Road, Pune", "Sharma Stores", "Ledger Account", "1-Apr-2023 to 31-Mar-2024"]
LEDGER_ROWS = [
    [None, "Opening Balance", None, None, 2000.0, None],
    [dt.datetime(2023, 4, 5), "To Sales A/c", "Sales", "101", 10000.0, None],
    [dt.datetime(2023, 4, 20), "By HDFC Bank", "Receipt", "R1", None, 7000.0],
    [dt.datetime(2023, 5, 2), "By Sales Returns", "Credit Note", "CN1", None, 1000.0],
    [dt.datetime(2023, 5, 10), "To Sales A/c", "Sales", "102", 4000.0, None],
    [dt.datetime(2023, 6, 15), "By Cash", "Receipt", "R2", None, 5000.0],
    [None, "Current Total", None, None, 16000.0, 13000.0],
    [None, "Closing Balance", None, None, 3000.0, None],
    [None, None, None, None, 16000.0, 16000.0],  # the sums Tally prints last: no date, type or particulars
]


def ledger_account_xlsx(path: Path, *, titles: list[str] | None = None, closing: float = 3000.0) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for title in LEDGER_TITLES if titles is None else titles:
        sheet.append([title])
    sheet.append(["Date", "Particulars", "Vch Type", "Vch No.", "Debit", "Credit"])
    for row in LEDGER_ROWS:
        sheet.append(row if row[1] != "Closing Balance" else [*row[:4], closing, None])
    book.save(path)
    return path


# Tally XML (UTF-16, with &#4; references and a raw control byte as real exports have): masters say
# 'Counter Sale' derives from Sales and Ram Traders is under Sundry Debtors.
#   INV-1 1,000 on 04-01 and INV-2 2,000 on 04-10 (30 days credit each). Receipt 2,000 on 04-20 Agst Ref
#   INV-2 (10 days; FIFO would have paid INV-1). Receipt 1,500 on 05-25: Agst Ref INV-1 1,000 (54 days,
#   24 late) + On Account 500. As of 05-31: outstanding -500 (on account 500), aging all zero,
#   days to pay (2000*10 + 1000*54) / 3000 = 24.67, bills 2, paid late 1.
def _voucher(kind: str, day: str, number: str, party: str, amount: str, bills: list[tuple[str, str, str]],
             other: str) -> str:
    allocations = "".join(
        f"<BILLALLOCATIONS.LIST><NAME>{name}</NAME><BILLTYPE>{bill_type}</BILLTYPE>"
        f"<BILLCREDITPERIOD>30 Days</BILLCREDITPERIOD><AMOUNT>{value}</AMOUNT></BILLALLOCATIONS.LIST>"
        for name, bill_type, value in bills
    )
    other_amount = amount[1:] if amount.startswith("-") else "-" + amount
    return (
        f'<TALLYMESSAGE><VOUCHER VCHTYPE="{kind}" ACTION="Create"><DATE>{day}</DATE>'
        f"<VOUCHERTYPENAME>{kind}</VOUCHERTYPENAME><VOUCHERNUMBER>{number}</VOUCHERNUMBER>"
        f"<PARTYLEDGERNAME>{party}</PARTYLEDGERNAME>"
        f"<ALLLEDGERENTRIES.LIST><LEDGERNAME>{party}</LEDGERNAME><ISDEEMEDPOSITIVE>"
        f"{'Yes' if amount.startswith('-') else 'No'}</ISDEEMEDPOSITIVE><ISPARTYLEDGER>Yes</ISPARTYLEDGER>"
        f"<AMOUNT>{amount}</AMOUNT>{allocations}</ALLLEDGERENTRIES.LIST>"
        f"<ALLLEDGERENTRIES.LIST><LEDGERNAME>{other}</LEDGERNAME><AMOUNT>{other_amount}</AMOUNT>"
        f"</ALLLEDGERENTRIES.LIST></VOUCHER></TALLYMESSAGE>"
    )


def tally_xml(path: Path) -> Path:
    body = "".join([
        '<TALLYMESSAGE><VOUCHERTYPE NAME="Counter Sale" RESERVEDNAME=""><PARENT>Sales</PARENT></VOUCHERTYPE>'
        '</TALLYMESSAGE>',
        '<TALLYMESSAGE><GROUP NAME="Sundry Debtors" RESERVEDNAME="Sundry Debtors"><PARENT>&#4; Primary</PARENT>'
        "</GROUP></TALLYMESSAGE>",
        '<TALLYMESSAGE><LEDGER NAME="Ram Traders"><PARENT>Sundry Debtors</PARENT></LEDGER></TALLYMESSAGE>',
        _voucher("Counter Sale", "20230401", "INV-1", "Ram Traders", "-1000.00", [("INV-1", "New Ref", "-1000.00")],
                 "Sales A/c"),
        _voucher("Sales", "20230410", "INV-2", "Ram Traders", "-2000.00", [("INV-2", "New Ref", "-2000.00")],
                 "Sales A/c"),
        _voucher("Receipt", "20230420", "R-1", "Ram Traders", "2000.00", [("INV-2", "Agst Ref", "2000.00")],
                 "HDFC Bank"),
        _voucher("Receipt", "20230525", "R-2", "Ram Traders", "1500.00",
                 [("INV-1", "Agst Ref", "1000.00"), ("ADV", "On Account", "500.00")], "Cash"),
    ])
    text = ('<?xml version="1.0" encoding="UTF-16"?>\r\n<ENVELOPE><HEADER><TALLYREQUEST>Import Data</TALLYREQUEST>'
            "</HEADER><BODY><IMPORTDATA><REQUESTDESC><REPORTNAME>Vouchers</REPORTNAME><STATICVARIABLES>"
            "<SVCURRENTCOMPANY>Demo\x05Co</SVCURRENTCOMPANY></STATICVARIABLES></REQUESTDESC><REQUESTDATA>"
            f"{body}</REQUESTDATA></IMPORTDATA></BODY></ENVELOPE>\r\n")
    path.write_bytes(text.encode("utf-16"))
    return path


# A bill-wise receivables table (dates month first, as US exports write them):
#   X: I1 100 on 01/05 due 02/04 paid 01/20 (15 days, on time); I2 300 on 02/01 due 03/03 paid 03/13 (40
#      days, 10 late). Days to pay (100*15 + 300*40) / 400 = 33.75; days late 3000 / 400 = 7.5; 1 of 2 late.
#   Y: I3 50 on 03/01 due 03/31, not settled: as of 06/30 it is 91 days past due -> 90+ (aging from due dates).
RECEIVABLES = """invoiceNumber,customerID,InvoiceDate,DueDate,InvoiceAmount,SettledDate
0001,X,1/5/2023,2/4/2023,100.00,1/20/2023
0002,X,2/1/2023,3/3/2023,300.00,3/13/2023
0003,Y,3/1/2023,3/31/2023,50.00,
"""
