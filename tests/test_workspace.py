"""Workspace appends: a line's identity is what it is (fields + occurrence), a source's is its content hash."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.cli import app
from segmint.errors import BackendError, InputError
from segmint.schema import CANONICAL_COLUMNS, CANONICAL_DTYPES
from segmint.workspace import Workspace

HEADER = "invoice,customer,date,product,quantity,amount\n"


def canonical(rows: list[tuple[str, int, str, str, float]]) -> ibis.Table:
    """Canonical table from (invoice, line, customer, ISO date, amount) tuples (also used by test_live)."""
    frame = pd.DataFrame({
        "invoice_id": [r[0] for r in rows], "line_no": [r[1] for r in rows], "customer_id": [r[2] for r in rows],
        "invoice_date": pd.to_datetime([r[3] for r in rows]), "product_id": "P1", "product_name": None,
        "quantity": 1.0, "unit_price": [r[4] for r in rows], "amount": [r[4] for r in rows], "cost": None,
        "country": "India", "org_id": None, "is_return": False,
    })  # fmt: skip
    return ibis.memtable(frame).cast(dict(CANONICAL_DTYPES)).select(*CANONICAL_COLUMNS)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def stored(path: Path) -> pd.DataFrame:
    """The workspace's lines as a plain frame, read with DuckDB directly (not through segmint)."""
    with duckdb.connect(str(path), read_only=True) as db:
        return db.execute("SELECT * FROM transactions ORDER BY invoice_date, customer_id, amount").df()


def import_log(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as db:
        return db.execute("SELECT * FROM imports ORDER BY import_id").df()


def ingest(workspace: Path, *files: Path) -> list:
    with Workspace(workspace) as ws:
        return [ws.ingest(f) for f in files]


def test_same_file_name_in_two_folders_both_land(tmp_path):
    # no invoice column: cleaning makes ids from the file name and row; they must not collide
    jan = write(tmp_path / "jan" / "sales.csv", "customer,date,amount\nc1,2023-01-05,10.50\nc2,2023-01-06,20\n")
    feb = write(tmp_path / "feb" / "sales.csv", "customer,date,amount\nc1,2023-02-05,11\nc3,2023-02-06,20\n")
    ws = tmp_path / "ws.duckdb"
    first, second = ingest(ws, jan, feb)
    assert (first.rows_added, second.rows_added, second.rows_already_present) == (2, 2, 0)
    lines = stored(ws)
    assert lines.amount.tolist() == [10.5, 20.0, 11.0, 20.0]
    assert lines.invoice_id.is_unique  # c1's two purchases stay two invoices
    from segmint.api import analyze

    features = analyze(ws, scheme="rfm").features.execute().set_index("customer_id")
    assert features.frequency.to_dict() == {"c1": 2, "c2": 1, "c3": 1}
    assert features.monetary.to_dict() == {"c1": 21.5, "c2": 20.0, "c3": 20.0}


def test_financial_year_invoice_numbers_restart_and_both_years_land(tmp_path):
    # Tally numbers vouchers 1, 2, 3 again every April
    fy23 = write(tmp_path / "fy2023.csv", HEADER + "1,c1,2023-04-03,P1,1,100\n2,c2,2023-04-05,P1,2,200\n")
    fy24 = write(tmp_path / "fy2024.csv", HEADER + "1,c1,2024-04-02,P1,1,100\n2,c3,2024-04-04,P2,1,50\n")
    ws = tmp_path / "ws.duckdb"
    results = ingest(ws, fy23, fy24)
    assert [r.rows_added for r in results] == [2, 2]
    assert stored(ws).invoice_id.tolist() == ["1", "2", "1", "2"]


def test_same_invoice_number_on_another_date_or_customer_is_another_line(tmp_path):
    base = write(tmp_path / "a.csv", HEADER + "7,c1,2023-05-13,P1,1,10\n")
    other_day = write(tmp_path / "b.csv", HEADER + "7,c1,2023-05-14,P1,1,10\n")
    other_customer = write(tmp_path / "c.csv", HEADER + "7,c2,2023-05-13,P1,1,10\n")
    same_line = write(tmp_path / "d.csv", "date,invoice,amount,customer,product,quantity\n13/05/2023,7,10.00,c1,P1,1\n")
    results = ingest(tmp_path / "ws.duckdb", base, other_day, other_customer, same_line)
    assert [r.rows_added for r in results] == [1, 1, 1, 0]
    # d.csv is the first line written another way (column order, date and amount formats)
    assert results[3].already_present_why == {f"identical to lines imported from {base} (import 1)": 1}


def test_overlapping_exports_add_only_new_lines(tmp_path):
    rows = {
        "jan": "A1,c1,2023-01-10,P1,1,10\nA1,c1,2023-01-10,P2,2,4\n",
        "feb": "A2,c2,2023-02-11,P1,1,10\n",
        "mar": "A3,c1,2023-03-12,P3,5,2.5\n",
        "apr": "A4,c3,2023-04-13,P1,1,10\nA4,c3,2023-04-13,P2,1,2\n",
    }
    q1 = write(tmp_path / "jan-mar.csv", HEADER + rows["jan"] + rows["feb"] + rows["mar"])
    q2 = write(tmp_path / "feb-apr.csv", HEADER + rows["feb"] + rows["mar"] + rows["apr"])
    ws = tmp_path / "ws.duckdb"
    first, second = ingest(ws, q1, q2)
    assert (first.rows_offered, first.rows_added) == (4, 4)
    assert (second.rows_offered, second.rows_added, second.rows_already_present) == (4, 2, 2)
    assert second.already_present_why == {f"identical to lines imported from {q1} (import 1)": 2}
    lines = stored(ws)
    assert len(lines) == 6 and lines.amount.sum() == pytest.approx(10 + 4 + 10 + 2.5 + 10 + 2)


def test_identical_lines_count_by_occurrence_without_an_invoice_column(tmp_path):
    # CDNOW-style log: the same customer really bought the same value twice on one day
    line = "c1,1997-01-05,2,20.00\n"
    header = "customer_id,date,number_of_cds,dollar_value\n"
    twice = write(tmp_path / "twice.csv", header + line * 2 + "c2,1997-01-06,1,9.99\n")
    twice_overlap = write(tmp_path / "twice_again.csv", header + "c2,1997-01-06,1,9.99\n" + line * 2)
    thrice = write(tmp_path / "thrice.csv", header + line * 3)
    results = ingest(tmp_path / "ws.duckdb", twice, twice_overlap, thrice)
    assert [(r.rows_offered, r.rows_added) for r in results] == [(3, 3), (3, 0), (3, 1)]
    lines = stored(tmp_path / "ws.duckdb")
    assert (lines.customer_id == "c1").sum() == 3
    assert lines.line_key.is_unique


def test_same_content_under_another_name_adds_nothing_and_says_why(tmp_path):
    original = write(tmp_path / "export.csv", HEADER + "A1,c1,2023-01-10,P1,1,10\nA2,c2,2023-01-11,P1,1,5\n")
    renamed = tmp_path / "elsewhere" / "copy of export.csv"
    renamed.parent.mkdir()
    renamed.write_bytes(original.read_bytes())
    ws = tmp_path / "ws.duckdb"
    first, second = ingest(ws, original, renamed)
    assert (second.rows_offered, second.rows_added, second.rows_already_present) == (2, 0, 2)
    (why,) = second.already_present_why
    assert why.startswith("same content (sha256 ") and f"as {original} (import 1" in why
    log = import_log(ws)
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    assert log.content_hash.tolist() == [digest, digest]
    assert log.source.tolist() == [str(original), str(renamed)]
    assert log.rows_added.tolist() == [2, 0] and log.rows_already_present.tolist() == [0, 2]
    assert json.loads(log.already_present_why.iloc[1]) == {why: 2}
    assert log.imported_at.notna().all() and log.report_json.iloc[0].startswith("{")
    assert len(stored(ws)) == 2


def test_append_canonical_tables_from_python(tmp_path):
    table = canonical([("B1", 1, "c1", "2023-01-02", 10.0), ("B1", 2, "c1", "2023-01-02", 10.0),
                       ("B2", 1, "c2", "2023-02-03", 7.5)])  # B1's two lines are identical: both kept
    with Workspace(tmp_path / "ws.duckdb") as ws:
        first = ws.append(table, source="frame")
        again = ws.append(table, source="frame")
        assert (first.rows_added, again.rows_added, again.rows_already_present) == (3, 0, 3)
        assert ws.transactions().columns == CANONICAL_COLUMNS
        assert ws.imports().count().execute() == 2


def test_empty_workspace_explains_how_to_fill_it(tmp_path):
    with Workspace(tmp_path / "empty.duckdb") as ws, pytest.raises(BackendError, match="no transactions yet; ingest"):
        ws.transactions()
    with pytest.raises(InputError, match="not found"):
        Workspace(tmp_path / "missing.duckdb", create=False)


def test_older_workspace_gets_line_identities(tmp_path):
    path = tmp_path / "old.duckdb"
    csv = write(tmp_path / "sales.csv", HEADER + "A1,c1,2023-01-10,P1,1,10\nA2,c2,2023-01-11,P1,1,5\n")
    with duckdb.connect(str(path)) as db:  # the layout segmint wrote before line identities
        db.execute("CREATE TABLE transactions (invoice_id VARCHAR, line_no BIGINT, customer_id VARCHAR, "
                   "invoice_date TIMESTAMP, product_id VARCHAR, product_name VARCHAR, quantity DOUBLE, "
                   "unit_price DOUBLE, amount DOUBLE, cost DOUBLE, country VARCHAR, org_id VARCHAR, "
                   "is_return BOOLEAN)")  # fmt: skip
        db.execute("INSERT INTO transactions VALUES ('A1', 1, 'c1', '2023-01-10', 'P1', NULL, 1, 10, 10, "
                   "NULL, NULL, NULL, false)")  # fmt: skip
        db.execute("CREATE TABLE imports (source VARCHAR, rows_offered BIGINT, rows_added BIGINT, "
                   "imported_at TIMESTAMP, report_json VARCHAR)")
        db.execute("INSERT INTO imports VALUES ('old.csv', 1, 1, '2024-01-01', '')")
    (result,) = ingest(path, csv)
    assert (result.rows_added, result.rows_already_present) == (1, 1)
    assert import_log(path).import_id.tolist() == [1, 2]
    assert stored(path).invoice_id.tolist() == ["A1", "A2"]


def test_cli_ingest_says_what_was_already_there(tmp_path):
    jan = write(tmp_path / "jan.csv", HEADER + "A1,c1,2023-01-10,P1,1,10\nA2,c2,2023-01-11,P1,1,5\n")
    feb = write(tmp_path / "feb.csv", HEADER + "A2,c2,2023-01-11,P1,1,5\nA3,c3,2023-02-11,P1,1,8\n")
    ws = tmp_path / "ws.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(jan), "--workspace", str(ws)]).exit_code == 0
    result = runner.invoke(app, ["ingest", str(tmp_path), "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"{feb}: 2 rows, 1 new rows added to {ws}, 1 already there" in output
    assert f"1 already there: identical to lines imported from {jan} (import 1)" in output
    assert f"{jan}: 2 rows, 0 new rows added to {ws}, 2 already there" in output
    assert "2 already there: same content (sha256" in output
    assert f"workspace {ws}: 3 rows from 3 import(s)" in output


def test_cli_ingest_never_breaks_a_path_over_two_lines(tmp_path, monkeypatch):
    """On a narrow terminal the import line may run long, but the paths in it stay whole so they can be
    pasted: the workspace path appears unbroken on one output line."""
    from segmint import cli_output

    monkeypatch.setattr(cli_output.console, "width", 40)
    deep = tmp_path / ("a-rather-long-folder-name-" * 3)
    deep.mkdir()
    sales = write(deep / "sales.csv", HEADER + "A1,c1,2023-01-10,P1,1,10\n")
    ws = deep / "workspace.duckdb"
    result = CliRunner().invoke(app, ["ingest", str(sales), "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(f"1 new rows added to {ws}, 0 already there" in line for line in lines), result.output
    assert any(f"workspace {ws}: 1 rows from 1 import(s)" in line for line in lines), result.output


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from segmint.workspace import Workspace

    workspace, source, fatal = sys.argv[1:4]

    def progress(step):
        if step == fatal:
            os.kill(os.getpid(), signal.SIGKILL)

    ws = Workspace(workspace)
    ws.ingest(source, progress=progress)
    os.kill(os.getpid(), signal.SIGKILL)  # 'after commit': die before closing the file
    """
)
STEPS = ["hashing the file", "reading and cleaning", "computing line identities",
         "comparing with the workspace", "writing lines", "writing the import log", "committing",
         "after commit"]  # fmt: skip


JAN = HEADER + "A1,c1,2023-01-10,P1,1,10\nA2,c2,2023-01-11,P1,1,5\n"
FEB = HEADER + "A2,c2,2023-01-11,P1,1,5\nA3,c3,2023-02-11,P1,1,8\n"


@pytest.fixture(scope="module")
def january_workspace(tmp_path_factory) -> Path:
    """A workspace holding jan.csv (built once; tests copy it)."""
    folder = tmp_path_factory.mktemp("january")
    ws = folder / "ws.duckdb"
    ingest(ws, write(folder / "jan.csv", JAN))
    return ws


@pytest.mark.parametrize("fatal", STEPS)
def test_kill_9_at_each_step_leaves_lines_and_log_in_agreement(tmp_path, january_workspace, fatal):
    ws = tmp_path / "ws.duckdb"
    ws.write_bytes(january_workspace.read_bytes())
    feb = write(tmp_path / "feb.csv", FEB)
    died = subprocess.run([sys.executable, "-c", KILLER, str(ws), str(feb), fatal], capture_output=True)
    assert died.returncode == -signal.SIGKILL, died.stderr.decode()
    committed = fatal == "after commit"
    lines, log = stored(ws), import_log(ws)
    assert len(lines) == (3 if committed else 2)
    assert log.rows_added.sum() == len(lines)
    assert set(lines.import_id) == set(log.import_id)
    assert len(log) == (2 if committed else 1)
    if fatal in ("writing the import log", "after commit"):  # the import can simply be run again
        (again,) = ingest(ws, feb)
        assert (again.rows_added, again.rows_already_present) == ((0, 2) if committed else (1, 1))
        assert len(stored(ws)) == 3 and import_log(ws).rows_added.sum() == 3


CONTACTS = "invoice,customer,date,product,quantity,amount,name,email,phone\n"


def test_contacts_are_kept_in_the_workspace_and_reach_crm_lists(tmp_path):
    first = write(tmp_path / "q1.csv", HEADER + "1,c1,2023-01-05,P1,1,100\n2,c2,2023-01-06,P1,1,50\n")
    # a later export repeats q1's lines with contacts, and adds one line: contacts fill in, nothing doubles
    second = write(tmp_path / "q2.csv", CONTACTS
                   + "1,c1,2023-01-05,P1,1,100,Asha Rao,asha@example.com,+91 98450 12345\n"
                   + "2,c2,2023-01-06,P1,1,50,,,\n"
                   + "3,c2,2023-04-02,P1,1,70,Ben Ode,ben@example.com,\n")  # fmt: skip
    ws = tmp_path / "ws.duckdb"
    a, b = ingest(ws, first, second)
    assert (a.rows_added, b.rows_added, b.rows_already_present) == (2, 1, 2)
    lines = stored(ws).set_index("invoice_id")
    lines = lines.astype(object).where(lines.notna(), None)
    assert lines.email.to_dict() == {"1": "asha@example.com", "2": None, "3": "ben@example.com"}
    assert lines.customer_name.to_dict() == {"1": "Asha Rao", "2": None, "3": "Ben Ode"}
    with Workspace(ws) as w:
        assert "phone" in w.transactions().columns and "email" in w.transactions().columns

    out = tmp_path / "lists"
    done = CliRunner().invoke(app, ["crm", str(ws), "--out", str(out), "--tagged"])
    assert done.exit_code == 0, done.output
    crm = pd.read_csv(out / "rfm_contacts.csv", dtype=str).set_index("Customer ID")
    assert crm.loc["c1", "Email"] == "asha@example.com" and crm.loc["c2", "Email"] == "ben@example.com"
    assert crm.loc["c1", "Phone Number"] == "+919845012345" and crm.loc["c1", "First Name"] == "Asha"


CATEGORIES = "invoice,customer,date,product,quantity,amount,category\n"


def test_categories_are_kept_in_an_old_workspace_and_give_recommend_a_single_view_by_category(tmp_path):
    ws = tmp_path / "ws.duckdb"
    ingest(ws, write(tmp_path / "q1.csv", HEADER + "1,c1,2024-01-05,P1,2,20\n2,c2,2024-01-06,P2,1,15\n"))
    with duckdb.connect(str(ws)) as db:  # a workspace written before categories were stored
        db.execute("ALTER TABLE transactions DROP COLUMN category")
    with Workspace(ws, create=False) as w:
        assert w.transactions().columns == CANONICAL_COLUMNS
    # a later export repeats invoice 1 with its category and adds three lines: the category fills in
    second = write(tmp_path / "q2.csv", CATEGORIES + "1,c1,2024-01-05,P1,2,20,Tea\n3,c1,2024-02-10,P2,3,45,Cake\n"
                   "4,c2,2024-02-11,P1,1,10,Tea\n5,c3,2024-02-12,P3,4,8,Tea\n")  # fmt: skip
    (b,) = ingest(ws, second)
    assert (b.rows_added, b.rows_already_present) == (3, 1)
    lines = stored(ws).set_index("invoice_id")
    assert len(lines) == 5
    assert lines.category.astype(object).where(lines.category.notna(), None).to_dict() == {
        "1": "Tea", "2": None, "3": "Cake", "4": "Tea", "5": "Tea"}  # fmt: skip

    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["recommend", str(ws), "--out", str(out)])
    assert done.exit_code == 0, done.output
    view = pd.read_csv(out / "single_view_by_category.csv").set_index("customer_id")
    # by hand: revenue Cake 45 > Tea 20 + 10 + 8 = 38, so Cake is the first column; units per customer:
    # c1 Tea 2, Cake 3; c2 Tea 1 and P2 without a category (1, under 'other'); c3 Tea 4
    assert list(view.columns) == ["segment_rfm", "units: Cake", "units: Tea", "units: other categories",
                                  "units: all products", "categories bought"]  # fmt: skip
    assert view.loc["c1"].tolist()[1:] == [3.0, 2.0, 0.0, 5.0, 2]
    assert view.loc["c2"].tolist()[1:] == [0.0, 1.0, 1.0, 2.0, 1]
    assert view.loc["c3"].tolist()[1:] == [0.0, 4.0, 0.0, 4.0, 1]


def test_a_workspace_without_contacts_has_no_contact_columns(tmp_path):
    ws = tmp_path / "ws.duckdb"
    ingest(ws, write(tmp_path / "q1.csv", HEADER + "1,c1,2023-01-05,P1,1,100\n"))
    with Workspace(ws) as w:
        assert w.transactions().columns == CANONICAL_COLUMNS


def test_a_workspace_without_invoice_ids_counts_visits_by_day_like_the_file(tmp_path):
    """Lines without an invoice column: one customer's lines on one day are one visit, in the file and in a
    workspace alike (the workspace's made-up ids carry ' (import 1)', and were each counted as an order)."""
    from segmint import api

    header = "customer_id,date,number_of_cds,dollar_value\n"
    data = write(tmp_path / "log.csv", header + "c1,1997-01-05,2,20.00\nc1,1997-01-05,1,12.00\n"
                 "c1,1997-02-01,1,9.00\nc2,1997-01-06,1,9.99\n")  # fmt: skip
    ingest(tmp_path / "ws.duckdb", data)
    by_hand = {"c1": (2, 41.0), "c2": (1, 9.99)}  # visits = distinct days, revenue
    for source in (data, tmp_path / "ws.duckdb"):
        features = api.analyze(source, scheme="rfm").features.to_pyarrow().to_pylist()
        assert {row["customer_id"]: (row["frequency"], row["revenue"]) for row in features} == by_hand, source
