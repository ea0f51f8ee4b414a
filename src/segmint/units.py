"""What an amount counts: money, or items when the data have no prices.

A basket log read with ``unpriced="units"`` values each line at its quantity, so every "revenue",
"spend" or "order value" figure counts items. Whatever shows or exports such a figure names it by
what it counts: columns through :func:`item_columns`, words through :func:`measure_word`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ITEM_COLUMNS", "NO_MONEY", "has_prices", "has_value_column", "item_columns", "item_config", "item_notes", "item_text", "measure_word"]

# money column -> the name of the same figure counted in items
ITEM_COLUMNS = {
    "revenue": "items", "share_of_revenue": "share_of_items", "revenue_pct": "items_pct",
    "revenue_per_day": "items_per_day", "aov": "items_per_order", "avg_order_value": "items_per_order",
    "atv": "items_per_visit", "sales": "items", "share_of_sales": "share_of_items",
    "sales_per_customer": "items_per_customer", "total_spend": "total_items",
    "atv_min": "items_per_visit_min", "atv_max": "items_per_visit_max",
    # features' monetary is a copy of revenue (or of the order value): beside it one items column is kept
    "monetary": "items", "mean_monetary": "mean_items", "monetary_to_date": "items_to_date", "net_value": "net_items",
    # CLV (segmint.btyd): Gamma-Gamma's value per purchase and the CLV predict items without prices
    "expected_avg_value": "expected_items_per_purchase", "monetary_value": "items_per_repeat_purchase",
    "clv": "predicted_items", "total_clv": "predicted_items", "mean_clv": "mean_predicted_items",
    "share_of_clv": "share_of_predicted_items",
}  # fmt: skip
# money without prices: profit is amount - cost, and an amount that counts items less a cost is no figure
NO_MONEY = ("profit", "profit_to_date")
# a displayed word (header, label) -> the same in items
_ITEM_WORDS = {
    "revenue": "items", "Revenue": "Items", "% revenue": "% items", "share of revenue": "share of items",
    "AOV": "items/order", "Avg order value": "Avg items per order", "average order value": "average items per order",
    "Average order value": "Average items per order",
    "Sales": "Items", "% sales": "% items", "atv min": "items/visit min", "atv max": "items/visit max",
    "revenue/day": "items/day", "Revenue per day": "Items per day", "Total spend": "Total items", "spend": "items",
    "Avg monetary": "Avg items", "Monetary": "Items", "monetary": "items", "Monetary (net spend)": "Items bought (net)",
    "Predicted value": "Predicted items",
    # scheme titles (segmint.segment.scheme_title)
    "Spend x frequency tiers": "Items x frequency tiers",
}  # fmt: skip
# money phrases in the sentences segmint writes (the value story's notes) -> the same in items; segment
# descriptions are worded whole instead (item_config), so a user's own text is never rewritten
_ITEM_PHRASES = (
    ("revenue (net spend)", "items bought (no prices)"),
    # the schemes' notes on ties (segment.notes.METRIC_LABELS): "have the same spend (13)"
    ("the same spend (", "the same number of items ("),
    ("the same average order value (", "the same average items per order ("),
    ("Spend x frequency tiers", "Items x frequency tiers"),  # the tiers scheme's title, in its notes
)


def purchase_words(frequency: str) -> tuple[str, str]:
    """(plural, singular) of what a purchase is: orders (invoices), or visits when the data have no invoice
    column and a customer's lines on one day are one purchase (CDNOW: 67,511 customer-days, not orders)."""
    return ("visits", "visit") if frequency == "days" else ("orders", "order")


def has_value_column(fields: Any) -> bool:
    """Whether mapped ``fields`` value the lines: an amount (line total) or a unit price is among them."""
    return "amount" in fields or "unit_price" in fields


def has_prices(mapping: Any) -> bool:
    """Whether amounts are money: the column mapping names an amount or a unit price (a workspace or a
    ready-made table, mapped by no one here, is taken as priced)."""
    fields = getattr(mapping, "fields", None)
    return mapping is None or fields is None or has_value_column(fields)


def measure_word(word: str, priced: bool) -> str:
    """``word`` ("revenue", "% revenue", "AOV", ...) as shown: itself, or its item-count name without prices."""
    return word if priced else _ITEM_WORDS.get(word, word)


def item_text(text: str, priced: bool) -> str:
    """A sentence segmint wrote, as shown: itself, or with its money phrases ("revenue (net spend)") counting
    items without prices."""
    if priced:
        return text
    for money, items in _ITEM_PHRASES:
        text = text.replace(money, items)
    return text


def item_columns(table: Any, priced: bool) -> Any:
    """A pandas frame, Ibis or Arrow table (or a dict of columns) with money columns renamed to what they
    count when unpriced.

    Money columns that name one figure twice (the tiers scheme's ``sales`` is its copy of ``revenue``, the
    features' ``monetary`` too) become one items column: the first in :data:`ITEM_COLUMNS`' order is kept,
    the copies are left out, as are the columns of :data:`NO_MONEY` (profit).
    """
    if priced:
        return table
    columns = list(table) if isinstance(table, dict) else list(getattr(table, "column_names", None) or table.columns)
    renames: dict[str, str] = {}
    copies = [name for name in NO_MONEY if name in columns]
    for old, new in ITEM_COLUMNS.items():
        if old not in columns or (new in columns and old != "monetary"):
            continue
        if new in renames.values() or new in columns:  # monetary beside an items column: its copy
            copies.append(old)
        else:
            renames[old] = new
    if not renames and not copies:
        return table
    if isinstance(table, dict):
        return {renames.get(k, k): v for k, v in table.items() if k not in copies}
    if hasattr(table, "to_arrow") and not hasattr(table, "rename_columns"):  # segmint.results.Columns
        table = table.to_arrow()
    if copies:
        table, columns = _without(table, copies), [c for c in columns if c not in copies]
    if hasattr(table, "rename_columns"):  # Arrow
        return table.rename_columns([renames.get(c, c) for c in columns])
    if hasattr(table, "to_pyarrow"):  # Ibis: rename takes new=old
        return table.rename({new: old for old, new in renames.items()})
    return table.rename(columns=renames)


def _without(table: Any, names: list[str]) -> Any:
    """An Arrow, Ibis or pandas table without the columns ``names``."""
    if hasattr(table, "rename_columns"):  # Arrow
        return table.drop_columns(names)
    if hasattr(table, "to_pyarrow"):  # Ibis
        return table.drop(*names)
    return table.drop(columns=names)


def item_config(settings: Any, priced: bool, scheme: str = "") -> Any:
    """A segment config (``scheme``'s defaults when None) whose segments' descriptions, which the reasons
    quote, are worded for items when unpriced.

    Each description is replaced whole, never edited: by the segment's own ``unpriced_description``, else,
    when it is the packaged description of a segment ("buys regularly and spends well"), by that segment's
    packaged unpriced wording ("returns regularly and has bought many items"); any other description -- a
    user's own -- is kept as written.
    """
    if priced:
        return settings
    if settings is None and scheme:
        from segmint.segment import get_scheme

        settings = get_scheme(scheme).config(None)
    if "amount_word" in getattr(type(settings), "model_fields", {}):  # the value story's reasons: "items 13.00 (cluster 6 of 9)"
        return settings.model_copy(update={"amount_word": "items"})
    segments = getattr(settings, "segments", None)
    if not segments or not all(hasattr(s, "description") for s in segments):
        return settings
    packaged = _packaged_unpriced(type(settings))
    worded = []
    for segment in segments:
        unpriced = getattr(segment, "unpriced_description", "") or packaged.get(segment.description, "")
        worded.append(segment.model_copy(update={"description": unpriced}) if unpriced else segment)
    return settings.model_copy(update={"segments": worded})


def _packaged_unpriced(config_class: type) -> dict[str, str]:
    """Packaged description -> its unpriced wording, from ``config_class``'s default segments."""
    try:
        defaults = config_class().segments
    except Exception:  # noqa: BLE001 - a config without defaults has no packaged wording
        return {}
    return {s.description: s.unpriced_description for s in defaults if getattr(s, "unpriced_description", "")}


def item_notes(result: Any, priced: bool) -> Any:
    """A story result whose notes ("ranks revenue (net spend)") count items when unpriced."""
    result.notes[:] = [item_text(note, priced) for note in result.notes]
    return result
