"""CLI shell: options reach the library, errors exit 2 with a message, the demo job writes everything."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from segmint.cli import app

SALES = """InvoiceNo,InvoiceDate,CustomerID,Quantity,UnitPrice
A1,2023-01-02,c1,1,10
A2,2023-01-02,c1,1,30
A3,2023-01-09,c1,2,5
B1,2023-01-05,c2,1,8
"""


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_frequency_days_and_mean_monetary_reach_the_features(tmp_path):
    (tmp_path / "sales.csv").write_text(SALES)
    result = run("analyze", str(tmp_path / "sales.csv"), "--scheme", "rfm", "--frequency", "days",
                 "--monetary", "mean", "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    features = pd.read_csv(tmp_path / "out" / "features.csv").set_index("customer_id")
    # c1 bought on 2 distinct days (3 invoices) for 10 + 30 + 10 = 50 -> mean 25 per purchase day
    assert features.loc["c1", "frequency"] == 2
    assert features.loc["c1", "monetary"] == 25.0
    assert features.loc["c2", "frequency"] == 1
    assert features.loc["c2", "monetary"] == 8.0
    # snapshot 2023-01-10 (day after the last sale): c1 last bought 2023-01-09
    assert features.loc["c1", "recency_days"] == 1


def test_segment_tables_show_revenue_to_the_cent(tmp_path):
    """The per-segment revenue read 1,710,060 where the quality report and the CSV say 1,710,059.53."""
    (tmp_path / "sales.csv").write_text("InvoiceNo,InvoiceDate,CustomerID,Amount\n"
                                        "A1,2023-01-02,c1,1234.56\nA2,2023-01-09,c1,0.49\n")
    result = CliRunner().invoke(app, ["analyze", str(tmp_path / "sales.csv"), "--scheme", "rfm"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "│" in line and "100.0%" in line)
    assert "1,235.05" in row  # 1234.56 + 0.49, by hand


def test_a_basket_log_without_prices_is_pointed_to_unpriced_units_and_segments_with_it(tmp_path):
    """Groceries_dataset.csv (member, date, item) stopped analyze with 'map a COLUMN to amount', which no
    column could be. Now the fix names --unpriced units, and with it each line counts one item."""
    path = tmp_path / "baskets.csv"
    path.write_text("Member_number,Date,itemDescription\n"
                    "1808,21-07-2015,tropical fruit\n1808,21-07-2015,whole milk\n1808,05-01-2015,pip fruit\n"
                    "2552,19-09-2015,whole milk\n")
    refused = CliRunner().invoke(app, ["analyze", str(path), "--scheme", "rfm"], env={"COLUMNS": "200"})
    assert refused.exit_code == 2
    text = " ".join(refused.output.split())
    assert "no column found for amount" in text and "(a basket log)" in text and "--unpriced units" in text
    result = run("analyze", str(path), "--scheme", "rfm", "--unpriced", "units", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    features = pd.read_csv(tmp_path / "out" / "features.csv", dtype={"customer_id": str}).set_index("customer_id")
    # by hand: 1808 has 3 lines on 2 days (baskets), 2552 one line; without prices the column says items
    assert features.loc["1808", "items"] == 3 and features.loc["1808", "frequency"] == 2
    assert features.loc["2552", "items"] == 1 and features.loc["2552", "frequency"] == 1
    assert "money figures count items" in result.output


def test_bad_options_and_missing_input_exit_2_with_a_message(tmp_path):
    (tmp_path / "sales.csv").write_text(SALES)
    bad_frequency = run("analyze", str(tmp_path / "sales.csv"), "--frequency", "weeks")
    assert bad_frequency.exit_code == 2
    flat = " ".join(bad_frequency.output.replace("│", " ").split())
    assert "choose 'auto', 'invoices' or 'days'" in flat
    nothing = run("analyze")
    assert nothing.exit_code == 2
    assert "--source postgresql://" in nothing.output
    engine = run("story", str(tmp_path / "sales.csv"), "--engine", "flink")
    assert engine.exit_code == 2
    assert "choose 'duckdb' or 'spark'" in engine.output
    bad_map = run("analyze", str(tmp_path / "sales.csv"), "--map", "CustomerID=client")
    assert bad_map.exit_code == 2
    assert "COLUMN=FIELD" in bad_map.output


def test_demo_job_prints_quality_segments_and_where_things_are(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--out", str(out), "--customers", "80", "--years", "1", "--seed", "3")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Data quality report: demo_sales.csv" in text
    assert "rfm segments" in text and "levels segments" in text and "tiers segments" in text
    assert "segmint dashboard --workspace" in text
    assert "then open       : http://127.0.0.1:8050/" in result.output.splitlines()  # one unbroken line
    raw_rows = len(pd.read_csv(out / "demo_sales.csv"))
    quality = pd.read_json(out / "results" / "data_quality.json", typ="series")
    assert quality["rows_in"] == raw_rows  # every generated row is accounted for
    for name in ("features", "segments_rfm", "summary_tiers", "story", "story_cohorts"):
        assert (out / "results" / f"{name}.csv").stat().st_size > 0
    assert (out / "workspace.duckdb").exists()
    recs = pd.read_csv(out / "results" / "recommendations" / "recommendations.csv", dtype={"customer_id": str})
    sales = pd.read_csv(out / "demo_sales.csv")
    assert recs.customer_id.nunique() > 0.9 * sales.CustomerID.nunique()  # nearly every customer gets products
    assert recs.groupby("customer_id")["rank"].max().max() == 10
    assert (out / "results" / "recommendations" / "segment_products.csv").stat().st_size > 0


def test_tally_register_with_debit_and_credit_columns_nets_credit_notes(tmp_path):
    """Title rows, a two-line 'Amount / Debit Credit' header, Indian digit grouping, a credit note."""
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales Register"
    for row in (["ABC Traders Pvt Ltd"], ["Sales Register"], ["1-Apr-2023 to 31-Mar-2024"], [],
                ["Date", "Particulars", "Vch Type", "Vch No.", "Amount", None],
                [None, None, None, None, "Debit", "Credit"],
                [dt.datetime(2023, 4, 1), "Ram Traders", "Sales", 1, "1,23,456.00 Dr", None],
                [dt.datetime(2023, 4, 2), "Shyam & Co", "Sales", 2, "12,500.50 Dr", None],
                [dt.datetime(2023, 4, 3), "Ram Traders", "Credit Note", 3, None, "1,000.00 Cr"],
                ["Grand Total", None, None, None, "1,35,956.50 Dr", "1,000.00 Cr"]):  # fmt: skip
        sheet.append(row)
    sheet.merge_cells("E5:F5")
    book.save(tmp_path / "register.xlsx")

    result = run("analyze", str(tmp_path / "register.xlsx"), "--scheme", "rfm", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "credit <- Amount Credit" in result.output
    features = pd.read_csv(tmp_path / "out" / "features.csv").set_index("customer_id")
    assert features.loc["Ram Traders", "monetary"] == 123_456.00 - 1_000.00  # the credit note nets
    assert features.loc["Shyam & Co", "monetary"] == 12_500.50
    quality = pd.read_json(tmp_path / "out" / "data_quality.json", typ="series")
    assert quality["rows_kept"] == 3 and quality["returns"] == 1
    assert set(quality["dropped"]) == {"total_row"}  # the Grand Total line, counted; nothing else lost


def test_xlsx_export_adds_one_workbook_with_summaries_first(tmp_path):
    import openpyxl

    (tmp_path / "sales.csv").write_text(SALES)
    result = run("analyze", str(tmp_path / "sales.csv"), "--scheme", "rfm", "--format", "xlsx",
                 "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "out" / "segmint_results.xlsx", read_only=True)
    assert book.sheetnames[0] == "summary_rfm"
    assert {"features", "segments_rfm", "excluded_customers"} <= set(book.sheetnames)
    rows = list(book["features"].iter_rows(values_only=True))
    header, body = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert "monetary" in header
    assert body["c1"]["monetary"] == 50 and body["c2"]["monetary"] == 8  # 10+30+2*5 and 8, by hand
    summary = list(book["summary_rfm"].iter_rows(values_only=True))
    customers = summary[0].index("customers")
    assert sum(row[customers] for row in summary[1:]) == 2


def test_tables_too_long_for_excel_fall_back_to_csv(tmp_path, monkeypatch):
    import pytest

    from segmint import exports, report
    from segmint.errors import ConfigError

    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "monetary": [1.0, 2.0, 3.0, 4.0]})
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 4)  # a sheet of 3 data rows + header
    with pytest.raises(ConfigError, match="do not fit an Excel sheet.*CSV or Parquet") as info:
        report.export_table(frame, tmp_path / "big.xlsx")
    assert info.value.fix.option == "fmt" and info.value.fix.example == "csv"

    class Result:  # the parts of an AnalysisResult export_all reads
        features, segments, summaries, report = frame, {}, {"rfm": frame.head(2)}, None
        tables: dict = {}

    written = report.export_all(Result(), tmp_path / "out", "xlsx")
    assert written["features"].suffix == ".csv"  # 4 rows: too long, written as CSV
    assert pd.read_csv(written["features"]).monetary.sum() == 10.0
    assert written["summary_rfm"].suffix == ".xlsx"
    assert written["workbook"].name == "segmint_results.xlsx"


def test_example_config_and_mapping_in_docs_work(tmp_path):
    """docs/examples: the mapping reads a ledger nobody could guess; the config changes the schemes."""
    from pathlib import Path

    import openpyxl

    examples = Path(__file__).parents[1] / "docs" / "examples"
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    sheet = book.create_sheet("Sales")
    sheet.append(["Party A/c Name", "Voucher Dt", "Ref", "Dr Amt", "Cr Amt"])
    rows = [["P1", "03/04/2023", "R1", "100", None], ["P2", "04/04/2023", "R2", "40", None],
            ["P1", "20/04/2023", "R3", "60", None], ["P1", "21/04/2023", "R4", None, "10"]]
    # twelve more parties with different spend, visits and recency so k=4 clusters exist
    for n in range(3, 15):
        rows += [[f"P{n}", f"{day:02d}/05/2023", f"S{n}-{day}", str(7 * n * n), None] for day in range(1, n % 4 + 2)]
    for row in rows:
        sheet.append(row)
    book.save(tmp_path / "ledger.xlsx")
    result = run("analyze", str(tmp_path / "ledger.xlsx"), "--mapping", str(examples / "mapping.yaml"),
                 "--config", str(examples / "segments.yaml"), "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    features = pd.read_csv(tmp_path / "out" / "features.csv").set_index("customer_id")
    assert features.loc["P1", "monetary"] == 150.0  # 100 + 60 - 10 (credit)
    assert features.loc["P1", "first_purchase"] == "2023-04-03"  # dayfirst: 3 April, not 4 March
    assert features.loc["P2", "monetary"] == 40.0
    clusters = pd.read_csv(tmp_path / "out" / "segments_clusters.csv")
    assert clusters.segment.nunique() == 4  # k: 4 from the config (silhouette would choose its own)
    assert set(clusters.segment) == {"Low Value", "Below Average", "Average", "High Value"}


def test_a_window_after_the_data_names_the_dates_the_data_cover(tmp_path):
    """`--from` past the last sale stopped analyze with 'fix: ... --from' (no value); story and clv each
    said it their own way. Every command now names the data's dates and a start that works."""
    (tmp_path / "sales.csv").write_text(SALES)
    for command in ("analyze", "story", "clv"):
        result = CliRunner().invoke(app, [command, str(tmp_path / "sales.csv"), "--from", "2024-01-01"],
                                    env={"COLUMNS": "200"})
        assert result.exit_code == 2, (command, result.output)
        text = " ".join(result.output.split())
        # SALES run from 2023-01-02 to 2023-01-09 (by hand)
        assert "no transactions in the selected window (dates, organisation); the data cover 2023-01-02 to 2023-01-09" in text, command
        assert "--from 2023-01-02" in text and "Traceback" not in text, command


def test_clv_and_crm_read_a_basket_log_with_unpriced_units(tmp_path):
    """clv and crm stopped a basket log (no amount or price) with a fix pointing to 'value each line at
    its quantity', which neither command could do; both now take --unpriced units, as analyze does."""
    import random

    rng = random.Random(7)
    rows = ["Member_number,Date,itemDescription"]
    for member in range(1, 61):  # 60 members, 1-6 baskets each over 2015, 1-3 items a basket
        for _ in range(rng.randint(1, 6)):
            day = f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-2015"
            rows += [f"{member},{day},{rng.choice(['milk', 'bread', 'soda'])}" for _ in range(rng.randint(1, 3))]
    path = tmp_path / "baskets.csv"
    path.write_text("\n".join(rows) + "\n")
    refused = CliRunner().invoke(app, ["clv", str(path)], env={"COLUMNS": "200"})
    assert refused.exit_code == 2 and "--unpriced units" in " ".join(refused.output.split())
    done = run("clv", str(path), "--unpriced", "units", "--no-compare", "--out", str(tmp_path / "clv"))
    assert done.exit_code == 0, done.output
    clv = pd.read_csv(tmp_path / "clv" / "clv.csv")
    assert len(clv) == 60  # every member valued (in items)
    lists = run("crm", str(path), "--unpriced", "units", "--tagged", "--out", str(tmp_path / "crm"))
    assert lists.exit_code == 0, lists.output
    tagged = pd.concat(pd.read_csv(p) for p in (tmp_path / "crm").glob("*.csv"))
    assert len(tagged) == 60
