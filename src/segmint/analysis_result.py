"""What the pipeline returns: cleaned ``Transactions`` and an ``AnalysisResult`` (both made by
:mod:`segmint.api`, which re-exports them; split out of ``api.py`` in session 10 to keep the pipeline's
module to the pipeline)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint.lazy import LazyTables

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from segmint.io.ledger_report import LedgerReport
    from segmint.quality import DataQualityReport
    from segmint.results import Columns
    from segmint.schema import ColumnMapping
    from segmint.segment._config import SegmentConfig
    from segmint.story import StoryResult
    from segmint.workspace import Workspace

__all__ = ["AnalysisResult", "Transactions"]

LONG_AFTER_DAYS = 90  # a snapshot this many days past the last purchase gets a note (a quarter: RFM's newness)


@dataclass
class Transactions:
    """Cleaned canonical transactions in ``con`` with the mapping and quality report that produced them."""

    table: ir.Table
    con: BaseBackend
    mapping: ColumnMapping | None = None  # None for workspaces and ready-made tables
    report: DataQualityReport | None = None  # None for workspaces and ready-made tables
    evidence: dict[str, str] = field(default_factory=dict)  # why each column was chosen
    label: str = ""  # what was read, for people: "sales.csv", "sales.csv + 2 more", a workspace name
    ledger: LedgerReport | None = None  # when the source was a ledger (Day Book, Ledger Account)
    workspace: Workspace | None = None  # the workspace read, when the lines are a workspace's
    totals: ir.Table | None = None  # invoices.invoice_totals of ``table``, when cleaning computed them
    totals_per_invoice: bool = False  # every invoice is one row of ``totals``

    def mapping_description(self) -> str:
        """Printable ``field <- column (why)`` lines for the mapping used."""
        if self.mapping is None:
            return "columns: canonical table (no mapping needed)"
        return "\n".join(
            f"{name} <- {column}" + (f"  ({self.evidence[name]})" if name in self.evidence else "")
            for name, column in self.mapping.fields.items()
        )


@dataclass
class AnalysisResult:
    """Features and labelled customers per scheme; summaries and extra tables are built when first read.

    ``window`` is the transactions the analysis used (every filter applied). ``summaries`` (KPIs per
    scheme) and ``tables`` (excluded customers, scheme extras, story tables) are lazy mappings: a
    dashboard page pays only for what it shows, ``export`` writes them all.
    """

    features: ir.Table
    snapshot_date: dt.date
    segments: dict[str, ir.Table]
    summaries: LazyTables[pd.DataFrame]
    tables: LazyTables[ir.Table | pd.DataFrame]  # excluded customers, tiers bucket/KPI tables, story
    transactions: Transactions
    window: ir.Table | None = None  # the transactions analysed (country, org and dates applied)
    configs: dict[str, SegmentConfig] = field(default_factory=dict)  # the settings each scheme ran with
    n_customers: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # scheme -> why it was not run
    story: StoryResult | None = None  # when analyze(story_period=...) was asked for
    frequency: str = "invoices"  # what a purchase is: "invoices" or "days"
    frequency_notes: list[str] = field(default_factory=list)  # e.g. frequency by days without invoices
    # ``summaries`` as Arrow tables (the same numbers, no pandas)
    summary_tables: LazyTables[pa.Table] = field(default_factory=LazyTables)
    # and as Python columns (what the CLI prints and ``export`` writes as CSV: no Arrow on DuckDB)
    summary_columns: LazyTables[Columns] = field(default_factory=LazyTables)
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def report(self) -> DataQualityReport | None:
        """The data-quality report of the cleaning step (None for workspaces / ready-made tables)."""
        return self.transactions.report

    def rfm_scores(self) -> ir.Table:
        """Customers with R, F and M scores (the R x F grid), whichever schemes ran; computed once."""
        if "rfm_scores" not in self._cache:
            if "rfm" in self.segments:
                self._cache["rfm_scores"] = self.segments["rfm"]
            else:
                from segmint.engine import materialize
                from segmint.segment import get_scheme

                scored = get_scheme("rfm").assign(self.features, self.configs.get("rfm"))
                self._cache["rfm_scores"] = materialize(self.transactions.con, scored)
        return self._cache["rfm_scores"]  # type: ignore[return-value]

    def notes(self) -> list[str]:
        """What a reader of the segments must know (empty score levels from ties, short history); computed once.
        Without prices their money words count items (``segmint.units.item_text``)."""
        if "notes" not in self._cache:
            from segmint.segment import get_scheme
            from segmint.units import has_prices, item_text

            priced = has_prices(getattr(self.transactions, "mapping", None))
            self._cache["notes"] = [item_text(note, priced) for note in [
                *self.after_snapshot(), *self.long_after_last_purchase(), *self.frequency_notes, *(
                    note for name, labelled in self.segments.items()
                    for note in get_scheme(name).notes(self.features, labelled, self.configs.get(name)))
            ]]  # fmt: skip
        return self._cache["notes"]  # type: ignore[return-value]

    def after_snapshot(self) -> list[str]:
        """A note when lines of the window are dated on or after the snapshot date: features and segments
        leave them out (as of the snapshot), and without a word revenue and customers just shrank."""
        last = getattr(self.report, "last_date", None)
        if self.window is None or (last is not None and last.date() < self.snapshot_date):
            return []  # the default snapshot (the day after the last line) leaves nothing out: no query
        from segmint.results import columns

        day = self.window.invoice_date.date()
        later = self.window.filter(day >= self.snapshot_date)
        found = columns(later.aggregate(lines=later.count(), first=day.min(), last=day.max()))
        lines = int(found["lines"][0] or 0)
        if not lines:
            return []
        first, last_day = (str(found[key][0])[:10] for key in ("first", "last"))
        return [
            f"snapshot {self.snapshot_date}: {lines:,} line(s) dated on or after it ({first} to {last_day}) are "
            f"left out of the features and segments, which describe customers as of the day before; a snapshot "
            f"after {last_day} includes them"
        ]

    def long_after_last_purchase(self) -> list[str]:
        """A note when the snapshot falls long after the last purchase: recency scores rank customers
        against each other, so 'Champions' and 'recent' names would describe customers silent for years."""
        from segmint.results import columns

        found = columns(self.features.aggregate(last=self.features.last_purchase.max()))["last"][0]
        if found is None:
            return []
        last = dt.date.fromisoformat(str(found)[:10])
        idle = (self.snapshot_date - last).days - 1  # days with no purchase before the snapshot day
        if idle <= LONG_AFTER_DAYS:
            return []
        return [
            f"snapshot {self.snapshot_date}: no customer bought in the {idle:,} days before it (last purchase "
            f"{last}); recency scores rank customers against each other, so segments named for recent buying "
            "(Champions, Loyal, Promising ...) hold customers who have not bought since then either"
        ]

    def kpis(self) -> dict[str, float]:
        """Customers, revenue, orders (purchases with a positive net value), AOV, recent share; computed once."""
        if "kpis" not in self._cache:
            from segmint.report import customer_kpis

            self._cache["kpis"] = customer_kpis(self.features)
        return self._cache["kpis"]  # type: ignore[return-value]

    def excluded_count(self) -> int:
        """Customers left out because their net value in the window is <= 0 (one query, then kept)."""
        if "excluded_count" not in self._cache:
            from segmint.engine import row_count

            self._cache["excluded_count"] = row_count(self.tables["excluded_customers"])
        return self._cache["excluded_count"]  # type: ignore[return-value]

    def export(self, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write every table to ``out_dir`` (csv, json, xlsx or parquet); returns name -> path."""
        from segmint.report import export_all
        from segmint.util import check_export_format

        return export_all(self, out_dir, check_export_format(fmt))
