"""JSON arrays and JSON lines via DuckDB; scalars become text, nested values JSON text."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from pathlib import Path

import duckdb
from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb
from segmint.errors import InputError
from segmint.io.base import RawTable, drop_total_and_blank_rows, duckdb_to_con, sql_identifier, sql_string
from segmint.schema import ColumnMapping

MAX_NESTING = 256  # levels of [ and { a file may nest; far deeper crashes the JSON parser
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
SCAN_BLOCK = 16 * 2**20
MAX_LOCATE_BYTES = 256 * 2**20  # a file DuckDB refused is searched for its bad line up to this size


def read_json(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read a JSON array of records or JSON lines; ``_row`` is the record number (line in JSONL)."""
    check_nesting(path)
    source = "read_json(?, format='auto', sample_size=-1)"
    try:
        described = raw_duckdb().execute(f"DESCRIBE SELECT * FROM {source}", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise json_error(path, exc) from None
    names = [row[0] for row in described]
    if not names or names == ["json"]:
        ((records,),) = raw_duckdb().execute(f"SELECT count(*) FROM {source}", [str(path)]).fetchall()
        found = "plain values" if records else "no records (the file is empty or an empty list)"
        raise InputError(f"{path.name}: expected JSON objects (records), found {found}", field="source", value=path.name)
    wrapper = _wrapping_list(path, described)
    if wrapper is not None:
        return _read_wrapped(path, con, wrapper)
    records = _records(path, source, names)
    # Reading every field as JSON keeps numbers exactly as written ('3', not '3.0').
    columns = "{" + ", ".join(f"{sql_string(n)}: 'JSON'" for n in names) + "}"
    source = f"read_json(?, format='auto', columns={columns})"
    fields = [(n, "$", n) for n in names if n not in records]
    fields += [(n, f'$."{key}"', f"{n}.{key}") for n in records for key in records[n]]
    select = ", ".join(f"({sql_identifier(n)} ->> {sql_string(path_)}) AS {sql_identifier(out)}" for n, path_, out in fields)
    names = [out for _, _, out in fields]
    try:
        table = duckdb_to_con(con, f"SELECT {select} FROM {source}", source=path.name, first_row=1, params=[str(path)])
    except duckdb.Error as exc:
        raise json_error(path, exc) from None
    raw = RawTable(table=table, source=path.name, columns=names, header_row=None, format="json")
    return drop_total_and_blank_rows(raw)


def _wrapping_list(path: Path, described: list[tuple]) -> str | None:
    """The key of the list of records when the file is one object holding them (``{"orders": [...]}``,
    beside metadata such as a count), else None.

    Read as a record, that object was one basket whose "items" were the orders: the notes then named
    a product key no order has and an invoice number made up for the whole file. One object whose
    other keys name a customer or a date is a sale with its item list, and stays one.
    """
    from segmint.schema import detect_mapping

    lists = [name for name, dtype, *_ in described if dtype.startswith("STRUCT(") and dtype.endswith("[]")]
    if len(lists) != 1:
        return None
    others = [name for name, *_ in described if name != lists[0]]
    found = detect_mapping(others, {name: [] for name in others}).mapping.fields
    if {"customer_id", "invoice_date"} & set(found):
        return None
    one = f"SELECT count(*) FROM (SELECT 1 FROM read_json(?, format='auto', columns={{{sql_string(lists[0])}: 'JSON'}}) LIMIT 2)"
    return lists[0] if raw_duckdb().execute(one, [str(path)]).fetchone()[0] == 1 else None


def _read_wrapped(path: Path, con: BaseBackend, key: str) -> RawTable:
    """The records of the list under ``key`` of a file that is one object: one row each, ``_row`` its
    position in the list, every field as text (as :func:`read_json` reads records)."""
    records = (
        f"SELECT unnest(from_json({sql_identifier(key)}, '[\"json\"]')) AS record "
        f"FROM read_json(?, format='auto', columns={{{sql_string(key)}: 'JSON'}})"
    )
    fields = f"SELECT unnest({sql_identifier(key)}) AS record FROM read_json(?, format='auto', sample_size=-1)"
    try:
        names = [row[0] for row in raw_duckdb().execute(f"DESCRIBE SELECT record.* FROM ({fields})", [str(path)]).fetchall()]
        # an order's customer object is read as its fields here too (customer.id, customer.email)
        nested = _records(path, f"(SELECT record.* FROM ({fields}))", names)
        quoted = lambda *keys: sql_string("$" + "".join('."' + k.replace('"', '\\"') + '"' for k in keys))  # noqa: E731
        fields_out = [((n,), n) for n in names if n not in nested]
        fields_out += [((n, key), f"{n}.{key}") for n in nested for key in nested[n]]
        select = ", ".join(f"json_extract_string(record, {quoted(*keys)}) AS {sql_identifier(out)}" for keys, out in fields_out)
        names = [out for _, out in fields_out]
        table = duckdb_to_con(con, f"SELECT {select} FROM ({records})", source=path.name, first_row=1, params=[str(path)])
    except duckdb.Error as exc:
        raise json_error(path, exc) from None
    raw = RawTable(table=table, source=path.name, columns=names, header_row=None, format="json")
    raw.notes.append(f"records: the {key!r} list of the file's one object (row n = its n-th record)")
    return drop_total_and_blank_rows(raw)


def _records(path: Path, source: str, names: list[str]) -> dict[str, list[str]]:
    """Fields whose every value is one object that is no purchased item, e.g. a Shopify order's
    ``"customer": {"id": 7, "email": ...}``, with their keys: read as ``customer.id``, ``customer.email``
    (one column each, named so the mapping finds them), not as a basket of one item. A basket column
    (``product_json``, ``items``, ...), an item object (``{"product": "A", "quantity": 2}``) and a
    product -> quantity dict (every value a number) stay whole for :mod:`segmint.io.items`."""
    from segmint.io.items import ITEM_COLUMN_NAMES, names_an_item
    from segmint.schema import normalize_name

    types = raw_duckdb().sql(f"SELECT * FROM {source} LIMIT 0", params=[str(path)]).types
    records = {}
    for name, kind in zip(names, types, strict=True):
        if kind.id != "struct" or normalize_name(name) in ITEM_COLUMN_NAMES:
            continue
        keys = [key for key, _ in kind.children if '"' not in key]
        numeric = all(child.id in _NUMERIC_TYPES for _, child in kind.children)
        if keys and not numeric and not names_an_item(tuple(keys)):
            records[name] = keys
    return records


_NUMERIC_TYPES = {"tinyint", "smallint", "integer", "bigint", "hugeint", "ubigint", "uinteger", "double", "float",
                  "decimal"}  # fmt: skip


def json_error(path: Path, exc: duckdb.Error) -> InputError:
    """One message for a file DuckDB cannot read as JSON records: the line, what is wrong and its text,
    never the SQL DuckDB quotes after its own first line (nor its line number, one past the real one)."""
    found = _first_bad_value(path)
    if found is None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = re.sub(r"^[A-Za-z ]*Error: ", "", first).strip()
        return InputError(
            f"{path.name}: not valid JSON records ({detail}); save it as one array of objects or as JSON lines "
            "(one object per line)", field="file", value=path.name,
        )
    number, why, text = found
    return InputError(
        f"{path.name}: line {number:,} is not valid JSON ({why}): {text!r}; fix or remove what is wrong there "
        "(JSON lines hold one object per line; an array file is one JSON value)", field="line", value=number,
    )


def _first_bad_value(path: Path, width: int = 60) -> tuple[int, str, str] | None:
    """(line, Python's reason, the line's start) where the file stops being a sequence of JSON values
    (JSON lines, concatenated objects or one array); None when it parses, or is too large to check here."""
    if path.stat().st_size > MAX_LOCATE_BYTES:
        return None
    text = path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    decoder, position = json.JSONDecoder(), 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return None
        try:
            _, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            line = text.splitlines()[error.lineno - 1] if text.splitlines() else ""
            shown = line if len(line) <= width else line[: width - 3] + "..."
            return error.lineno, error.msg, shown


def check_nesting(path: Path, max_depth: int = MAX_NESTING) -> None:
    """InputError when brackets nest deeper than ``max_depth`` (outside strings), before DuckDB parses.

    Read in blocks cut at line ends (a JSON string never spans a line), so memory stays bounded for
    JSON lines; a file without line breaks is scanned whole.
    """
    depth = 0
    pending = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(SCAN_BLOCK)
            data = pending + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if block and cut == 0:  # no line end yet: keep reading
                pending = data
                continue
            scan, pending = data[:cut], data[cut:]
            brackets = _STRING.sub(b"", scan).translate(None, _NOT_BRACKETS)
            if brackets:
                levels = list(accumulate(map(_DEPTH_STEP.__getitem__, brackets), initial=depth))
                if max(levels) > max_depth:
                    raise InputError(
                        f"{path.name}: refused: values nest more than {max_depth} levels deep (arrays or "
                        "objects inside each other); a sales export nests a few levels at most, so the file "
                        "is damaged or hostile. Export the data again",
                        field="file", value=path.name,
                    )
                depth = levels[-1]
            if not block:
                return
