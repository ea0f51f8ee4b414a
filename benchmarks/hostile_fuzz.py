"""Run segmint's commands on hostile files and flag every run that does not end in one clear screen.

    python -m benchmarks.hostile_fuzz SRC_DIR OUT_DIR [case-substring ...]

SRC_DIR is the ``src`` folder of the tree to try (``PYTHONPATH`` of each run); the files are written to
OUT_DIR/files, each command's outputs to OUT_DIR/runs and the flagged runs' output to OUT_DIR/flagged.txt.
A run is flagged when its output holds "Traceback", an exception class name (``FooError``,
``FooException``), "panicked" or "Killed", or it exits with another code than 0 or 2, or non-zero
without an ``error:`` screen, or takes over 180 s. Session 17: amounts of 1e17 (analyze, tiers,
report) and a ledger debit of 1e17 (credit) were tracebacks; a file of 10,000 columns takes minutes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

FILES = Path("files")  # set by main: OUT_DIR/files
PY = sys.executable
SCHEMES = ["rfm", "levels", "tiers", "clusters", "value"]
EXC = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback|panicked|Segmentation fault|Killed")


def rows(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def normal(n: int = 30) -> list[str]:
    out = []
    for i in range(n):
        out.append(f"C{i % 7},2021-{1 + i % 12:02d}-{1 + i % 27:02d},{10 + i}.50")
    return out


def write(name: str, content: str | bytes) -> Path:
    path = FILES / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def day(i: int) -> str:
    return f"2021-0{1 + i % 9}-1{i % 9}"


def make_files() -> dict[str, Path]:
    h = "customer,date,amount"
    files: dict[str, Path] = {}
    base = normal()
    for label, value in [("1e17", "1e17"), ("neg1e17", "-1e17"), ("1e308", "1e308"), ("inf", "inf"),
                         ("neginf", "-inf"), ("nan", "NaN"), ("commas", '"1,2,3"'), ("bigint", "100000000000000000"),
                         ("9e15", "9000000000000000"), ("2e15", "2000000000000000")]:
        files[f"amt_{label}"] = write(f"amt_{label}.csv", rows([h, *base, f"Z,2021-03-03,{value}"]))
    large = [f"A{i % 3},{day(i)},900000000000000" for i in range(20)]
    files["sum_overflow"] = write("sum_overflow.csv", rows([h, *large]))
    big = ["A,2021-01-02,100000000000000000", "B,2021-02-03,5.25", "C,2021-02-05,7.00"]
    files["big_lead"] = write("big_lead.csv", rows([h, *big]))
    q = "customer,date,quantity,price"
    priced = [f"C{i % 5},{day(i)},{1 + i},2.5" for i in range(20)]
    files["qty_huge"] = write("qty_huge.csv", rows([q, *priced, "Z,2021-03-03,1e300,1e10"]))
    returned = [f"C{i % 5},{day(i)},-{1 + i},2.5" for i in range(20)]
    files["qty_negative"] = write("qty_negative.csv", rows([q, *returned]))
    files["qty_tiny"] = write("qty_tiny.csv", rows([q, *priced, "Z,2021-03-03,1e-300,1e10"]))
    costed = [f"C{i % 5},{day(i)},{10 + i},{5 + i}" for i in range(20)]
    files["cost_huge"] = write("cost_huge.csv", rows(["customer,date,amount,cost", *costed, "Z,2021-03-03,10,1e300"]))
    for label, value in [("year1", "0001-01-01"), ("year9999", "9999-12-31"), ("day0", "1900-01-00")]:
        files[f"date_{label}"] = write(f"date_{label}.csv", rows([h, *base, f"Z,{value},5"]))
    files["all_dates_year1"] = write("all_dates_year1.csv", rows([h, "A,0001-01-01,5", "B,0001-02-01,6"]))
    files["one_row"] = write("one_row.csv", rows([h, "A,2021-01-02,5"]))
    files["only_returns"] = write("only_returns.csv", rows([h, *[f"C{i % 4},{day(i)},-{5 + i}" for i in range(12)]]))
    files["blank_ids"] = write("blank_ids.csv", rows([h, *[f",{day(i)},{5 + i}" for i in range(12)]]))
    wide = ["customer,date,amount," + ",".join(f"x{i}" for i in range(10000))]
    wide += [f"C{i},2021-01-0{1+i},{5+i}," + ",".join("1" for _ in range(10000)) for i in range(5)]
    files["wide"] = write("wide.csv", rows(wide))
    files["zero_bytes"] = write("zero_bytes.csv", b"")
    files["header_only"] = write("header_only.csv", rows([h]))
    files["garbage"] = write("garbage.csv", bytes(range(256)) * 40)
    files["utf16"] = write("utf16.csv", b"\xff\xfe" + rows([h, *base]).encode("utf-16-le"))
    mixed = ["A;2021-01-02;5", "B,2021-01-03,6", "C\t2021-01-04\t7", "D|2021-01-05|8"]
    files["mixed_delims"] = write("mixed_delims.csv", rows([h, *mixed]))
    files["json_bad_products"] = write("json_bad_products.json", json.dumps([
        {"customer": "A", "date": "2021-01-02", "amount": 5, "product_json": "{not json"},
        {"customer": "B", "date": "2021-01-03", "amount": 6, "product_json": "[{\"sku\": 1,"},
    ]))
    files["json_items_bad"] = write("json_items_bad.json", json.dumps([
        {"customer": "A", "date": "2021-01-02", "items": "{broken"},
        {"customer": "B", "date": "2021-01-03", "items": [{"sku": "x", "qty": "lots", "price": None}]},
    ]))
    files["json_empty_list"] = write("json_empty_list.json", "[]")
    files["json_scalar"] = write("json_scalar.json", "42")
    try:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Sales report 2021"])
        sheet.append([])
        sheet.append(["customer", "date", "amount"])
        for line in base:
            c, d, a = line.split(",")
            sheet.append([c, d, float(a)])
        sheet.append(["Z", "2021-03-03", 1e17])
        book.create_sheet("Empty")
        book.save(FILES / "excel_title.xlsx")
        files["excel_title"] = FILES / "excel_title.xlsx"
        book = openpyxl.Workbook()
        book.save(FILES / "excel_empty.xlsx")
        files["excel_empty"] = FILES / "excel_empty.xlsx"
    except ImportError:
        pass
    party = "<ALLLEDGERENTRIES.LIST><LEDGERNAME>{}</LEDGERNAME><ISDEEMEDPOSITIVE>Yes</ISDEEMEDPOSITIVE>{}"
    sales = "<ALLLEDGERENTRIES.LIST><LEDGERNAME>Sales</LEDGERNAME><ISDEEMEDPOSITIVE>No</ISDEEMEDPOSITIVE>{}"
    end = "</ALLLEDGERENTRIES.LIST>"

    def voucher(number: int, name: str, party_amount: str, sales_amount: str) -> str:
        return (f'<TALLYMESSAGE><VOUCHER VCHTYPE="Sales"><DATE>2021040{number}</DATE>'
                f"<VOUCHERTYPENAME>Sales</VOUCHERTYPENAME><VOUCHERNUMBER>{number}</VOUCHERNUMBER>"
                f"<PARTYLEDGERNAME>{name}</PARTYLEDGERNAME>{party.format(name, party_amount)}{end}"
                f"{sales.format(sales_amount)}{end}</VOUCHER></TALLYMESSAGE>\n")

    tally = ("<ENVELOPE><BODY><IMPORTDATA><REQUESTDATA>\n" + voucher(1, "Acme", "", "<AMOUNT>100.00</AMOUNT>")
             + voucher(2, "Beta", "<AMOUNT>-1e17</AMOUNT>", "<AMOUNT>1e17</AMOUNT>")
             + "</REQUESTDATA></IMPORTDATA></BODY></ENVELOPE>\n")
    files["tally_missing_amount"] = write("tally_missing_amount.xml", tally)
    ledger = rows(["Date,Party,Voucher Type,Voucher No,Debit,Credit",
                   "2021-01-01,Acme,Sales,1,1000,", "2021-01-20,Acme,Receipt,2,,1000",
                   "2021-02-01,Beta,Sales,3,1e17,", "2021-02-03,Gamma,Sales,4,500,",
                   "2021-03-01,Gamma,Receipt,5,,inf"])
    files["ledger_big"] = write("ledger_big.csv", ledger)
    return files


def commands(name: str, path: Path, out: Path) -> list[list[str]]:
    if name.startswith(("ledger", "tally")):
        runs = [["credit", str(path), "--out", str(out / "credit")]]
        if name.startswith("tally"):
            runs.append(["analyze", str(path), "--out", str(out / "a")])
        return runs
    runs = [["analyze", str(path), "--out", str(out / "all")]]
    if name.startswith(("amt_", "big", "sum_", "qty_", "cost_", "excel_title")):
        runs += [["analyze", str(path), "--scheme", s, "--out", str(out / s)] for s in SCHEMES]
    runs += [["story", str(path), "--out", str(out / "story")],
             ["clv", str(path), "--out", str(out / "clv")],
             ["recommend", str(path), "--out", str(out / "rec")],
             ["report", str(path), "--out", str(out / "report.html")]]
    return runs


def judge(code: int, output: str) -> str | None:
    if EXC.search(output):
        return "exception text: " + EXC.search(output).group(0)
    if code not in (0, 2) or (code != 0 and "error:" not in output.lower()):
        return f"exit {code} without an error screen"
    return None


def main() -> None:
    global FILES
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    source, target, only = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    FILES = target / "files"
    FILES.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(source), "COLUMNS": "100"}
    flagged = []
    for name, path in make_files().items():
        if only and not any(o in name for o in only):
            continue
        runs = target / "runs" / name
        for args in commands(name, path, runs):
            try:
                done = subprocess.run([PY, "-m", "segmint.cli", *args], capture_output=True, text=True,
                                      env=env, timeout=180, cwd=str(target))
                code, output = done.returncode, done.stdout + done.stderr
            except subprocess.TimeoutExpired:
                code, output = -9, "TIMEOUT"
            verdict = judge(code, output)
            tag = "FLAG" if verdict else "ok  "
            last = [line for line in output.strip().splitlines() if line.strip()][-1:] or [""]
            command = " ".join(args[:1] + args[2:4] if "--scheme" in args else args[:1])
            print(f"{tag} {name:24} {command:18} rc={code} {verdict or ''} | {last[0][:110]}", flush=True)
            if verdict:
                flagged.append((name, args, output))
    log = target / "flagged.txt"
    with open(log, "w") as handle:
        for name, args, output in flagged:
            handle.write(f"===== {name} {' '.join(args)}\n{output[-4000:]}\n")
    print(f"{len(flagged)} flagged; details in {log}")


if __name__ == "__main__":
    main()
