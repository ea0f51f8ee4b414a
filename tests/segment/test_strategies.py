"""Strategies per scheme: every label has one, and the most valuable segment is rewarded, never won back."""

from __future__ import annotations

import pytest

from segmint.report import segment_strategies
from segmint.segment.clusters import OUTLIER, value_labels
from segmint.segment.levels import LevelsConfig
from segmint.segment.rfm import RFMConfig
from segmint.segment.strategies import display_name, strategy_table
from segmint.segment.tiers import TIERS, TiersConfig
from segmint.segment.value import LABELS as VALUE_LABELS
from segmint.story_tables import INACTIVE


def _labels(scheme: str, k: int = 4) -> list[str]:
    """Every label a scheme can produce, most valuable first (typed from each scheme's own rules)."""
    if scheme == "rfm":
        order = RFMConfig().segment_order()
        return sorted(order, key=order.__getitem__, reverse=True)
    if scheme == "levels":
        return list(LevelsConfig().thresholds)  # highest threshold first
    if scheme == "tiers":  # segment_order = 3 * value tier + frequency tier
        return [f"{v} Value / {f} Frequency" for v in reversed(TIERS) for f in reversed(TIERS)]
    if scheme == "clusters":
        return list(reversed(value_labels(k)))
    return list(reversed(VALUE_LABELS))


SCHEMES = [("rfm", 4), ("levels", 4), ("tiers", 4), ("value", 4), *[("clusters", k) for k in range(2, 9)]]


@pytest.mark.parametrize(("scheme", "k"), SCHEMES)
def test_top_segment_is_rewarded_or_grown_never_won_back(scheme: str, k: int) -> None:
    labels = _labels(scheme, k)
    table = strategy_table(scheme)
    assert [name for name in labels if name not in table] == []  # every label has a strategy
    top = table[labels[0]]
    assert top.goal in ("reward", "grow"), (scheme, labels[0], top)
    assert "win" not in top.text.lower() and "back" not in top.text.lower()
    assert INACTIVE in table and OUTLIER in strategy_table("clusters")


def test_levels_top_group_is_not_given_rfm_win_back_advice() -> None:
    # the issue: levels' top group, then also called "Can't Lose Them", got RFM's win-back text
    levels, rfm = segment_strategies(LevelsConfig()), segment_strategies(RFMConfig())
    assert "Can't Lose Them" not in levels and levels["Top Customers"] != rfm["Can't Lose Them"]
    assert strategy_table("levels")["Top Customers"].goal == "reward"
    assert strategy_table("rfm")["Can't Lose Them"].goal == "win_back"  # RFM's lapsed big spenders
    assert segment_strategies(TiersConfig(strategies={"High Value / High Frequency": "mine"}))[
        "High Value / High Frequency"] == "mine"


def test_names_shared_by_schemes_carry_their_scheme() -> None:
    assert display_name("levels", "Champions") == "Champions (levels)"
    assert display_name("rfm", "Champions") == "Champions (rfm)"
    assert display_name("levels", "Top Customers") == "Top Customers"  # no other scheme has it
    assert display_name("rfm", "Lost") == "Lost"  # no other scheme has it
    assert display_name("value", "High Value", shown=("value", "rfm")) == "High Value"
    assert display_name("value", "High Value", shown=("value", "clusters")) == "High Value (value)"


def test_cli_names_shared_labels_with_their_scheme(tmp_path) -> None:
    from test_story import _write_csv
    from typer.testing import CliRunner

    from segmint.cli import app

    source = tmp_path / "sales.csv"
    _write_csv(source)
    run = CliRunner().invoke(app, ["analyze", str(source), "--scheme", "all"])
    assert run.exit_code == 0, run.output
    # "High Value" is a label of both clusters and value: each table names its scheme
    assert "High Value (clusters)" in run.output and "High Value (value)" in run.output


def test_value_strategies_claim_no_profit_the_data_may_not_have() -> None:
    # the value scheme ranks net spend when the data have no cost (CDNOW: value_basis "revenue"), so its
    # advice cannot call anyone "the most profitable": the HTML report and summary_value.csv did
    for segment, strategy in strategy_table("value").items():
        text = strategy.text.lower()
        assert "profitable" not in text, segment
        assert "profit" not in text or "spend" in text, segment  # profit only next to its fallback
