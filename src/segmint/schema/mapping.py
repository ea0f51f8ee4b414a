"""Mapping a raw table onto the canonical fields: detected choices, the user's overrides, checks and errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segmint.errors import MappingError
from segmint.schema.columns import MAPPABLE_FIELDS, REQUIRED_FIELDS, ColumnMapping
from segmint.schema.detection import MappingDetection, detect_mapping

if TYPE_CHECKING:
    import ibis
    import pandas as pd

    from segmint.io.base import RawTable

__all__ = ["apply_mapping", "resolve_mapping"]


def resolve_mapping(
    raw: RawTable, overrides: ColumnMapping | dict[str, str | None] | None = None, *, require_value: bool = True
) -> ColumnMapping:
    """Detect the mapping of ``raw``, apply ``overrides`` (they win) and check required fields.

    ``require_value=False`` accepts a file with no amount or price column (a basket log).

    Raises MappingError naming the columns found (with sample values) and the exact fix.
    """
    sample = raw.sample(500)
    detection = detect_mapping(raw.columns, sample)
    layout: dict[str, Any] = {"header_row": raw.header_row, "sheet": raw.sheet}
    if isinstance(overrides, ColumnMapping):
        layout.update(overrides.model_dump(exclude={"fields"}, exclude_none=True))
        overrides = dict(overrides.fields)
    wanted = _orient_overrides(dict(overrides or {}), raw, sample)
    mapping = detection.mapping.with_overrides({f: c for f, c in wanted.items() if c})
    fields = {f: c for f, c in mapping.fields.items() if wanted.get(f, c)}
    if raw.items_priced and fields.get("amount") in raw.invoice_level and "amount" not in wanted:
        # Items carry their own price: the invoice total would be counted on top of the lines.
        detection.evidence["amount"] = f"quantity x price per item ({fields.pop('amount')!r} is per invoice)"
    ambiguous = {f: cols for f, cols in detection.ambiguous.items() if f not in wanted}
    problems = []
    for name in _required_now(fields):
        if name in ambiguous and fields.get(name) in ambiguous[name]:
            problems.append(f"{name} is ambiguous: {' or '.join(map(repr, ambiguous[name]))}")
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if "amount" not in fields and "unit_price" not in fields and require_value:
        missing.append("amount (or unit_price)")
    problems += [f"no column found for {name}" for name in missing]
    if problems:
        raise MappingError(_mapping_help(raw, sample, problems, detection))
    ordered = {f: fields[f] for f in MAPPABLE_FIELDS if f in fields}
    layout = {k: v for k, v in layout.items() if k in ColumnMapping.model_fields}
    return ColumnMapping(fields=ordered, **layout)


def _required_now(fields: dict[str, str]) -> list[str]:
    needed = list(REQUIRED_FIELDS)
    needed += ["amount"] if "amount" in fields else ["unit_price", "quantity"]
    return needed


def _orient_overrides(
    overrides: dict[str, str | None], raw: RawTable, sample: pd.DataFrame
) -> dict[str, str | None]:
    """Accept ``{field: column}`` and the CLI's ``{column: field}``; reject unknown names."""
    result: dict[str, str | None] = {}
    for key, value in overrides.items():
        if key not in MAPPABLE_FIELDS and value in MAPPABLE_FIELDS and key in raw.columns:
            key, value = value, key
        if key not in MAPPABLE_FIELDS:
            raise MappingError(
                f"{raw.source}: unknown field {key!r} in the column mapping; valid fields are: "
                f"{', '.join(MAPPABLE_FIELDS)}"
            )
        if value and value not in raw.columns:
            raise MappingError(
                _mapping_help(raw, sample, [f"column {value!r} (mapped to {key}) is not in the file"])
            )
        result[key] = value or None
    return result


def _mapping_help(
    raw: RawTable, sample: pd.DataFrame, problems: list[str], detection: MappingDetection | None = None
) -> str:
    where = raw.source + (f" (sheet {raw.sheet!r})" if raw.sheet else "")
    lines = [f"{where}: cannot map the columns: " + "; ".join(problems) + "."]
    if detection is not None and detection.mapping.fields:
        lines += ["Detected so far:", *("  " + ln for ln in detection.describe().splitlines())]
    lines.append("Columns found (3 sample values each):")
    for column in raw.columns:
        values = [] if column not in sample else sample[column].dropna().astype(str)
        shown = list(dict.fromkeys(v for v in values if v.strip()))[:3]
        lines.append(f"  {column!r}: {', '.join(map(repr, shown)) or '(empty)'}")
    example_field = next(
        (f for f in (*REQUIRED_FIELDS, "amount") if detection is None or f not in detection.mapping.fields),
        "customer_id",
    )
    mapped = set(detection.mapping.fields.values()) if detection is not None else set()
    example_col = next((c for c in raw.columns if c not in mapped), raw.columns[0] if raw.columns else "Column")
    lines += [
        "Fix: say which column holds each field, on the command line",
        f'  --map "{example_col}={example_field}"',
        "or in a YAML mapping file passed with --mapping:",
        "  fields:",
        f"    {example_field}: {example_col}",
    ]
    return "\n".join(lines)


def apply_mapping(raw: RawTable, mapping: ColumnMapping | dict[str, str]) -> ibis.Table:
    """Select the mapped source columns renamed to canonical field names, plus ``_source``/``_row``."""
    fields = mapping.fields if isinstance(mapping, ColumnMapping) else dict(mapping)
    absent = {f: c for f, c in fields.items() if c not in raw.table.columns}
    if absent:
        raise MappingError(
            f"{raw.source}: mapped column(s) not found: "
            + ", ".join(f"{c!r} (for {f})" for f, c in absent.items())
            + f"; columns are: {', '.join(map(repr, raw.columns))}"
        )
    table = raw.table
    ordered = [f for f in MAPPABLE_FIELDS if f in fields]
    return table.select(
        *[table[fields[f]].name(f) for f in ordered], table["_source"], table["_row"]
    )
