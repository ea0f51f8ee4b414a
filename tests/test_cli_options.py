"""CLI rough edges: --version, clean --help, options checked before any data is read, errors with their fix as flags."""

from __future__ import annotations

from pathlib import Path

import pytest
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


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--scheme", "bogus", "unknown scheme 'bogus'"),
        ("--snapshot", "2024-13-01", "'2024-13-01' is not a date"),
        ("--from", "2024-02-30", "'2024-02-30' is not a date"),
        ("--format", "pdf", "format 'pdf' is not supported"),
        ("--frequency", "weeks", "choose 'invoices' or 'days'"),
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
