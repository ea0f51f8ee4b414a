"""Why no customer can be segmented: what the lines hold when none nets to a positive purchase value.

A file of returns only, or a window holding only refunds, is a different problem from a date filter
that misses the data; the error says which, with the counts, instead of always blaming the filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from segmint.errors import DataError, Fix
from segmint.util import counted

__all__ = ["check_filters", "no_buyers_error", "unmatched_filter_error"]

SHOWN_VALUES = 10  # values of a filter column named in the error


def no_buyers_error(lines: ir.Table, *, filtered: bool, snapshot_date: dt.date | None = None) -> DataError:
    """The error for lines (after any window) where no customer's purchases net above zero.

    ``filtered``: a date, organisation or country filter chose the lines; the fix is then to widen it,
    otherwise the data themselves hold no purchase (returns, cancellations or zero-value lines only).
    ``snapshot_date``: a snapshot the caller chose; only lines before it count, and one before every
    line is the fault.
    """
    if snapshot_date is not None:
        first = lines.invoice_date.min().to_pyarrow().as_py()
        if first is not None and first.date() >= snapshot_date:
            return DataError(
                f"the snapshot date {snapshot_date} is not after the data begin ({first:%Y-%m-%d}): recency is "
                "measured from it, so only lines before it count and there are none",
                field="snapshot_date", value=snapshot_date,
                fix=Fix(option="snapshot_date", note="choose a snapshot after the data begin, or leave it out "
                        "(the day after the last purchase)"),
            )
        lines = lines.filter(lines.invoice_date < snapshot_date)
    is_return = lines.is_return.fill_null(False)
    bought = ~is_return & (lines.amount > 0)
    kinds = lines.aggregate(
        lines=lines.count(),
        returns=is_return.cast("int64").sum(),
        returned=ibis.ifelse(is_return, lines.amount, 0).sum(),
        purchases=bought.cast("int64").sum(),
        bought=ibis.ifelse(bought, lines.amount, 0).sum(),
    ).to_pyarrow().to_pylist()[0]
    n, returns, purchases = (int(kinds[name] or 0) for name in ("lines", "returns", "purchases"))
    other = n - returns - purchases
    parts = [counted(returns, "return or cancellation", "returns or cancellations")]
    parts[0] += f" ({float(kinds['returned'] or 0):,.2f})" if returns else ""
    parts.append(counted(purchases, "purchase") + (f" ({float(kinds['bought'] or 0):,.2f})" if purchases else ""))
    if other:
        parts.append(counted(other, "zero-value line"))
    held = f"{counted(n, 'line')}: {', '.join(parts)}"
    if filtered:
        return DataError(
            f"no customer with a positive net purchase value in the selected window (its {held})",
            field="start", fix=Fix(option="start", note="widen the date range or the country and organisation filters"),
        )
    why = (
        "no customer to analyse without purchases: add the files that hold them" if not purchases
        else "each customer's returns cancel their purchases, so there is no customer to analyse"
    )
    return DataError(
        f"no customer with a positive net purchase value: the data hold {held}; {why} "
        "(and check that the amount column is the sale value)",
        field="amount",
    )


def unmatched_filter_error(
    lines: ir.Table, *, org: str | Sequence[str] | None = None, country: str | Sequence[str] | None = None
) -> DataError | None:
    """The error when a country or organisation filter matches no line of ``lines`` (before any filter),
    naming the values the data hold; None when every filter given matches some line.

    An organisation the data do not name is a typo or another file, not a date range to widen.
    """
    for field, column, label, plural, chosen in (
        ("country", "country", "country", "countries", country),
        ("org", "org_id", "organisation", "organisations", org),
    ):
        wanted = [chosen] if isinstance(chosen, str) else list(chosen or [])
        if not wanted or lines.filter(lines[column].isin(wanted)).count().to_pyarrow().as_py():
            continue
        value = lines[column]
        held = (
            lines.filter(value.notnull()).select(value=value).distinct().order_by("value")
            .limit(SHOWN_VALUES + 1).to_pyarrow().column("value").to_pylist()
        )  # fmt: skip
        asked = ", ".join(repr(w) for w in wanted)
        if not held:
            return DataError(f"no line has {label} {asked}: the data name no {label}", field=field,
                             value=wanted, fix=Fix(option=field, note=f"leave the {label} filter out", remove=True))  # fmt: skip
        more = ", ..." if len(held) > SHOWN_VALUES else ""
        held = held[:SHOWN_VALUES]
        return DataError(
            f"no line has {label} {asked}; the data's {plural}: {', '.join(held)}{more}",
            field=field, value=wanted,
            fix=Fix(option=field, choices=held, note=f"choose one of the data's {plural} or leave the filter out"),
        )
    return None


def check_filters(
    lines: ir.Table, *, org: str | Sequence[str] | None = None, country: str | Sequence[str] | None = None
) -> None:
    """Raise ``unmatched_filter_error``'s error when ``org`` or ``country`` matches no line of ``lines``
    (before any filter): story, clv and recommend check first, as their windows fail in many places;
    ``analyze`` asks the same question only once its window came out empty."""
    if org or country:
        error = unmatched_filter_error(lines, org=org, country=country)
        if error is not None:
            raise error
