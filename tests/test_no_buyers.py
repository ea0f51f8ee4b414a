"""A file or window without a positive net purchase says what its lines hold, not only 'widen the filters'."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import segmint
from segmint import api
from segmint.cli import app
from segmint.errors import DataError


def write(tmp_path, body):
    path = tmp_path / "sales.csv"
    path.write_text("invoice,customer,date,amount\n" + body)
    return path


def test_a_file_of_returns_only_is_named_as_such(tmp_path):
    path = write(tmp_path, "".join(f"C{i},c{i},2024-01-0{i + 1},-{10 + i}.50\n" for i in range(5)))
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm")
    # five returns of -10.50 .. -14.50: -62.50 by hand
    assert "the data hold 5 lines: 5 returns or cancellations (-62.50), 0 purchases" in str(info.value)
    assert info.value.fix is None  # no filter to widen
    result = CliRunner().invoke(app, ["clv", str(path)])
    assert "5 returns or cancellations (-62.50), 0 purchases" in result.output and "calibration end" not in result.output


def test_returns_cancelling_every_purchase(tmp_path):
    path = write(tmp_path, "1,a,2024-01-01,10\nC1,a,2024-01-02,-10\n2,b,2024-01-03,0\nC2,b,2024-01-04,-5\n")
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm")
    assert "4 lines: 2 returns or cancellations (-15.00), 1 purchase (10.00), 1 zero-value line" in str(info.value)
    assert "returns cancel their purchases" in str(info.value)


def test_a_window_holding_only_a_return_keeps_the_filter_fix(tmp_path):
    path = write(tmp_path, "1,a,2024-01-01,10\nC1,a,2024-02-02,-4\n")
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm", start="2024-02-01")
    assert "in the selected window (its 1 line: 1 return or cancellation (-4.00), 0 purchases)" in str(info.value)
    assert info.value.fix.option == "start"


def test_a_snapshot_before_the_data_is_named_as_the_fault(tmp_path):
    # it said "no customer ... in the selected window" and to widen the dates (and, for a while, that
    # returns cancelled every purchase): only lines before the snapshot count, and there were none
    path = write(tmp_path, "1,a,2024-01-05,10\n2,b,2024-01-06,20\n")
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm", snapshot_date="2024-01-05")
    assert str(info.value).startswith("the snapshot date 2024-01-05 is not after the data begin (2024-01-05)")
    assert info.value.fix.option == "snapshot_date"
    assert segmint.analyze(path, scheme="rfm", snapshot_date="2024-01-06").kpis()["customers"] == 1  # a, 10.00


def test_an_organisation_or_country_the_data_do_not_hold_is_named_with_the_ones_they_do(tmp_path):
    """README's `analyze sales.csv --snapshot ... --org BLR` on data without BLR said 'no customer ...
    in the selected window (its 0 lines ...)' with the fix 'widen the date range ...: --from' (no
    value), and `--country Atlantis` the same bare '--from': the org or country was the fault."""
    path = tmp_path / "sales.csv"
    path.write_text("invoice,customer,date,amount,org,country\n1,a,2024-01-05,10,MUM,India\n"
                    "2,b,2024-01-06,20,DEL,India\n3,c,2024-01-07,30,MUM,Nepal\n")
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm", org="BLR", snapshot_date="2024-02-01")
    assert str(info.value) == "no line has organisation 'BLR'; the data's organisations: DEL, MUM"
    assert info.value.fix.option == "org" and info.value.fix.choices == ("DEL", "MUM")
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm", country="Atlantis")
    assert str(info.value) == "no line has country 'Atlantis'; the data's countries: India, Nepal"
    result = CliRunner().invoke(app, ["analyze", str(path), "--snapshot", "2024-02-01", "--from", "2024-01-01",
                                      "--org", "BLR"], env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--org DEL|MUM" in result.output and "--from" not in result.output.split("fix:")[1]
    # an organisation the data hold, in an empty date window, keeps the date advice
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm", org="MUM", start="2025-01-01")
    assert info.value.fix.option == "start"


ORG_SALES = ("invoice,customer,date,product,amount,branch,country\n"
             "1,a,2024-01-05,tea,10,BLR,India\n2,b,2024-01-09,cake,5,DEL,India\n3,a,2024-02-01,cake,7,BLR,France\n"
             "4,c,2024-03-03,tea,4,DEL,France\n5,b,2024-03-20,tea,6,BLR,India\n")


@pytest.mark.parametrize("command", ["analyze", "story", "clv", "recommend", "report"])
def test_an_organisation_the_data_do_not_hold_is_named_by_every_command(tmp_path, command):
    """story, clv and recommend said 'no transactions in the selected window (dates, organisation)' and
    offered to widen the dates; every command now names the organisations the file holds (BLR, DEL by hand)."""
    path = tmp_path / "sales.csv"
    path.write_text(ORG_SALES)
    args = [command, str(path), "--org", "MUM"]
    if command == "report":
        args += ["--out", str(tmp_path / "report.html")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "no line has organisation 'MUM'; the data's organisations: BLR, DEL" in text
    assert "fix: choose one of the data's organisations or leave the filter out: --org BLR|DEL" in text
    assert "selected window" not in text


@pytest.mark.parametrize("function", ["analyze", "story", "clv", "recommend"])
def test_a_country_the_data_do_not_hold_is_named_by_every_function(tmp_path, function):
    path = tmp_path / "sales.csv"
    path.write_text(ORG_SALES)
    from segmint import api

    with pytest.raises(DataError) as info:
        getattr(api, function)(path, country=["Spain"])
    assert str(info.value) == "no line has country 'Spain'; the data's countries: France, India"
    assert (info.value.field, info.value.value, info.value.fix.choices) == ("country", ["Spain"], ("France", "India"))
    if function != "clv":  # 5 lines are too few for a BTYD fit: a filter that matches runs
        assert getattr(api, function)(path, country="France", org="BLR") is not None


def test_an_organisation_filter_on_data_without_organisations_says_to_run_without_it(tmp_path):
    """The data name no organisation: the fix is to drop --org, not a bare '--org' that reads as advice
    to add it ("leave the organisation filter out: --org" before)."""
    path = tmp_path / "sales.csv"
    path.write_text("invoice,customer,date,amount\n1,a,2024-01-05,10\n2,b,2024-01-06,20\n")
    with pytest.raises(DataError) as info:
        segmint.analyze(path, scheme="rfm", org="BLR")
    assert info.value.fix.option == "org" and info.value.fix.remove
    result = CliRunner().invoke(app, ["analyze", str(path), "--org", "BLR"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "no line has organisation 'BLR': the data name no organisation" in text
    assert "fix: leave the organisation filter out (run without --org)" in text


@pytest.mark.parametrize("scheme", ["rfm", "value"])  # as-of (ranked in the grid) and within-period paths
def test_a_story_of_returns_only_says_what_the_lines_hold(tmp_path, scheme):
    # the story said "no customer has a purchase ... in the story window" and to widen the date range
    # (--from) though no filter was given
    path = write(tmp_path, "".join(f"C{i},c{i},2024-01-0{i + 1},-{10 + i}.50\n" for i in range(5)))
    with pytest.raises(DataError) as info:
        api.story(path, scheme=scheme).story  # noqa: B018 - the tables are built when read
    assert "the data hold 5 lines: 5 returns or cancellations (-62.50), 0 purchases" in str(info.value)
    assert info.value.fix is None
    result = CliRunner().invoke(app, ["story", str(path), "--from", "2024-01-03"])
    # the value story's window from the 3rd: c2..c4, -12.50 - 13.50 - 14.50 = -40.50 by hand; the filter's fix stays
    flat = " ".join(result.output.split())
    assert result.exit_code == 2 and "its 3 lines: 3 returns or cancellations (-40.50), 0 purchases" in flat, flat
    assert "--from" in flat
