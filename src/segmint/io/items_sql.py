"""The SQL (DuckDB's) that expands baskets into item lines and spreads a basket's money over its items
(see :mod:`segmint.io.items` for the rules)."""

from __future__ import annotations

from segmint.io.base import ROW_COL, RawTable, sql_identifier, sql_string

DICT_PRODUCT, DICT_QUANTITY = "product", "quantity"  # keys given to items of the dict / name-list forms
# the item's position in its basket; not "item_no", which column detection rightly reads as a product code
POSITION_COLUMN = "item_position"


def expand_sql(
    raw: RawTable, column: str, others: list[str], names: dict[str, str], money: list[str],
    summed: set[str], count_column: str | None, add_invoice: bool, keys: tuple[str, str | None],
    weight: str | None = None,
) -> str:
    """SQL turning each basket into item lines, identical items of one basket merged into one line.

    ``keys`` = (product key, quantity key) of the item objects: a basket written as a product ->
    quantity dict or a list of names is read into those same keys, so one file may mix the forms.
    A single object holding an item's fields is that one item. Invoice-level ``money`` stays on the first
    line, or with a ``weight`` (SQL of a line's weight, :func:`weight_sql`) is spread over the lines in
    proportion to it.
    """
    q = sql_identifier
    parsed = parsed_json(column)
    key_path = "'$.\"' || replace(__k, '\"', '\\\"') || '\"'"
    product, quantity = sql_string(keys[0]), sql_string(keys[1] or DICT_QUANTITY)
    value_text = f"json_extract_string(__json, {key_path})"
    other_keys = "[" + ", ".join(sql_string(k) for k in names if k != keys[0]) + "]::VARCHAR[]"
    # one item written without its list (the rule of _parse_list): a non-number value, or a product and its fields
    single = f"""len(list_filter(json_keys(__json), __k -> TRY_CAST({value_text} AS DOUBLE) IS NULL)) > 0
        OR (list_contains(json_keys(__json), {product})
            AND len(list_filter(json_keys(__json), __k -> list_contains({other_keys}, __k))) > 0)"""
    items = f"""CASE
        WHEN json_type(__json) = 'OBJECT' AND ({single}) THEN [__json]
        WHEN json_type(__json) = 'OBJECT' THEN list_transform(json_keys(__json), __k -> json_object(
            {product}, __k, {quantity}, json_extract(__json, {key_path})))
        WHEN json_type(__json) = 'ARRAY' THEN list_transform(json_extract(__json, '$[*]'), __v -> CASE
            WHEN json_type(__v) = 'OBJECT' THEN __v ELSE json_object({product}, __v ->> '$') END)
        END"""
    fields = [f"CAST(__item ->> {sql_string(k)} AS VARCHAR) AS {q(n)}" for k, n in names.items()]
    quantity = [n for n in names.values() if n in summed]
    # a non-numeric quantity is never merged (cleaning reports it); a missing one counts as 1
    odd = " OR ".join(f"({q(n)} IS NOT NULL AND TRY_CAST({q(n)} AS DOUBLE) IS NULL)" for n in quantity)
    group = [q(ROW_COL)] + [q(n) for n in names.values() if n not in summed]
    group.append(f"CASE WHEN __item IS NULL{' OR ' + odd if odd else ''} THEN __pos END")
    merged = [f"any_value({q(c)}) AS {q(c)}" for c in others]
    for n in names.values():
        if n in summed:
            total = f"sum(coalesce(TRY_CAST({q(n)} AS DOUBLE), 1))"
            merged.append(f"CASE WHEN count(*) = 1 THEN any_value({q(n)}) ELSE {_number_text(total)} END AS {q(n)}")
        else:
            merged.append(q(n))
    if count_column:
        merged.append(f"CASE WHEN any_value(__item) IS NULL THEN NULL ELSE CAST(count(*) AS VARCHAR) END AS {q(count_column)}")
    merged += ["min(__pos) AS __first", q(ROW_COL)]
    select = [(_allocated(c, money.index(c)) if weight else f"CASE WHEN __pos = 1 THEN {q(c)} ELSE '0' END AS {q(c)}")
              if c in money else q(c) for c in others]  # fmt: skip
    select += [q(n) for n in names.values()] + ([q(count_column)] if count_column else [])
    if add_invoice:
        select.append(f"CAST(concat({sql_string(raw.source)}, ':', {q(ROW_COL)}) AS VARCHAR) AS invoice_no")
    select += [f"CAST(__pos AS VARCHAR) AS {POSITION_COLUMN}", q(ROW_COL)]
    return f"""
        WITH base AS (SELECT *, {items} AS __items FROM (SELECT *, {parsed} AS __json FROM ({{inner}}))),
        lines AS (SELECT *, unnest(CASE WHEN coalesce(len(__items), 0) = 0 THEN [NULL::JSON]
                                        ELSE __items END) AS __item,
                            unnest(range(1, greatest(coalesce(len(__items), 0), 1) + 1)) AS __pos
                  FROM base),
        items AS (SELECT *, {", ".join(fields)} FROM lines),
        merged AS (SELECT {", ".join(merged)} FROM items GROUP BY {", ".join(group)}),
        numbered AS (SELECT *, row_number() OVER (PARTITION BY {q(ROW_COL)} ORDER BY __first) AS __pos
                     FROM merged){_allocation_sql(money, weight) if weight else ""}
        SELECT {", ".join(select)} FROM {"allocated" if weight else "numbered"} ORDER BY {q(ROW_COL)}, __pos"""


def _allocation_sql(money: list[str], weight: str) -> str:
    """CTEs spreading each basket's ``money`` over its lines by ``weight``, in whole cents that add up to the
    basket's total exactly (largest remainder; ties to the earlier line). A total that is no number of whole
    cents, or a basket with a weight that is not a positive number, keeps the total on its first line."""
    q = sql_identifier
    shares, ranks = [], []
    for i, c in enumerate(money):
        cents = f"round(TRY_CAST({q(c)} AS DOUBLE) * 100)"
        shares.append(f"""{cents} AS __cents{i},
            CASE WHEN abs(TRY_CAST({q(c)} AS DOUBLE) * 100 - {cents}) < 1e-6 AND __ok
                 THEN abs({cents}) * __w / __weight END AS __share{i}""")
        ranks.append(f"""abs(__cents{i}) - sum(floor(__share{i})) OVER __basket AS __short{i},
            row_number() OVER (PARTITION BY {q(ROW_COL)} ORDER BY __share{i} - floor(__share{i}) DESC, __pos) AS __rank{i}""")
    return f""",
        weighed AS (SELECT *, sum(__w) OVER (PARTITION BY {q(ROW_COL)}) AS __weight,
                              count(*) OVER (PARTITION BY {q(ROW_COL)}) AS __lines,
                              bool_and(coalesce(__w > 0, false)) OVER (PARTITION BY {q(ROW_COL)}) AS __ok
                    FROM (SELECT *, {weight} AS __w FROM numbered)),
        shared AS (SELECT *, {", ".join(shares)} FROM weighed),
        allocated AS (SELECT *, {", ".join(ranks)} FROM shared WINDOW __basket AS (PARTITION BY {q(ROW_COL)}))"""


def weight_sql(quantity: str | None, price: str | None, line_amount: str | None) -> str:
    """SQL of an item line's weight in its basket's total: its value (its own amount, else quantity x price)
    when the items carry one, else, or in a basket where some line has no positive value, its quantity (a
    missing quantity counts 1, as when identical items are merged)."""
    q = sql_identifier
    units = "1" if quantity is None else f"coalesce(TRY_CAST({q(quantity)} AS DOUBLE), CASE WHEN {q(quantity)} IS NULL THEN 1 END)"
    if not (line_amount or price):
        return units
    value = f"TRY_CAST({q(line_amount)} AS DOUBLE)" if line_amount else f"{units} * TRY_CAST({q(price)} AS DOUBLE)"
    return f"CASE WHEN bool_and(coalesce({value} > 0, false)) OVER (PARTITION BY {q(ROW_COL)}) THEN {value} ELSE {units} END"


def _allocated(column: str, i: int) -> str:
    """The select item of money ``column`` (the ``i``-th) allocated by :func:`_allocation_sql` (first line only
    when it could not be)."""
    q = sql_identifier
    return (f"CASE WHEN __lines = 1 THEN {q(column)} "
            f"WHEN __share{i} IS NULL THEN (CASE WHEN __pos = 1 THEN {q(column)} ELSE '0' END) "
            f"ELSE printf('%.2f', sign(__cents{i}) * (floor(__share{i}) + (__rank{i} <= __short{i})::INT) / 100.0) "
            f"END AS {q(column)}")


def parsed_json(column: str) -> str:
    """SQL: the basket of ``column`` as JSON (a JSON text cell parsed; NULL when it is not JSON)."""
    pj = f"to_json({sql_identifier(column)})"
    return f"CASE WHEN json_type({pj}) = 'VARCHAR' THEN TRY_CAST({pj} ->> '$' AS JSON) ELSE {pj} END"


def _number_text(value: str) -> str:
    """SQL rendering a DOUBLE as text the way it would be written: '4' for 4.0, '2.5' for 2.5."""
    return (f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e15 "
            f"THEN CAST(CAST({value} AS BIGINT) AS VARCHAR) ELSE CAST({value} AS VARCHAR) END")
