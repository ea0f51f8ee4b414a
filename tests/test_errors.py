"""Library errors carry field, value and fix as data; no library message names a command-line flag."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest
from test_features import ROW_COLUMNS, ROWS, canonical  # the 12-row fixture

import segmint
from segmint.errors import ConfigError, DataError, Fix, MappingError, SegmintError

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
LIBRARY = Path(segmint.__file__).parent
# Messages owned by sessions that are moving them (each already reworded on its branch).
PENDING = {("engine.py", "--workspace")}


def test_error_carries_field_value_and_fix_as_data() -> None:
    exc = ConfigError("bins=2 is below 3", field="bins", value=2, fix=Fix(option="rfm.bins", example=5))
    assert str(exc) == "bins=2 is below 3" and exc.field == "bins" and exc.value == 2
    assert exc.as_dict() == {
        "error": "ConfigError", "message": "bins=2 is below 3", "field": "bins", "value": "2",
        "fix": {"option": "rfm.bins", "example": 5, "choices": [], "note": ""},
    }
    assert SegmintError("plain").fix is None


def test_library_source_names_no_cli_flag() -> None:
    found = set()
    for path in LIBRARY.rglob("*.py"):
        relative = path.relative_to(LIBRARY)
        if relative.parts[0] == "app" or relative.name.startswith("cli"):
            continue  # the shells render flags and controls
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found |= {(relative.as_posix(), flag) for flag in FLAG.findall(node.value)}
    assert found - PENDING == set()


@pytest.fixture()
def tx():
    return canonical(pd.DataFrame(ROWS, columns=ROW_COLUMNS))


def _raised(function, *args, **kwargs) -> SegmintError:
    with pytest.raises(SegmintError) as info:
        function(*args, **kwargs)
    assert not FLAG.search(str(info.value)), str(info.value)
    return info.value


def test_analysis_errors_name_the_parameter_not_a_flag(tx) -> None:
    from segmint.api import analyze

    bad_date = _raised(analyze, tx, scheme="rfm", snapshot_date="2024-13-01")
    assert (bad_date.field, bad_date.value, bad_date.fix.option) == ("snapshot_date", "2024-13-01", "snapshot_date")
    empty = _raised(analyze, tx, scheme="rfm", start="2030-01-01")
    assert isinstance(empty, DataError) and empty.fix.option == "start"
    swapped = _raised(analyze, tx, scheme="rfm", start="2023-06-01", end="2023-01-01")
    assert swapped.field == "start"
    scheme = _raised(analyze, tx, scheme="bogus")
    assert scheme.fix.option == "scheme" and "rfm" in scheme.fix.choices
    bins = _raised(analyze, tx, scheme="rfm", config={"rfm": {"bins": 11}})
    assert (bins.field, bins.value, bins.fix.option) == ("bins", 11, "rfm.bins")
    frequency = _raised(analyze, tx, scheme="rfm", frequency="weeks")
    assert frequency.fix.choices == ("auto", "invoices", "days")


def test_export_format_error_names_the_format_not_a_file(tx, tmp_path) -> None:
    from segmint.api import analyze

    result = analyze(tx, scheme="rfm")
    error = _raised(result.export, tmp_path / "out", "pdf")
    assert "pdf" in str(error) and "features" not in str(error)
    assert error.fix.choices == ("csv", "json", "xlsx", "parquet")
    assert not (tmp_path / "out").exists()  # nothing written before the check


def test_mapping_error_offers_a_working_mapping_as_data(tmp_path) -> None:
    from segmint.api import read_transactions

    path = tmp_path / "odd.csv"
    path.write_text("Client,When,Amount,Note,Paid\nalpha,2023-01-02,10.50,x,3\nbeta,2023-01-03,4.25,y,1.5\n")
    error = _raised(read_transactions, path, mapping={"customer_id": "Amount"})
    assert isinstance(error, MappingError)
    # 'Amount' (detected as amount) was taken for customer_id: the fix gives it back and names the
    # detected customer column, and the message shows the mapping with the user's choice applied.
    assert error.fix.option == "mapping"
    assert error.fix.example == {"amount": "Amount", "customer_id": "Client"}
    assert "customer_id  <- Amount  (set by you)" in str(error)
    assert "amount       <- -  (not found)" in str(error)
    fixed = read_transactions(path, mapping=error.fix.example)  # the suggested fix works
    assert fixed.table.count().execute() == 2
    # amount switched off: the first unused column holding numbers is offered, not a text column
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("Client,When,Note,Paid\nalpha,2023-01-02,x,3\nbeta,2023-01-03,y,1.5\n")
    missing = _raised(read_transactions, unnamed)
    assert missing.field == "amount" and missing.fix.example == {"amount": "Paid"}
    wrong_way = _raised(read_transactions, path, mapping={"Paid": "amount"})  # column -> field is the CLI's form
    assert wrong_way.field == "mapping" and wrong_way.value == "Paid"


def test_dashboard_and_cli_render_the_same_fix_in_their_own_terms() -> None:
    from segmint.app.messages import describe
    from segmint.cli_output import fix_lines

    error = MappingError("odd.csv: no column for amount", field="amount",
                         fix=Fix(option="mapping", example={"amount": "Paid"}))
    assert fix_lines(error.fix, error.field)[0] == 'say which column holds each field: --map "Paid=amount"'
    text = describe(error)
    assert "mapping table" in text and "'Paid' for amount" in text and "--" not in text
    window = DataError("no transactions", field="start", fix=Fix(option="start", note="widen the date range"))
    assert fix_lines(window.fix)[0] == "widen the date range: --from"
    assert describe(window).endswith("Widen the date range (the Dates filter).")


def test_dashboard_names_its_date_format_box_for_unread_dates(tmp_path) -> None:
    """The library's date fix said 'add their layout to the mapping file': the dashboard has no mapping file."""
    from segmint.app.messages import describe

    path = tmp_path / "dots.csv"
    path.write_text("CustomerID,InvoiceDate,Amount\nalpha,05.01.2023 10:00 Uhr,3\nbeta,06.01.2023 11:00 Uhr,1.5\n")
    error = _raised(segmint.read_transactions, path)
    assert (error.field, error.value) == ("InvoiceDate", "05.01.2023 10:00 Uhr")
    assert (error.fix.option, error.fix.example) == ("date_format", "%d.%m.%Y %H:%M Uhr")
    assert describe(error).endswith(
        "In the mapping table on the Upload page, choose 'InvoiceDate' for invoice_date; if it holds the dates, "
        "the Date format box under the table holds a layout that reads them (%d.%m.%Y %H:%M Uhr): check it, then Run.")
    # rendered from the fix's data, not from its note's words: no suggestion, an example layout
    unsure = DataError("no usable sales lines", field="Datum", fix=Fix(option="date_format"))
    assert describe(unsure).endswith(
        "choose 'Datum' for invoice_date; if it holds the dates, type their layout in the Date format box under "
        "the table (e.g. %d.%m.%Y %H:%M for 31.12.2023 18:30), then Run.")


def test_cli_gives_the_date_layout_as_a_mapping_file_entry() -> None:
    from segmint.cli_output import fix_lines

    fix = Fix(option="date_format", example="%d.%m.%Y %H:%M Uhr", note="if 'Datum' holds the dates, give their layout")
    assert fix_lines(fix, "Datum", {"--map", "--mapping"}) == [
        "if 'Datum' holds the dates, give their layout in a YAML mapping file passed with --mapping:",
        '  date_format: "%d.%m.%Y %H:%M Uhr"',
        'if another column holds them: --map "COLUMN=invoice_date"',
    ]
    assert fix_lines(Fix(option="date_format"), "Datum", {"--mapping"})[1:] == [
        '  date_format: "%d.%m.%Y %H:%M"  (e.g., for 31.12.2023 18:30)']
    # a command without --mapping: the note, with the layout that reads the value
    assert fix_lines(fix, "Datum", {"--from"}) == [f'{fix.note}, e.g. "%d.%m.%Y %H:%M Uhr"']
