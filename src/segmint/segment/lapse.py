"""Lapsed customers: absent longer than the data say is usual, so no segment may claim they still buy.

RFM's R is a rank: on a cohort that has mostly stopped buying (CDNOW), R=4 spans 141-430 days since
the last purchase, and "Champions" ("bought more recently than most customers") went to customers
gone for over a year. The recency rank is true; the claim that they are still customers is not.

``lapsed_after`` sets the absence beyond which a customer is *lapsed*:

* ``"auto"`` (default): the 95th percentile (linear, SQL's ``percentile_cont``) of repeat customers'
  average gap between purchases, ``(tenure_days - recency_days) / (frequency - 1)`` (first to last
  purchase over the gaps between them), rounded up to whole days, among the customers scored together
  (a story: the customers known at each period's end). 95% of repeat customers buy at least that
  often on average. CDNOW: 358 days, groceries 357; a story's early periods see only short gaps
  (CDNOW as of 1997-07-01: 121 days). Fewer than ``MIN_REPEAT_CUSTOMERS`` repeat customers (or no
  tenure column) estimate no percentile: nobody is lapsed.
* a number of days: lapsed when ``recency_days`` is above it.
* ``None``: nobody is lapsed (the plain rank grid).

Measured on CDNOW, scored as of 1998-01-01 (threshold 258 days): customers with R >= 3 who were lapsed
bought again within 182 days at 11.1%, the others at 48.6% (as of 1997-10-01: 15.4% against 53.1%).
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir

__all__ = ["ABSENCE_WORDS", "LAPSE_COLUMN", "LAPSE_PERCENTILE", "MIN_REPEAT_CUSTOMERS", "LapsedAfter",
           "absence_text", "check_lapsed_after", "lapse_notes", "lapsed_flag", "with_lapse_days"]

LapsedAfter = Literal["auto"] | int | None
LAPSE_PERCENTILE = 0.95
MIN_REPEAT_CUSTOMERS = 20  # a 95th percentile of fewer values is the largest one, not a percentile
LAPSE_COLUMN = "_lapse_days"
ABSENCE_WORDS = "no purchase for "  # in every reason the lapse decided, and only there


def check_lapsed_after(value: LapsedAfter) -> LapsedAfter:
    """``value`` when valid; ValueError naming the choices otherwise (for the configs' validators)."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise ValueError(f"lapsed_after={value} days must be at least 1 (or auto, or null for no lapse)")
    return value


def _usual_gap(rows: ir.Table, among: ir.BooleanValue) -> ir.IntegerValue:
    """The 95th percentile of repeat customers' average gap, in whole days up (NULL with too few of them)."""
    repeat = among & (rows.frequency.cast("int64") >= 2)
    gap = (rows.tenure_days.cast("int64") - rows.recency_days.cast("int64")).cast("float64") / (
        rows.frequency.cast("int64") - 1
    ).cast("float64")
    # rounded before the ceiling: engines interpolate with different last bits (358.0 must not be 359)
    percentile = gap.quantile(LAPSE_PERCENTILE, where=repeat).round(6).ceil().cast("int64")
    return ibis.ifelse(rows.count(where=repeat) >= MIN_REPEAT_CUSTOMERS, percentile, ibis.null("int64"))


def with_lapse_days(
    scored: ir.Table, lapsed_after: LapsedAfter, *, by: str | None = None, known: str | None = None
) -> ir.Table:
    """``scored`` plus ``_lapse_days``: the absence (days) beyond which each customer is lapsed (NULL: never).

    ``by``: customers scored in groups (a story's periods) get their group's threshold; ``known``: a
    boolean column of the rows that count (a story's grid holds rows of customers not yet known).
    """
    if lapsed_after is None:
        return scored.mutate(**{LAPSE_COLUMN: ibis.null("int64")})
    if lapsed_after != "auto":
        return scored.mutate(**{LAPSE_COLUMN: ibis.literal(int(lapsed_after), "int64")})
    if not {"tenure_days", "recency_days", "frequency"} <= set(scored.columns):
        return scored.mutate(**{LAPSE_COLUMN: ibis.null("int64")})
    among = scored[known] if known else ibis.literal(True)
    if by is None:
        usual = scored.aggregate(**{LAPSE_COLUMN: _usual_gap(scored, among)})
        return scored.cross_join(usual)
    usual = scored.group_by(_group=scored[by]).aggregate(**{LAPSE_COLUMN: _usual_gap(scored, among)})
    joined = scored.left_join(usual, scored[by] == usual._group)
    return joined.select(*(scored[c] for c in scored.columns), usual[LAPSE_COLUMN])


def lapsed_flag(scored: ir.Table) -> ir.BooleanValue:
    """Whether each customer of a table from :func:`with_lapse_days` has been absent beyond its threshold."""
    return (scored.recency_days.cast("int64") > scored[LAPSE_COLUMN]).fill_null(False)


def absence_text(scored: ir.Table, lapsed_after: LapsedAfter) -> ir.StringValue:
    """", no purchase for 400 days, longer than ..." : why a lapsed customer was labelled by absence."""
    days = scored.recency_days.cast("int64").cast("string")
    threshold = scored[LAPSE_COLUMN].cast("string")
    if lapsed_after == "auto":
        return (", " + ABSENCE_WORDS + days + f" days, longer than {LAPSE_PERCENTILE:.0%} of repeat customers' "
                "average gap (" + threshold + " days)")
    return ", " + ABSENCE_WORDS + days + " days (lapsed after " + threshold + " days)"


def lapse_notes(title: str, labelled: ir.Table, lapsed_after: LapsedAfter, segments: str) -> list[str]:
    """One sentence when the lapse moved customers: how many, beyond what absence, and where they went.

    ``labelled`` is a scheme's labelled table (its reasons name the absence wherever the lapse decided);
    ``segments`` names the labels lapsed customers take. One aggregate query.
    """
    from segmint.engine import first_row

    if lapsed_after is None or "reason" not in labelled.columns:
        return []
    moved = labelled.reason.contains(ABSENCE_WORDS)
    fields = {"moved": labelled.count(where=moved), "customers": labelled.count()}
    if lapsed_after == "auto":
        if not {"tenure_days", "recency_days", "frequency"} <= set(labelled.columns):
            return []
        fields["threshold"] = _usual_gap(labelled, ibis.literal(True))
    row = first_row(labelled.aggregate(**fields))
    if not row["moved"]:
        return []
    threshold = row["threshold"] if lapsed_after == "auto" else int(lapsed_after)
    why = (f"longer than {LAPSE_PERCENTILE:.0%} of repeat customers' average gap between purchases"
           if lapsed_after == "auto" else "the lapsed_after setting")
    share = row["moved"] / row["customers"]
    return [
        f"{title}: {row['moved']:,} customers ({share:.0%}) have not bought for more than {threshold:,} days "
        f"({why}), so they are labelled by their absence ({segments}) whatever their recency rank; "
        "the reason of each says so"
    ]
