"""Expand a column holding a list of purchased items (``product_json``) into one row per item.

S3-style exports store one payment per row with the basket as JSON, e.g.
``member_id,payment_date,total_amt,paid_amt,product_json`` with
``[{"product": "A", "quantity": 2, "price": 10.0}, ...]``. Each item becomes a line; the other
columns repeat on every line, except invoice-level money columns (``total_amt``, ``paid_amt``), whose sum
over a basket's lines is always the basket's total, never once per item. When the items carry a price,
line amounts are quantity x price and ``resolve_mapping`` ignores the invoice-level total (see
``RawTable.items_priced``); the total then stays on the first line, '0' on the others. When they do not,
the total is spread over the items by quantity in whole cents that add up to it exactly (30.00 for 2 x A
and 1 x B: 20.00 and 10.00; 10.00 over three single items: 3.34, 3.33, 3.33): per-product revenue is then
an allocation, and the quality report and ``recommend``'s notes say so (``ALLOCATION_NOTE``). Putting the
whole total on the first item, as before, made it that product's revenue and the others' zero. Items that
carry a price while some baskets do not (a blank or unreadable basket beside priced lists) spread the total
in proportion to quantity x price instead (by quantity in a basket where an item has none): each item keeps
its own value when the prices add up to the total, and a discount or a fee is shared by value
(``VALUE_ALLOCATION_NOTE``).

Four item layouts are read (the SQL: :mod:`segmint.io.items_sql`): a list of objects (above), one object without its list
(``{"product": "A", "quantity": 2}``), a dict of product -> quantity (``{"D": 2, "A": 1}``) and a list
of product names (``["D", "A", "A"]``). Identical items repeated in
one basket are real quantities: they become one line whose quantity (and line amount, when items
carry one) is the sum, so cleaning never mistakes them for duplicate lines. A blank list keeps its
row (one line without a product): its money is real sales, only product analyses leave it out.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import ibis
from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb
from segmint.io.base import (
    ROW_COL,
    SOURCE_COL,
    RawTable,
    duckdb_to_con,
    is_duckdb,
    register_arrow,
    sql_identifier,
    temp_name,
)
from segmint.io.items_sql import DICT_PRODUCT, DICT_QUANTITY, POSITION_COLUMN, expand_sql, parsed_json, weight_sql
from segmint.schema import detect_mapping, normalize_name

log = logging.getLogger(__name__)

ITEM_COLUMN_NAMES = ("product json", "products", "items", "line items", "order items", "basket", "cart")
NAMED_SHARE, UNNAMED_SHARE = 0.5, 0.8  # share of sampled values that must be baskets (JSON lists/objects)
_MONEY_WORDS = {"amt", "amount", "total", "paid", "value", "price", "tax", "discount", "freight",
                "shipping", "fee", "revenue", "sales", "cost", "net", "gross"}  # fmt: skip


_MONEY_FIELDS = ("amount", "unit_price", "cost", "unit_cost", "quantity")
_SUMMED_FIELDS = ("quantity", "amount", "cost")  # item fields added up when identical items repeat
ITEM_NAME_KEYS = ("name", "title", "label", "description")  # an item's own name: the product's
ALLOCATION_PREFIX = "items without their own price: "
ALLOCATION_NOTE = (ALLOCATION_PREFIX + "each basket's {columns} is spread over its items by quantity, so per-product "
                   "revenue is an allocation of basket totals, not item prices (sales totals are exact)")
# items with a price beside baskets without one (blank or unreadable): the totals follow the items' own value
VALUE_ALLOCATION_NOTE = (ALLOCATION_PREFIX + "in some baskets, so each basket's {columns} is spread over its items "
                         "in proportion to quantity x item price (by quantity where an item has none): per-product "
                         "revenue is the items' value scaled to the basket's total (sales totals are exact)")


def find_item_column(raw: RawTable, sample_size: int = 200) -> tuple[str, list[str], list[str], set[str]] | None:
    """The column holding JSON item lists (or product -> quantity dicts), the item keys seen, and the
    keys every item has, and the basket forms seen (``objects``, ``dict``, ``names``; ``blank`` for an empty basket).

    Keys are those of the item objects; baskets written as a product -> quantity dict or a list of
    names add ``product``/``quantity`` only when no object item was seen (otherwise they are read into
    the objects' own product and quantity keys, see :func:`expand_items`).
    """
    sample = raw.sample_columns(sample_size)
    named = [c for c in raw.columns if normalize_name(c) in ITEM_COLUMN_NAMES]
    for column in named + [c for c in raw.columns if c not in named]:
        values = [v for v in sample.get(column, []) if v is not None and str(v).strip()]
        parsed = [_parse_list(str(v)) for v in values]
        good = [p for p in parsed if p is not None]
        # a column named for baskets needs half its values readable: the others are reported, row by row
        share = NAMED_SHARE if column in named else UNNAMED_SHARE
        if values and len(good) >= share * len(values) and any(items for items, _ in good):
            objects = [items for items, kind in good if kind == "objects"]
            lists = objects or [items for items, _ in good]
            keys: list[str] = []
            for items in lists:
                for item in items:
                    keys += [k for k in item if k not in keys]
            everywhere = [k for k in keys if all(k in item for items in lists for item in items)]
            blank = any(v is None or not str(v).strip() for v in sample.get(column, []))
            return column, keys, everywhere, {kind for _, kind in good} | ({"blank"} if blank else set())
    return None


def _parse_list(text: str) -> tuple[list[dict], str] | None:
    """Items of one basket as objects, and the basket's form: ``objects`` (a list of objects),
    ``dict`` (product -> quantity) or ``names`` (a list of product names)."""
    if not text.lstrip().startswith(("[", "{")):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return None
    if isinstance(value, dict | list) and not value:
        return [], "blank"  # an empty basket: its sale has no items
    if isinstance(value, dict):
        if all(_is_number(v) for v in value.values()) and not names_an_item(tuple(value)):
            return [{DICT_PRODUCT: k, DICT_QUANTITY: v} for k, v in value.items()], "dict"
        return [value], "objects"  # one item written without its list: {"product_id": "A", "quantity": 2}
    if not isinstance(value, list):
        return None
    if all(isinstance(v, dict) for v in value):
        return value, "objects"
    if value and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return [{DICT_PRODUCT: v} for v in value], "names"
    return None


@functools.lru_cache(maxsize=256)
def names_an_item(keys: tuple[str, ...]) -> bool:
    """True when an object's keys are an item's fields (a product and its quantity or price), so
    ``{"product_id": 7, "quantity": 2}`` is one item, not a basket of products "product_id" and "quantity"."""
    fields = detect_mapping(list(keys), _empty(list(keys))).mapping.fields
    return ("product_id" in fields or "product_name" in fields) and len(fields) >= 2


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def expand_items(raw: RawTable, con: BaseBackend) -> RawTable:
    """Return ``raw`` with its item-list column expanded to one row per item (unchanged if none)."""
    found = find_item_column(raw)
    if found is None:
        return raw
    column, keys, everywhere, kinds = found
    seen = list(keys)  # the keys the items have (the note names only these)
    others = [c for c in raw.columns if c != column]
    product_key, quantity_key = _item_keys(keys)
    if quantity_key is None and "dict" in kinds:  # {"D": 2} baskets beside objects without a quantity
        quantity_key = DICT_QUANTITY if DICT_QUANTITY not in keys else f"{DICT_QUANTITY}_"
        keys = [*keys, quantity_key]
    product_key = product_key or DICT_PRODUCT
    if product_key not in keys:
        keys = [product_key, *keys]
    names = {k: (k if k not in others else f"item_{k}") for k in keys}
    expanded = [*others, *names.values()]
    detected = detect_mapping(expanded, _empty(expanded)).mapping.fields
    if names[product_key] not in (detected.get("product_id"), detected.get("product_name")):
        # e.g. {"name": ..., "qty": ...}: inside an item, "name" is the product's (not a customer's)
        names[product_key] = next(n for n in ("item_name", "item_product_name") if n not in others)
    by_name = detect_mapping(others, _empty(others)).mapping.fields
    not_money = {c for f, c in by_name.items() if f not in _MONEY_FIELDS}
    money = [c for c in others if set(normalize_name(c).split()) & _MONEY_WORDS and c not in not_money]
    add_invoice = "invoice_id" not in by_name
    always = [names[k] for k in everywhere]
    item_fields = detect_mapping(always, _empty(always)).mapping.fields
    key_fields = detect_mapping(list(names.values()), _empty(list(names.values()))).mapping.fields
    summed = {key_fields[f] for f in _SUMMED_FIELDS if f in key_fields}
    count_column = None
    if "quantity" not in key_fields and "quantity" not in by_name:
        count_column = next(n for n in ("quantity", "item_quantity", "item_count") if n not in others + list(names.values()))
    # read as blank baskets: like them, no price
    unreadable, records = unreadable_baskets(con, raw, column)
    items_priced = ("unit_price" in item_fields or "amount" in item_fields) and kinds == {"objects"} and unreadable is None
    # items without their own price: the basket's money spread over its items by quantity (an allocation)
    weight = None if items_priced or not money else weight_sql(
        key_fields.get("quantity") or count_column, key_fields.get("unit_price"), key_fields.get("amount"))
    sql = expand_sql(raw, column, others, names, money, summed, count_column, add_invoice, (product_key, quantity_key),
                      weight)  # fmt: skip
    table = _run(con, raw, sql)
    columns = (others + list(names.values()) + ([count_column] if count_column else [])
               + (["invoice_no"] if add_invoice else []) + [POSITION_COLUMN])  # fmt: skip
    expanded = RawTable(
        table=table, source=raw.source, columns=columns, header_row=raw.header_row,
        format=raw.format, sheet=raw.sheet, sheets=list(raw.sheets), skipped=dict(raw.skipped),
        skipped_examples=dict(raw.skipped_examples), notes=list(raw.notes), report_notes=list(raw.report_notes),
        # priced items stand for the invoice total only when every basket lists priced objects: a dict, a list
        # of names, a blank or an unreadable basket has no price, and its sale would be dropped without the total
        invoice_level=[] if weight else money, items_priced=items_priced, records=records,
    )  # fmt: skip
    by_value = bool(weight) and bool({"unit_price", "amount"} & set(key_fields))
    by = "value (quantity x price)" if by_value else "quantity" if key_fields.get("quantity") else "item count"
    kept = "kept on each invoice's first line, 0 on the others" if not weight else f"spread over each basket's items by {by}"
    expanded.notes.append("; ".join([
        f"column {column!r} expanded to one line per item (keys: {', '.join(seen)})",
        *([f"no item key names a product: column {names[product_key]!r} added, blank"] if product_key not in seen else []),
        *([f"no item key holds a quantity: column {count_column!r} added, 1 per item"] if count_column else []),
        "identical items repeated in a basket became one line with their summed quantity",
        *([f"invoice-level {', '.join(money)} {kept}"] if money else []),
        *(["invoice_no = '<file>:<row>' added (no invoice column)"] if add_invoice else []),
    ]))
    if unreadable:
        expanded.report_notes.append(unreadable)
    if weight:
        expanded.report_notes.append((VALUE_ALLOCATION_NOTE if by_value else ALLOCATION_NOTE).format(columns=", ".join(money)))
    log.info("%s: expanded item list column %r", raw.source, column)
    return expanded


def allocated_revenue(report: object) -> list[str]:
    """The quality report's note that product revenue was allocated from basket totals (empty when it was not)."""
    return [w for w in getattr(report, "warnings", None) or [] if w.startswith(ALLOCATION_PREFIX)]


def _item_keys(keys: list[str]) -> tuple[str | None, str | None]:
    """The item key naming the product and the one holding its quantity (None when absent).

    Inside an item a bare ``name``/``title``/``description`` is the product's; no key is a customer's.
    """
    fields = detect_mapping(keys, _empty(keys)).mapping.fields
    product = fields.get("product_id") or fields.get("product_name")
    if product is None:
        product = next((k for k in keys if normalize_name(k) in ITEM_NAME_KEYS), None)
    return product, fields.get("quantity")


def unreadable_baskets(con: BaseBackend, raw: RawTable, column: str) -> tuple[str | None, int]:
    """A warning naming the baskets of ``column`` that are not a JSON list or object (cut short, or text),
    and the records read (one pass over them counts both).

    Such baskets are read as baskets with no items, so their products are missing from every product
    analysis and, without an invoice total, their sale is dropped as having no amount. The count comes
    before the expansion because it decides its SQL (items priced only when no basket lacks a price), so
    the expansion's own parse cannot give it."""
    text = f"CAST({sql_identifier(column)} AS VARCHAR)"
    bad = f"trim(coalesce({text}, '')) <> '' AND coalesce(json_type(__json), '') NOT IN ('ARRAY', 'OBJECT')"
    sql = f"""SELECT count(*) FILTER ({bad}), min({sql_identifier(ROW_COL)}) FILTER ({bad}),
            arg_min({text}, {sql_identifier(ROW_COL)}) FILTER ({bad}), count(*)
        FROM (SELECT *, {parsed_json(column)} AS __json FROM ({{inner}}))"""
    if is_duckdb(con):
        count, row, example, records = con.raw_sql(sql.replace("{inner}", ibis.to_sql(raw.table, dialect="duckdb"))).fetchone()
    else:
        count, row, example, records = _in_private_duckdb(raw, sql, lambda cursor: cursor.fetchone())
    if not count:
        return None, records
    shown = example if len(example) <= 60 else example[:57] + "..."
    return (
        f"{count:,} basket(s) in column {column!r} are not JSON lists or objects (first: row {row}, {shown!r}): "
        "read as baskets with no items: their products are left out (and their sale, when the file has no invoice "
        "total); fix the JSON in the export"
    ), records


def _run(con: BaseBackend, raw: RawTable, sql: str) -> ibis.Table:
    if is_duckdb(con):
        inner = ibis.to_sql(raw.table, dialect="duckdb")
        return duckdb_to_con(con, sql.replace("{inner}", inner), source=raw.source, first_row=None)
    arrow = _in_private_duckdb(raw, sql, lambda cursor: cursor.to_arrow_table())
    import pyarrow as pa

    source = pa.array([raw.source] * arrow.num_rows, type=pa.string())
    return register_arrow(con, arrow.append_column(SOURCE_COL, source))


def _in_private_duckdb(raw: RawTable, sql: str, read: Callable[[Any], Any]) -> Any:
    """``read`` of the cursor running ``sql`` (``{inner}``: ``raw``'s rows) in a private DuckDB holding a copy
    of the rows: the expansion's SQL is DuckDB's, whatever engine ``raw`` lives in."""
    private = raw_duckdb()
    try:
        name = temp_name()
        private.register(name, raw.table.to_pyarrow())
        return read(private.execute(sql.replace("{inner}", f'SELECT * FROM "{name}"')))
    finally:
        private.close()


def _empty(columns: list[str]) -> dict[str, list]:
    return {column: [] for column in columns}

