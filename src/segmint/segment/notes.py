"""What a reader of a scheme's segments must know: empty score levels (ties) and too short a history.

Quantile scores give equal values the same score (never split by row order), so a value shared by
many customers (most CDNOW customers bought exactly once) leaves the scores above it empty: F has
no level 2 or 3. That is correct but looks like a bug in a heatmap or a bucket table, so the scheme
says which levels are empty and why. Each scheme module may define ``notes(features, labelled,
config) -> list[str]``; the registry (``Scheme.notes``) calls it and ``AnalysisResult.notes()``
gathers them for the CLI and the dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from segmint.engine import first_row
from segmint.results import rows as result_rows

__all__ = ["MIN_HISTORY_DAYS", "empty_levels", "history_note", "tie_notes"]

LEVEL_LABELS = {
    "r_score": "R score", "f_score": "F score", "m_score": "M score",
    "value_bucket": "value bucket", "frequency_bucket": "frequency bucket",
}  # fmt: skip
METRIC_LABELS = {
    "recency_days": "days since their last purchase", "frequency": "number of purchases",
    "monetary": "spend", "avg_order_value": "average order value",
}  # fmt: skip
# what a score of 1 would claim when it ranks a customer below others
LOW_CLAIMS = {
    "r_score": "a long absence", "f_score": "few purchases", "m_score": "low spend",
    "value_bucket": "a small basket", "frequency_bucket": "few visits",
}  # fmt: skip
MIN_HISTORY_DAYS = 730  # spend x frequency tiers: about two years of history


def empty_levels(labelled: ir.Table, levels: Mapping[str, int]) -> dict[str, list[int]]:
    """Score column -> the levels 1..n that no customer holds (only columns with a gap); one query."""
    return _gaps_and_customers(labelled, levels)[0]


def _gaps_and_customers(labelled: ir.Table, levels: Mapping[str, int]) -> tuple[dict[str, list[int]], int]:
    """(:func:`empty_levels`, the number of customers), from one aggregate."""
    counts = {f"{column}__{k}": (labelled[column] == k).sum() for column, n in levels.items() for k in range(1, n + 1)}
    row = first_row(labelled.aggregate(_customers=labelled.count(), **counts))
    gaps = {column: [k for k in range(1, n + 1) if not row[f"{column}__{k}"]] for column, n in levels.items()}
    return {column: missing for column, missing in gaps.items() if missing}, int(row["_customers"])


def _article(label: str) -> str:
    return "an" if label[0] in "AEFHILMNORSX" else "a"  # an R / F / M score (letters said with a vowel)


def _listed(levels: list[int]) -> str:
    return ", ".join(map(str, levels[:-1])) + (" and " if len(levels) > 1 else "") + str(levels[-1])


def _largest_tie(labelled: ir.Table, metric: str) -> tuple[object, int]:
    """(value, customers holding it) of the most common value of ``metric``."""
    grouped = labelled.group_by(value=labelled[metric]).aggregate(customers=labelled.count())
    top = result_rows(grouped.order_by(ibis.desc("customers")).limit(1))[0]
    return top["value"], int(top["customers"])


def _shown(value: object) -> str:
    """A metric's value as a note quotes it: 2.60, 13, or as text."""
    if isinstance(value, float) and not float(value).is_integer():
        return f"{value:,.2f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def tie_notes(title: str, labelled: ir.Table, levels: Mapping[str, tuple[int, str]]) -> list[str]:
    """One sentence per score column with empty levels: which ones, and the tie that empties them.

    ``levels`` maps a score column to (number of levels, the metric it scores).
    """
    gaps, total = _gaps_and_customers(labelled, {column: n for column, (n, _) in levels.items()})
    notes = []
    for column, missing in gaps.items():
        n, metric = levels[column]
        value, tied = _largest_tie(labelled, metric)
        label = LEVEL_LABELS.get(column, column)
        if tied == total:  # one customer, or all alike: a rank among them places no one below anyone
            alike = ("one customer only" if total == 1 else
                     f"all {total:,} customers have the same {METRIC_LABELS.get(metric, metric)} ({_shown(value)})")
            level = next(lvl for lvl in range(1, n + 1) if lvl not in missing)  # the one level everyone holds
            if level > 1:  # RFM's scores: the middle (segment.rfm.unranked_middle)
                notes.append(f"{title}: {alike}, so {label} ranks no one below anyone: it is the middle, {level} "
                             f"of {n}, no evidence of {LOW_CLAIMS.get(column, 'a low value')} or of its opposite")
            else:
                notes.append(f"{title}: {alike}, so {label} 1 ranks no one below anyone: it is no evidence of "
                             f"{LOW_CLAIMS.get(column, 'a low value')}, and a segment read from it says nothing of that")
            continue
        if tied == 1:  # distinct values fill every level unless there are fewer customers than levels
            notes.append(f"{title}: only {total:,} customer{'' if total == 1 else 's'} for {n} levels, so {label} "
                         f"{_listed(missing)} {'stays' if len(missing) == 1 else 'stay'} empty")
            continue
        shown = _shown(value)
        notes.append(
            f"{title}: no customer has {label} {_listed(missing)} (of 1-{n}): {tied / total:.0%} of customers "
            f"({tied:,} of {total:,}) have the same {METRIC_LABELS.get(metric, metric)} ({shown}), and equal "
            f"values always share {_article(label)} {label} (never split by row order), which leaves {label} "
            f"{_listed(missing)} empty"
        )
    return notes


def history_note(title: str, features: ir.Table, min_days: int = MIN_HISTORY_DAYS) -> str | None:
    """A warning when the customers' purchases span less than ``min_days`` (None when long enough)."""
    row = result_rows(features.aggregate(first=features.first_purchase.min(), last=features.last_purchase.max()))[0]
    first, last = row["first"], row["last"]
    if first is None or last is None:
        return None
    first = first.date() if isinstance(first, dt.datetime) else first
    last = last.date() if isinstance(last, dt.datetime) else last
    days = (last - first).days + 1
    if days >= min_days:
        return None
    return (
        f"{title}: the data cover {days:,} days ({first} to {last}); these tiers assume about "
        f"{min_days // 365} years of history. With less, visits mostly measure how long ago a customer "
        "started rather than how often they buy, so frequency tiers favour early customers and "
        "move as more history arrives"
    )
