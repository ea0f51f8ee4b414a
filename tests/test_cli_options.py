"""CLI rough edges: --version, clean --help, options checked before any data is read, errors with their fix as flags."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from segmint import __version__
from segmint.cli import app

CDNOW = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_version_and_help() -> None:
    version = run("--version")
    assert version.exit_code == 0 and version.output.strip() == f"segmint {__version__}"
    for args in (["--help"], ["analyze", "--help"], ["dashboard", "--help"]):
        shown = run(*args)
        assert shown.exit_code == 0 and "--help" in shown.output
        assert "<bool>" not in shown.output  # plain flags take no value
    # recommend's --scheme read "rfm, levels, tiers, clusters, value or value." (value named twice)
    scheme_help = " ".join(run("recommend", "--help").output.replace("│", " ").split())
    assert "value or value" not in scheme_help and "clusters, value." in scheme_help


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--scheme", "bogus", "unknown scheme 'bogus'"),
        ("--snapshot", "2024-13-01", "'2024-13-01' is not a date"),
        ("--from", "2024-02-30", "'2024-02-30' is not a date"),
        ("--format", "pdf", "format 'pdf' is not supported"),
        ("--frequency", "weeks", "choose 'auto', 'invoices' or 'days'"),
    ],
)
def test_invalid_options_are_rejected_before_reading_data(tmp_path, option, value, says) -> None:
    missing = tmp_path / "not-there.csv"  # reading it would fail with a different error
    result = run("analyze", str(missing), option, value)
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert says in text and "not-there" not in text
    assert "features.pdf" not in text


def test_story_checks_its_own_scheme_and_format(tmp_path) -> None:
    assert "unknown scheme 'bogus'" in run("story", str(tmp_path / "x.csv"), "--scheme", "bogus").output
    assert run("story", str(tmp_path / "x.csv"), "--scheme", "value", "--format", "pdf").exit_code == 2


def test_mapping_error_renders_its_fix_as_flags(tmp_path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Client,When,Amount\nalpha,2023-01-02,10.50\nbeta,2023-01-03,4.25\n")
    result = run("analyze", str(path), "--map", "Amount=customer_id")
    assert result.exit_code == 2
    assert 'fix: say which column holds each field: --map "Amount=amount" --map "Client=customer_id"' in result.output


@pytest.mark.skipif(not CDNOW.exists(), reason="shared CDNOW data not available")
def test_cdnow_override_error_is_consistent() -> None:
    """--map "dollar_value=customer_id": the message, the mapping shown and the fix agree with each other."""
    result = run("analyze", str(CDNOW), "--map", "dollar_value=customer_id")
    assert result.exit_code == 2
    text = result.output
    assert "no column for amount (or unit_price): 'dollar_value', detected as amount, is mapped to customer_id" in text
    assert "customer_id  <- dollar_value  (set by you)" in text
    assert "amount       <- -  (not found)" in text
    assert "amount       <- dollar_value" not in text  # the overridden column is not shown as amount
    assert '--map "dollar_value=amount" --map "customer_id=customer_id"' in text


@pytest.mark.parametrize(
    ("command", "option", "value", "says"),
    [
        ("crm", "--scheme", "bogus", "unknown scheme 'bogus'"),
        ("crm", "--scheme", "all", "unknown scheme 'all'"),  # one scheme's lists
        ("crm", "--format", "pdf", "'pdf'; choose 'csv' or 'xlsx'"),
        ("crm", "--snapshot", "2024-13-01", "'2024-13-01' is not a date"),
        ("recommend", "--scheme", "bogus", "unknown scheme 'bogus'; choose value"),
        ("recommend", "--format", "pdf", "format 'pdf' is not supported"),
        ("recommend", "--until", "2024-02-30", "'2024-02-30' is not a date"),
        ("story", "--from", "2024-02-30", "'2024-02-30' is not a date"),
        ("report", "--to", "2024-13-01", "'2024-13-01' is not a date"),
        ("clv", "--calibration-end", "1997-13-40", "'1997-13-40' is not a date"),
        ("clv", "--holdout-end", "1998-02-30", "'1998-02-30' is not a date"),
        ("clv", "--time-unit", "fortnight", "'fortnight'; choose 'day', 'week' or 'month'"),
        ("clv", "--model", "gamma", "'gamma'; choose 'bgnbd', 'pnbd' or 'mbgnbd'"),
        ("clv", "--format", "pdf", "format 'pdf' is not supported"),
        ("clv", "--from", "2024-02-30", "'2024-02-30' is not a date"),
    ],
)
def test_every_command_checks_its_options_before_reading(tmp_path, command, option, value, says) -> None:
    args = [command, str(tmp_path / "not-there.csv"), option, value]
    if command == "crm":
        args += ["--out", str(tmp_path / "lists")]
    result = run(*args)
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and says in text and "not-there" not in text, text


def _commands() -> dict[str, set[str]]:
    import typer.main

    group = typer.main.get_command(app)
    return {
        name: {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for name, command in group.commands.items()  # type: ignore[attr-defined]
    }


def test_a_fix_never_names_a_flag_the_command_lacks() -> None:
    """Every library fix option, rendered for every command, only names that command's flags."""
    import re

    from segmint.cli_output import FLAGS, fix_lines
    from segmint.errors import Fix

    fixes = [Fix(option=name, example="X") for name in FLAGS if name != "mapping"] + [
        Fix(option="mapping", example={"amount": "Total"}), Fix(option="rfm.bins", example=5),
        Fix(option="start", note="widen the date range"), Fix(option="window", example="2M"),
    ]
    for command, flags in _commands().items():
        for fix in fixes:
            for line in fix_lines(fix, None, flags):
                named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
                assert named <= flags, (command, fix, line)
    # the note survives when the flag is missing; the flag is used when present
    assert fix_lines(Fix(option="start", note="widen the date range"), None, {"--to"}) == ["widen the date range"]
    assert fix_lines(Fix(option="start", example="2024-01-01"), None, {"--from"}) == ["--from 2024-01-01"]


def test_story_takes_the_same_filters_as_analyze() -> None:
    flags = _commands()
    for option in ("--from", "--to", "--org", "--country", "--config"):
        assert option in flags["story"] and option in flags["analyze"], option


def test_summary_names_orders_excluded_customers_and_ties(tmp_path) -> None:
    """The CLI says how many customers were left out (net <= 0), counts orders like the dashboard, explains ties."""
    lines = ["Invoice,Customer,Date,Quantity,Amount"]
    purchases = {"A": 1, "B": 1, "C": 1, "D": 1, "E": 1, "F": 1, "G": 2, "H": 3, "I": 4, "J": 5}
    number = 0
    for customer, count in purchases.items():
        for i in range(count):
            number += 1
            lines.append(f"{number},{customer},2024-0{1 + i}-1{i},1,{10 + i}.00")
    lines += ["900,K,2024-01-05,1,25.00", "C901,K,2024-02-05,-1,-25.00"]  # K nets to zero: excluded
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(lines) + "\n")
    result = run("analyze", str(path), "--scheme", "rfm")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    # 10 customers kept; orders = 6 x 1 + 2 + 3 + 4 + 5 = 20 (K's purchase is not counted: K is excluded)
    assert "customers: 10 orders: 20 (purchases with a positive net value)" in text
    assert "1 customer(s) whose purchases net to zero or less (returned in full, or only zero-value lines)" in text
    assert "Invoice numbers (returns included): 22" in text  # 20 + K's purchase + K's return
    assert "no customer has F score 2 and 3 (of 1-5): 60% of customers (6 of 10)" in text


def test_without_invoices_the_summary_counts_visits_not_orders(tmp_path) -> None:
    """CDNOW's summary said 'orders: 67,511' and 'average order value' though it has no order id: a
    customer's lines on one day are one purchase, a visit; the report's tiles name it so too."""
    path = tmp_path / "sales.csv"  # A: two lines on one day (one visit) and one on another; B: one line
    path.write_text("Customer,Date,Amount\nA,2024-01-02,10.00\nA,2024-01-02,5.00\nA,2024-02-03,15.00\n"
                    "B,2024-01-05,20.00\n")
    result = run("analyze", str(path), "--scheme", "rfm")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    # visits: A 2 + B 1 = 3; revenue 50.00 over 3 visits = 16.67
    assert "customers: 2 visits: 3 (customer-days with a positive net value) revenue: 50.00 " \
        "average visit value: 16.67" in text
    assert "orders:" not in text
    report = tmp_path / "report.html"
    assert run("report", str(path), "--out", str(report)).exit_code == 0
    page = report.read_text()
    assert '<div class="t">Visits</div><div class="v">3</div>' in page and ">Avg visit value<" in page


def test_a_sliver_of_dropped_rows_is_not_shown_as_zero(tmp_path) -> None:
    """1 bad row of 1,501 is 0.07%: the quality report says "<0.1%", never "0.0%"."""
    from segmint.util import share

    assert (share(0, 10), share(41, 82_791), share(82_750, 82_791), share(5, 5)) == ("0.0%", "<0.1%", ">99.9%", "100.0%")
    lines = ["Invoice,Customer,Date,Amount"] + [f"{i},C{i % 40},2024-01-{1 + i % 28:02d},{5 + i % 7}.50" for i in range(1500)]
    lines.append("9999,,2024-01-05,3.00")  # no customer: dropped
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(lines) + "\n")
    result = run("analyze", str(path), "--scheme", "rfm")
    assert result.exit_code == 0, result.output
    dropped = next(line for line in result.output.splitlines() if line.startswith("Rows dropped"))
    assert dropped.split()[-2:] == ["1", "<0.1%"], dropped


def test_dashboard_file_prints_the_mapping_and_quality_report(tmp_path, monkeypatch) -> None:
    """Like every command that reads files, `segmint dashboard FILE` shows how it read them (server stubbed)."""
    import waitress

    served = []
    monkeypatch.setattr(waitress, "serve", lambda app, **options: served.append(options))
    path = tmp_path / "sales.csv"
    path.write_text("Invoice,Client,Date,Amount\n1,A,2024-01-02,10.50\n2,B,2024-01-03,4.25\n3,A,2024-02-03,7.00\n")
    result = run("dashboard", str(path), "--port", "8765")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "customer_id <- Client" in text and "Data quality report: sales.csv" in text
    assert "Rows read 3" in text and "dashboard: http://127.0.0.1:8765/" in text
    assert served and served[0]["port"] == 8765


def test_dashboard_on_a_workspace_file_serves_it(tmp_path, monkeypatch) -> None:
    """`segmint dashboard sales.duckdb`: a workspace holds lines cleaned at import; no report to print, no crash."""
    import waitress

    from segmint.workspace import Workspace

    served = []
    monkeypatch.setattr(waitress, "serve", lambda app, **options: served.append(app))
    path = tmp_path / "sales.csv"
    path.write_text("Invoice,Client,Date,Amount\n1,A,2024-01-02,10.50\n2,B,2024-01-03,4.25\n")
    with Workspace(tmp_path / "shop.duckdb") as ws:
        ws.ingest(path)
    result = run("dashboard", str(tmp_path / "shop.duckdb"), "--port", "8766")
    assert result.exit_code == 0, result.output
    assert "canonical table" in result.output and "dashboard: http://127.0.0.1:8766/" in result.output
    assert len(served) == 1


def test_piped_output_has_no_spinner_frames(tmp_path) -> None:
    """`segmint analyze FILE > out.txt`: no progress line lands in the output (nothing drawn when piped)."""
    import subprocess
    import sys

    path = tmp_path / "sales.csv"
    path.write_text("Invoice,Client,Date,Amount\n1,A,2024-01-02,10.50\n2,B,2024-01-03,4.25\n3,A,2024-02-03,7.00\n")
    done = subprocess.run([sys.executable, "-m", "segmint.cli", "analyze", str(path), "--scheme", "rfm"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("invoice_id <- Invoice")  # the mapping comes first
    for text in (done.stdout, done.stderr):
        assert "..." not in text and not any(frame in text for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")


def test_unfused_sql_compiles_differently_to_the_same_analysis(monkeypatch) -> None:
    """The segmint command compiles without Ibis' select merging; the tables are the same as with it
    (the fused SQL is the second method), for every scheme that runs on the 12-row fixture."""
    import ibis
    import pandas as pd
    from test_features import ROW_COLUMNS, ROWS, canonical

    from segmint.api import analyze
    from segmint.cli_options import unfused_sql
    from segmint.segment import rfm

    def tables():
        result = analyze(canonical(pd.DataFrame(ROWS, columns=ROW_COLUMNS)), scheme=["rfm", "levels", "tiers"])
        sql = ibis.to_sql(rfm.assign(result.features), dialect="duckdb")
        return sql, {name: t.to_pyarrow() for name, t in {"features": result.features, **result.segments}.items()}

    monkeypatch.setattr(ibis.options.sql, "fuse_selects", True)
    fused_sql, fused = tables()
    unfused_sql()
    assert ibis.options.sql.fuse_selects is False
    unfused_sql_text, unfused = tables()
    assert unfused_sql_text != fused_sql and unfused_sql_text.count("SELECT") > fused_sql.count("SELECT")
    assert unfused.keys() == fused.keys()
    for name, table in fused.items():
        assert unfused[name].equals(table), name


def test_a_running_command_suggests_only_its_own_flags() -> None:
    """The flags of the command that failed are read from its context (Typer runs its own copy of Click,
    whose context Click's ``get_current_context`` never sees): a command without ``--from`` gets the
    fix's note, one with it gets the flag, whether the error reaches ``SegmintCommand`` or ``fail`` is
    called inside the command."""
    import typer

    from segmint.cli_output import SegmintCommand, fail
    from segmint.errors import DataError, Fix

    error = DataError("no sales in the window", field="start", fix=Fix(option="start", note="widen the dates"))
    app_ = typer.Typer()

    @app_.command(cls=SegmintCommand)
    def narrow(start: str = typer.Option("", "--from")) -> None:
        raise error

    @app_.command(cls=SegmintCommand)
    def plain(size: int = typer.Option(1, "--size")) -> None:
        raise error

    @app_.command(cls=SegmintCommand)
    def direct(size: int = typer.Option(1, "--size")) -> None:
        fail(error)

    shown = {name: CliRunner().invoke(app_, [name]) for name in ("narrow", "plain", "direct")}
    assert all(result.exit_code == 2 for result in shown.values())
    assert "fix: widen the dates: --from" in shown["narrow"].output
    for name in ("plain", "direct"):
        assert "fix: widen the dates" in shown[name].output and "--from" not in shown[name].output, name


def test_options_not_given_get_their_defaults_without_a_pydantic_adapter(tmp_path) -> None:
    """Typer coerces every parameter through a pydantic adapter built on first use; segmint's CLI builds
    one only for a value that needs it: missing options and plain text come through unchanged, paths,
    lists and numbers are still coerced and checked."""
    from segmint.cli_output import SegmintGroup  # segmint.cli (imported above) set the coercion up

    seen: dict[str, object] = {}
    demo = typer.Typer(cls=SegmintGroup)

    @demo.command()
    def given(
        name: str = typer.Option("plain", "--name"),
        items: list[str] | None = typer.Option(None, "--item"),
        count: int | None = typer.Option(None, "--count"),
        path: Path | None = typer.Option(None, "--path"),
        flag: bool = typer.Option(False, "--flag"),
    ) -> None:
        seen.update(name=name, items=items, count=count, path=path, flag=flag)

    @demo.command()
    def other() -> None:
        pass

    runner = CliRunner()
    assert runner.invoke(demo, ["given"]).exit_code == 0
    assert seen == {"name": "plain", "items": None, "count": None, "path": None, "flag": False}
    result = runner.invoke(demo, ["given", "--name", "given", "--item", "a", "--item", "b", "--count", "3",
                                  "--path", str(tmp_path), "--flag"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen == {"name": "given", "items": ["a", "b"], "count": 3, "path": tmp_path, "flag": True}
    assert type(seen["count"]) is int and isinstance(seen["path"], Path)
    bad = runner.invoke(demo, ["given", "--count", "three"])
    assert bad.exit_code == 2 and "--count" in bad.output  # a usage error naming the option


def test_format_without_out_is_refused_by_every_command_that_has_both(tmp_path) -> None:
    """--format chooses the format of the tables written to --out: without --out nothing was written and
    nothing said (exit 0). Every command with both options stops before reading and names --out; --format's
    default (not given) still runs without --out."""
    group_commands = _commands()
    with_both = sorted(name for name, flags in group_commands.items() if {"--format", "--out"} <= flags)
    assert {"analyze", "story", "clv", "recommend", "credit"} <= set(with_both)
    for command in with_both:
        result = run(command, str(tmp_path / "not-there.csv"), "--format", "xlsx")
        text = " ".join(result.output.replace("│", " ").split())
        if command in ("crm", "demo"):  # --out is required (crm) or has a default folder (demo): never missing
            assert "no --out was given" not in text, command
            continue
        assert result.exit_code == 2, (command, text)
        assert "xlsx is the format of the tables written to --out, and no --out was given: add --out DIR" in text
        assert "not-there" not in text, command  # refused before any file is read
    path = tmp_path / "sales.csv"
    path.write_text("Invoice,Client,Date,Amount\n1,A,2024-01-02,10.50\n2,B,2024-01-03,4.25\n")
    assert run("analyze", str(path), "--scheme", "rfm").exit_code == 0
    written = run("analyze", str(path), "--scheme", "rfm", "--format", "json", "--out", str(tmp_path / "out"))
    assert written.exit_code == 0 and (tmp_path / "out" / "summary_rfm.json").exists()
