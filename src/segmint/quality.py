"""The data-quality report that cleaning produces: what came in, what was kept, dropped and fixed."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
from pydantic import BaseModel, Field, model_validator

from segmint.coverage import MonthGap, PeriodCoverage, period_coverage, span_and_gaps
from segmint.results import rows as result_rows
from segmint.util import counted, write_text_atomic

# how the report names each date pattern of segmint.parsing (the keys of DateFormatInfo.formats)
DATE_FORMAT_WORDS = {
    "iso": "written year first (2023-04-01)",
    "numeric": "written in numbers as dd-mm-yyyy or mm-dd-yyyy",
    "compact": "written as yyyymmdd (20230401)",
    "day_month_name": "written with the month's name after the day (1-Apr-2023)",
    "month_name_day": "written with the month's name first (Apr 1, 2023)",
    "excel_serial": "written as Excel day numbers (45017)",
    "native": "stored as dates in the file",
}

DROP_DESCRIPTIONS: dict[str, str] = {
    "missing_customer": "no customer id",
    "missing_date": "no date",
    "bad_date": "date not understood",
    "date_out_of_range": "date outside the plausible window",
    "bad_quantity": "quantity is not a number",
    "bad_unit_price": "unit price is not a number",
    "bad_amount": "amount is not a number",
    "missing_amount": "no amount and no unit price to compute it",
    "amount_too_large": "amount beyond ±1,000,000,000,000,000, more than money figures hold exactly",
    "cost_too_large": "cost beyond ±1,000,000,000,000,000, more than money figures hold exactly",
    "duplicate": "exact copy of an earlier line of the same invoice",
    "return": "return/cancellation line (returns='drop')",
}


def _empty_list() -> list[Any]:
    """The lists' default factory: for ``list`` itself pydantic reads a builtin's signature from its text
    (``inspect`` tokenizes it, compiling tokenize's patterns: about 6 ms of every ``analyze``'s start)."""
    return []


VALUE_WORDS = {  # a cleaning counter (report.parsed) -> what it counts, in words
    "customer_ids_fixed": "customer ids written as decimals made whole (12345.0 -> 12345)",
    "invoice_ids_synthesised": "blank invoice numbers (each such line its own purchase)",
    "quantity_filled": "blank quantities taken as 1",
    "amount_computed": "amounts as quantity x unit price",
    "unit_price_computed": "unit prices as amount / quantity",
    "credit_entries": "credit (Cr) entries, counted as returns",
    "cost_unreadable": "unreadable costs (no profit for those lines)",
}
VALUE_HEADINGS = {
    "Values repaired": ("customer_ids_fixed", "invoice_ids_synthesised", "quantity_filled"),
    "Values computed": ("amount_computed", "unit_price_computed"),
    "Values read": ("credit_entries", "cost_unreadable"),
}


class DroppedRows(BaseModel):
    """Rows removed for one reason, with up to five examples (incl. ``_source``/``_row``)."""

    count: int = Field(ge=0)
    description: str = ""
    examples: list[dict[str, Any]] = Field(default_factory=_empty_list)


class SheetRead(BaseModel):
    """One sheet of a workbook of several: the rows below its header and whether it was read (why not)."""

    name: str
    rows: int = Field(0, ge=0)
    read: bool = True
    why: str = ""  # empty; not a transaction table; its columns differ from the first sheet's

    def describe(self) -> str:
        rows = f"{self.rows:,} row" + ("" if self.rows == 1 else "s")
        return f"{self.name!r} ({rows})" + ("" if self.read else f" not read: {self.why}")


class DateFormatInfo(BaseModel):
    """How one date column was read: rows per layout and the day/month-order decision."""

    column: str
    formats: dict[str, int] = Field(default_factory=dict)  # layout name -> rows in that layout
    dayfirst: bool | None = None  # None when no dd/mm-or-mm/dd values occur
    evidence: str = ""


class DataQualityReport(BaseModel):
    """Everything a business user needs to trust (or question) the cleaned transactions."""

    source: str
    rows_in: int = Field(ge=0)  # lines: with item lists expanded, the item lines (see records_in)
    rows_kept: int = Field(ge=0)
    # records of a file whose item lists (JSON baskets) were expanded into one line per item; None: a
    # row is a record. rows_in = rows_kept + dropped counts the lines
    records_in: int | None = Field(None, ge=0)
    dropped: dict[str, DroppedRows] = Field(default_factory=dict)
    parsed: dict[str, int] = Field(default_factory=dict)  # values repaired or re-read, by kind
    date_formats: dict[str, DateFormatInfo] = Field(default_factory=dict)
    decimal_comma: dict[str, bool] = Field(default_factory=dict)  # money column -> default reading
    returns: int = 0
    returns_value: float = 0.0
    duplicates: int = 0  # exact duplicate lines found (dropped or kept, see duplicates_dropped)
    duplicates_dropped: bool = False
    customers: int = 0
    invoices: int = 0
    first_date: datetime | None = None
    last_date: datetime | None = None
    total_amount: float = 0.0
    unpriced: bool = False  # no amount or price column: each line valued at its quantity (amounts count items)
    partial_periods: list[PeriodCoverage] = Field(default_factory=_empty_list)  # first/last, see segmint.coverage
    gaps: list[MonthGap] = Field(default_factory=_empty_list)  # months inside the range far below their neighbours
    warnings: list[str] = Field(default_factory=_empty_list)
    sheets: list[SheetRead] = Field(default_factory=_empty_list)  # a workbook of several sheets: each one's fate
    read_as: list[str] = Field(default_factory=_empty_list)  # how the reader read the file (encoding, delimiter, header)
    # the source's columns no field uses (None: unknown); for messages only, never written
    unused_columns: list[str] | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _rows_add_up(self) -> DataQualityReport:
        dropped = sum(reason.count for reason in self.dropped.values())
        if self.rows_in != self.rows_kept + dropped:
            raise ValueError(
                f"rows_in ({self.rows_in}) != rows_kept ({self.rows_kept}) + dropped ({dropped})"
            )
        return self

    @property
    def rows_dropped(self) -> int:
        """Total rows removed, all reasons together."""
        return self.rows_in - self.rows_kept

    def summary(self) -> str:
        """Plain-text summary a business user can read: counts, drops with examples, assumptions."""
        from segmint.util import share

        pct = lambda n: share(n, self.rows_in)  # noqa: E731 - "<0.1%" for a sliver, never "0.0%"
        lines = [f"Data quality report: {self.source}", ""]
        if self.read_as:
            lines += [f"Read as: {note}" for note in self.read_as] + [""]
        if self.sheets:
            read = [sheet.describe() for sheet in self.sheets if sheet.read]
            lines.append("Sheets read as one table: " + ", ".join(read) if len(read) > 1 else f"Sheet read: {read[0]}")
            lines += [f"Sheet {sheet.describe()}" for sheet in self.sheets if not sheet.read]
            lines.append("")
        unit = "Rows" if self.records_in is None else "Lines"
        table = [("Records read", self.records_in, "", "expanded to one line per item")] if unit == "Lines" else []
        table += [
            (f"{unit} read", self.rows_in, "", ""),
            (f"{unit} kept", self.rows_kept, pct(self.rows_kept), ""),
            (f"{unit} dropped", self.rows_dropped, pct(self.rows_dropped), ""),
        ]
        table += [(f"  {name}", d.count, pct(d.count), d.description) for name, d in self.dropped.items()]
        lines += count_lines(table)
        invoices = f"Invoice numbers (returns included): {self.invoices:,}"
        if self.rows_kept and self.parsed.get("invoice_ids_synthesised", 0) >= self.rows_kept:
            # every number was made up, one per line: counting them would claim invoices the data lack
            invoices = "Invoice numbers: none in the data (a customer's lines on one day count as one visit)"
        total = (f"Total items (no prices): {self.total_amount:,.0f}" if self.unpriced
                 else f"Total amount: {self.total_amount:,.2f}")
        lines += ["", f"Customers: {self.customers:,}   {invoices}   {total}"]
        if self.first_date and self.last_date:
            lines.append(f"Dates: {self.first_date:%Y-%m-%d} to {self.last_date:%Y-%m-%d}")
        lines.append(f"Returns/cancellations kept: {self.returns:,} lines, value {self.returns_value:,.2f}")
        dup_action = "dropped" if self.duplicates_dropped else "kept (see the warnings)"
        lines.append(f"Exact duplicate lines: {f'{self.duplicates:,} {dup_action}' if self.duplicates else 'none'}")
        for info in self.date_formats.values():
            found = ", ".join(f"{counted(n, 'value')} {DATE_FORMAT_WORDS.get(name, name)}"
                              for name, n in info.formats.items() if n)
            evidence = "" if info.evidence == "native dates" else info.evidence[:1].upper() + info.evidence[1:]
            lines.append(f"Date column '{info.column}': {found or 'native dates'}. {evidence}".rstrip())
        lines += self._value_lines()
        for p in self.partial_periods:
            lines.append(f"Partial period: {p.describe()}; kept, and marked partial in stories.")
        if self.gaps:
            lines.append("Gaps inside the date range (check for an outage or a missing export):")
            lines += [f"  {gap.describe()}" for gap in self.gaps]
        examples = [(name, d) for name, d in self.dropped.items() if d.examples]
        if examples:
            lines += ["", "Examples of dropped rows:"]
            for name, d in examples:
                for ex in d.examples[:3]:
                    where = f"{ex.get('_source', '?')} row {ex.get('_row', '?')}"
                    value = f" value {'(blank)' if ex['value'] is None else repr(ex['value'])}" if "value" in ex else ""
                    lines.append(f"  {name}: {where}{value}{short_row_note(ex)}")
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)

    def _value_lines(self) -> list[str]:
        """What cleaning filled in, computed or read a special way, each counter in words: a value computed
        on every line because its column is absent (unit prices from amount / quantity) is not a repair."""
        # without prices every line's amount and unit price are made up (its quantity, 1): nothing was computed
        made_up = {"amount_computed", "unit_price_computed"} if self.unpriced else set()
        if self.rows_kept and self.parsed.get("invoice_ids_synthesised", 0) >= self.rows_kept:
            made_up.add("invoice_ids_synthesised")  # said above: no invoice numbers in the data
        values = {k: v for k, v in self.parsed.items() if v and k not in made_up}
        lines = []
        for heading, names in VALUE_HEADINGS.items():
            found = [f"{VALUE_WORDS[k]} on {counted(values[k], 'line')}" for k in names if k in values]
            if found:
                lines.append(f"{heading}: " + "; ".join(found))
        other = [f"{k} {v:,}" for k, v in values.items() if k not in VALUE_WORDS]
        return lines + (["Other counts: " + ", ".join(other)] if other else [])

    def mark_short_rows(self, short_rows: dict[tuple[str, int], tuple[int, int]]) -> None:
        """Say on each dropped example that is a row with fewer fields than the header how many it has."""
        mark_short_rows(self.dropped, short_rows)

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise to JSON; also write it atomically to ``path`` when given."""
        # ``sheets`` only for workbooks of several sheets, ``records_in`` only for expanded item lists:
        # other reports stay as they were written before
        unset = {"sheets"} if not getattr(self, "sheets", None) else set()
        unset |= {"records_in"} if getattr(self, "records_in", None) is None else set()
        text = self.model_dump_json(indent=2, exclude=unset or None)
        if path is not None:
            write_text_atomic(path, text)
        return text

    @classmethod
    def from_json(cls, path_or_text: str | Path) -> DataQualityReport:
        """Load a report written by :meth:`to_json` (a path or the JSON text itself)."""
        text = str(path_or_text)
        if not text.lstrip().startswith("{"):
            text = Path(path_or_text).read_text(encoding="utf-8")
        return cls.model_validate(json.loads(text))


def mark_short_rows(dropped: dict[str, DroppedRows], short_rows: dict[tuple[str, int], tuple[int, int]]) -> None:
    """Say on each dropped example that is a row with fewer fields than the header how many it has
    (``fields``, ``fields_expected``): its blank value is a field the line lacks, not an empty one."""
    for rows in dropped.values():
        for example in rows.examples:
            counts = short_rows.get((example.get("_source"), example.get("_row")))
            if counts:
                example["fields"], example["fields_expected"] = counts


def short_row_note(example: dict[str, Any]) -> str:
    """' (a short row: 4 of 6 fields)' for an example :func:`mark_short_rows` marked, else ''."""
    if "fields_expected" not in example:
        return ""
    return f" (a short row: {example['fields']} of {example['fields_expected']} fields)"


def count_lines(rows: list[tuple[str, int, str, str]]) -> list[str]:
    """Aligned 'label  count  share  description' lines (rows read, kept, dropped by reason).

    The description comes last: on a narrow terminal only it wraps, and the counts stay in their column.
    """
    width = max(len(label) for label, *_ in rows)
    return [f"{label:<{width}}  {count:>12,}  {share:>6}  {about}".rstrip() for label, count, share, about in rows]


def period_checks(
    table: ibis.Table, granularity: str, totals: ibis.Table | None = None
) -> tuple[list[PeriodCoverage], list[MonthGap]]:
    """(partial first/last periods, gaps inside the range) of the kept rows, by the shared rule.

    Months are checked with quarters too (the story's default period), so the report names the
    same partial quarter, with the same share of days, as the story does. ``totals``: the kept rows'
    :func:`segmint.invoices.invoice_totals`, read instead of the rows.
    """
    span, gaps = span_and_gaps(table, totals)
    partial = []
    for unit in ("month", "quarter") if granularity == "month" else (granularity,):
        periods = period_coverage(span, unit)  # type: ignore[arg-type]
        edges = [periods[0]] if len(periods) == 1 else [periods[0], periods[-1]]
        partial += [p for p in edges if p.partial]
    return partial, gaps


def drop_examples(
    staged: ibis.Table, mapped: ibis.Table, fields: list[str], limit: int = 5,
    counts: dict[str, int] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Up to ``limit`` dropped rows per ``_reason``: ``_source``, ``_row``, offending field and value.

    ``staged`` holds each row's ``_reason``/``_field``; the values shown are the row's original text,
    looked up in ``mapped`` by ``_source``/``_row`` (only for the few example rows). ``counts`` (rows
    per reason, when known) lets each reason's first rows be found without ranking every dropped row.
    """
    reasons = [r for r, n in counts.items() if n] if counts is not None else None
    if reasons is None:
        rows = staged.filter(staged._reason.notnull())
        rank = ibis.row_number().over(group_by=rows._reason, order_by=[rows._source, rows._row])
        picked = rows.mutate(_rank=rank).filter(lambda r: r._rank < limit)
        picked = picked.select("_reason", "_source", "_row", "_field")
    elif not reasons:
        return {}
    else:  # first rows per reason by a top-N each (no sort of every dropped row)
        parts = [
            staged.filter(staged._reason == reason).select("_reason", "_source", "_row", "_field")
            .order_by(["_source", "_row"]).limit(limit)
            for reason in reasons
        ]  # fmt: skip
        picked = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    found = result_rows(picked.order_by(["_reason", "_source", "_row"]))
    if not found:
        return {}
    # equalities, not IN: DuckDB pushes them into a Parquet scan through the view's ``file_row_number + 1``
    # (the retail log: 15 -> 10 ms; an IN list is tested on every decoded row)
    wanted = mapped.filter(ibis.or_(*[mapped._row == row for row in sorted({r["_row"] for r in found})]))
    values = wanted.select("_source", "_row", **{f: wanted[f].cast("string") for f in fields})
    by_position = {(r["_source"], r["_row"]): r for r in result_rows(values)}
    out: dict[str, list[dict[str, Any]]] = {}
    for record in found:
        original = by_position.get((record["_source"], record["_row"]), {})
        example = {"_source": record["_source"], "_row": record["_row"], "field": record["_field"],
                   "value": original.get(record["_field"])}  # fmt: skip
        example |= {f: original.get(f) for f in fields}
        out.setdefault(record["_reason"], []).append({k: _plain(v) for k, v in example.items()})
    return out


def _plain(value: Any) -> Any:
    """JSON-friendly scalar (NaN -> None, numpy ints -> int)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if hasattr(value, "item") and isinstance(value.item(), int) else value
