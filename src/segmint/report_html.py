"""One self-contained HTML report of an analysis: for people who will never run the dashboard.

Everything is inline: styles, tables, and the charts with plotly.js itself (taken from the installed
plotly package), so the file opens offline, from an e-mail attachment or a shared drive.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from segmint.segment import scheme_title
from segmint.units import has_prices, measure_word, purchase_words
from segmint.util import share, whole_percent

log = logging.getLogger(__name__)

def _percent(value: float) -> str:
    """A share as the CLI and the dashboard show it: "<0.1%" for a sliver (7 of 23,502), never "0.0%"."""
    return share(value, 1)


SUMMARY_COLUMNS: list[tuple[str, str, Any]] = [  # column, header, format (a format string or a function)
    ("segment", "Segment", "{}"),
    ("customers", "Customers", "{:,.0f}"),
    ("share_of_customers", "% customers", _percent),
    ("revenue", "Revenue", "{:,.2f}"),
    ("share_of_revenue", "% revenue", _percent),
    ("mean_recency_days", "Avg recency (days)", "{:,.0f}"),
    ("mean_frequency", "Avg purchases", "{:,.2f}"),
    ("aov", "AOV", "{:,.2f}"),
    ("strategy", "What to do", "{}"),
]
STYLE = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #1f2933;
       background: #f5f7fa; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { margin-bottom: 4px; } h2 { margin-top: 36px; border-bottom: 2px solid #d9e2ec; padding-bottom: 4px; }
.meta { color: #52606d; font-size: .9rem; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; }
.kpi { background: #fff; border-radius: 6px; padding: 12px 18px; min-width: 170px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.kpi .t { font-size: .75rem; text-transform: uppercase; color: #6c757d; letter-spacing: .04em; }
.kpi .v { font-size: 1.6rem; font-weight: 600; color: #1b3a57; } .kpi .n { font-size: .75rem; color: #8a949e; }
table.tbl { border-collapse: collapse; background: #fff; font-size: .85rem; margin: 8px 0 16px; width: 100%; }
table.tbl th { background: #e4e7eb; text-align: left; padding: 6px 8px; }
table.tbl td { border-top: 1px solid #e4e7eb; padding: 5px 8px; vertical-align: top; }
table.tbl td.num, table.tbl th.num { text-align: right; white-space: nowrap; }
pre.quality { background: #fff; padding: 12px; font-size: .8rem; white-space: pre-wrap; border-radius: 6px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(480px, 100%), 1fr)); gap: 12px; }
.scroll { overflow-x: auto; } /* a wide table scrolls in its box on a phone, not the whole page sideways */
@media (max-width: 600px) { main { padding: 12px; } }
.chart { background: #fff; min-width: 0; overflow: hidden; } .chart > div { width: 100%; }
.note { color: #52606d; font-size: .85rem; }
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _table(frame: pd.DataFrame, columns: list[tuple[str, str, Any]]) -> str:
    """An escaped HTML table of ``columns`` (name, header, format string or function) that exist in ``frame``."""
    shown = [(name, header, fmt) for name, header, fmt in columns if name in frame.columns]
    numeric = {name for name, _, fmt in shown if fmt != "{}"}
    head = "".join(f'<th class="{"num" if n in numeric else ""}">{_e(h)}</th>' for n, h, _ in shown)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for name, _, fmt in shown:
            value = record[name]
            missing = value is None or (isinstance(value, float) and value != value)
            text = "" if missing else fmt(value) if callable(fmt) else fmt.format(value)
            cells.append(f'<td class="{"num" if name in numeric else ""}">{_e(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="tbl"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            '</table></div>')


def _chart(fig: Any, height: int = 420) -> str:
    import plotly.io as pio

    fig.update_layout(height=fig.layout.height or height)
    body = pio.to_html(fig, full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})
    return f'<div class="chart">{body}</div>'


def _kpis(result: Any) -> str:
    from segmint.engine import row_count
    from segmint.report import customer_kpis

    kpis = customer_kpis(result.features)
    excluded = result.tables.get("excluded_customers")
    n_excluded = 0 if excluded is None else int(len(excluded) if isinstance(excluded, pd.DataFrame)
                                                else row_count(excluded))
    priced = has_prices(result.transactions.mapping)
    many, one = purchase_words(getattr(result, "frequency", "invoices"))  # no invoice column: visits, not orders
    what = "purchases" if many == "orders" else "customer-days"
    tiles = [
        ("Customers", f"{kpis['customers']:,}", "with a positive net purchase"),
        ("Revenue", f"{kpis['revenue']:,.2f}", "net of returns") if priced
        else ("Items", f"{kpis['revenue']:,.0f}", "net of returns (no prices)"),
        (many.capitalize(), f"{kpis['orders']:,.0f}", f"{what} with a positive net value"),
        (measure_word("Avg order value", priced).replace("order", one), f"{kpis['aov']:,.2f}",
         f"{measure_word('revenue', priced)} / {many}"),
        ("Recent", f"{kpis['recent_share']:.1%}", f"bought in the last {kpis['recent_days']} days"),
    ]
    body = "".join(f'<div class="kpi"><div class="t">{_e(t)}</div><div class="v">{_e(v)}</div>'
                   f'<div class="n">{_e(n)}</div></div>' for t, v, n in tiles)
    note = (f'<p class="note">{n_excluded:,} customer(s) whose purchases net to zero or less (returned in full, or '
            "only zero-value lines) are not segmented; they are listed in excluded_customers of the table "
            "exports.</p>") if n_excluded else ""
    return f'<div class="kpis">{body}</div>{note}'


def _quality(result: Any) -> str:
    report = getattr(result, "report", None)
    if report is None:
        return '<p class="note">Read from a workspace or a ready table: its quality reports were printed when ' \
               "the files were imported.</p>"
    return f'<pre class="quality">{_e(report.summary())}</pre>'


def _scheme_section(name: str, result: Any) -> str:
    from segmint import charts

    summary = result.summaries[name]
    priced = has_prices(result.transactions.mapping)
    labelled = result.segments[name]
    title = scheme_title(name, list(labelled.columns))  # the value story's: "(revenue x frequency)" without cost
    parts = [f'<h2 id="{_e(name)}">{_e(measure_word(title, priced))}</h2>']
    figures = [charts.segment_share(summary, "customers"), charts.segment_pie(summary, "revenue", priced)]
    if name == "rfm":
        frame = labelled if isinstance(labelled, pd.DataFrame) else labelled.execute()
        grid = frame.groupby(["r_score", "f_score"], as_index=False).agg(
            customers=("customer_id", "size"), avg_monetary=("monetary", "mean"))
        totals = frame.assign(total_score=frame.r_score + frame.f_score + frame.m_score).groupby(
            "total_score", as_index=False).agg(customers=("customer_id", "size"), avg_monetary=("monetary", "mean"))
        bins = getattr(result.configs.get("rfm"), "bins", 5)
        figures += [charts.rf_heatmap(grid, bins, priced), charts.rfm_score_bars(totals, priced)]
    if name == "tiers":
        from segmint.segment import tiers

        for axis in ("value", "frequency"):
            table = result.tables.get(f"tiers_buckets_{axis}")
            if isinstance(table, pd.DataFrame) and not table.empty:
                cut = tiers.cutoffs(table, axis)
                figures.append(charts.bucket_bars(table.assign(tier=table["bucket"].map(cut.tier)), axis, priced))
    parts.append('<div class="charts">' + "".join(_chart(f) for f in figures) + "</div>")
    parts.append(_table(summary, _in_items(SUMMARY_COLUMNS, priced)))
    return "".join(parts)


def _in_items(columns: list[tuple[str, str, Any]], priced: bool) -> list[tuple[str, str, Any]]:
    """Table columns with money headers named by what they count (items without prices, shown whole)."""
    if priced:
        return columns
    return [(name, measure_word(header, priced), "{:,.0f}" if name == "revenue" else fmt)
            for name, header, fmt in columns]


def _story_section(story: Any, priced: bool) -> str:
    from segmint import story_charts
    from segmint.story_tables import transition_matrix, transitions

    labels = story.periods["period"].tolist()
    shown = story_charts.period_labels(story.periods)
    parts = [f'<h2 id="story">Customer stories per {_e(story.period)} ({_e(labels[0])} to {_e(labels[-1])})</h2>',
             f'<p class="note">{_e(story.describe_kind())}.</p>']
    parts += [f'<p class="note">{_e(note)}</p>' for note in story.notes]
    parts += [f'<p class="note">{_e(c.describe())}; left out.</p>' for c in story.dropped]
    figures = []
    if len(labels) >= 2:
        flows = transitions(story.rows, labels[-2], labels[-1])  # the integer rows: no text join
        order = story.period_segments.select("segment", "segment_order").distinct().execute()
        order = dict(zip(order["segment"], order["segment_order"], strict=True))
        figures.append(story_charts.transitions_sankey(flows, order, labels[-2], labels[-1], labels=shown))
        figures.append(story_charts.migration_matrix(flows, order, labels[-2], labels[-1], shown))
    figures.append(story_charts.cohort_heatmap(story.cohorts, shown))
    figures.append(story_charts.period_activity(story.retention, priced))
    parts.append('<div class="charts">' + "".join(_chart(f) for f in figures) + "</div>")
    if not story.transitions.empty:
        matrix = transition_matrix(story.transitions, "share").reset_index()
        columns = [("from_segment", "From \\ to", "{}")] + [(c, c, whole_percent) for c in matrix.columns[1:]]
        parts.append("<h3>Migration: where each segment's customers are one period later (all periods pooled)"
                     "</h3>" + _table(matrix, columns))
    retention = [("period", "Period", "{}"), ("active", "Active", "{:,.0f}"), ("new", "New", "{:,.0f}"),
                 ("retained", "Retained", "{:,.0f}"), ("reactivated", "Came back", "{:,.0f}"),
                 ("churned", "Churned", "{:,.0f}"), ("retention_rate", "Retention", "{:.0%}"),
                 ("revenue_per_day", "Revenue per day", "{:,.2f}"), ("note", "Note", "{}")]
    parts.append("<h3>Retention per period</h3>" + _table(story.retention, _in_items(retention, priced)))
    return "".join(parts)


def html_report(result: Any, *, title: str = "Customer segments", source: str = "") -> str:
    """The whole report of an ``AnalysisResult`` as one HTML page (charts and plotly.js inline)."""
    from plotly.offline import get_plotlyjs

    tx = result.transactions.table
    bounds = tx.aggregate(first=tx.invoice_date.min(), last=tx.invoice_date.max()).execute().iloc[0]
    meta = (f"{_e(source) + ' &middot; ' if source else ''}data from {bounds['first']:%Y-%m-%d} to "
            f"{bounds['last']:%Y-%m-%d} &middot; recency measured from {result.snapshot_date} &middot; "
            f"generated {dt.datetime.now():%Y-%m-%d %H:%M} by segmint")
    sections = [f"<h1>{_e(title)}</h1><p class='meta'>{meta}</p>", _kpis(result),
                "<h2 id='quality'>Data quality</h2>" + _quality(result)]
    for scheme, why in result.skipped.items():
        sections.append(f'<p class="note">{_e(scheme)} not computed: {_e(why)}</p>')
    sections += [_scheme_section(name, result) for name in result.summaries]
    if result.story is not None:
        sections.append(_story_section(result.story, has_prices(result.transactions.mapping)))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body><main>{''.join(sections)}</main>"
        # charts drawn while the page was still loading measured a provisional width: redraw once laid out
        "<script>window.addEventListener('load', () => window.dispatchEvent(new Event('resize')));</script>"
        "</body></html>"
    )


def write_html_report(result: Any, path: str | Path, *, title: str = "Customer segments", source: str = "") -> Path:
    """Write :func:`html_report` to ``path`` atomically; returns the path."""
    from segmint.util import write_text_atomic

    path = Path(path)
    text = html_report(result, title=title, source=source)
    write_text_atomic(path, text)
    log.info("wrote HTML report %s (%.1f MB)", path, len(text) / 2**20)
    return path

