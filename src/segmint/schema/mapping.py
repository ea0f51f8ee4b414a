"""Mapping a raw table onto the canonical fields: detected choices, the user's overrides, checks and errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segmint.errors import Fix, MappingError
from segmint.schema.columns import MAPPABLE_FIELDS, REQUIRED_FIELDS, ColumnMapping
from segmint.schema.detection import MappingDetection, Sample, content_fits, detect_mapping, sample_values
from segmint.units import has_value_column

if TYPE_CHECKING:
    import ibis

    from segmint.io.base import RawTable

__all__ = ["apply_mapping", "resolve_mapping"]


def resolve_mapping(
    raw: RawTable, overrides: ColumnMapping | dict[str, str | None] | None = None, *, require_value: bool = True,
    detection: MappingDetection | None = None,
) -> ColumnMapping:
    """Detect the mapping of ``raw``, apply ``overrides`` (they win) and check required fields.

    ``require_value=False`` accepts a file with no amount or price column (a basket log). ``detection``:
    ``detect_mapping`` of ``raw``'s columns and 500-row sample, when the caller already has it.

    Raises MappingError naming the columns found (with sample values), the mapping so far (overrides
    applied) and, as data, a mapping that would fix it (``error.fix.example``: field -> column).
    """
    sample = raw.sample_columns(500)
    detection = detect_mapping(raw.columns, sample) if detection is None else detection
    layout: dict[str, Any] = {"header_row": raw.header_row, "sheet": raw.sheet}
    if isinstance(overrides, ColumnMapping):
        layout.update(overrides.model_dump(exclude={"fields"}, exclude_none=True))
        overrides = dict(overrides.fields)
    wanted = _orient_overrides(dict(overrides or {}), raw, sample, detection)
    mapping = detection.mapping.with_overrides({f: c for f, c in wanted.items() if c})
    fields = {f: c for f, c in mapping.fields.items() if wanted.get(f, c)}
    evidence = {f: why for f, why in detection.evidence.items() if f in fields}
    evidence.update({f: "set by you" for f, c in wanted.items() if c})
    if raw.items_priced and fields.get("amount") in raw.invoice_level and "amount" not in wanted:
        # Items carry their own price: the invoice total would be counted on top of the lines.
        evidence["amount"] = f"quantity x price per item ({fields.pop('amount')!r} is per invoice)"
    ambiguous = {f: cols for f, cols in detection.ambiguous.items() if f not in wanted}
    problems: list[str] = []
    example: dict[str, str] = {}
    for name in _required_now(fields):
        if name in ambiguous and fields.get(name) in ambiguous[name]:
            problems.append(f"{name} is ambiguous: {' or '.join(map(repr, ambiguous[name]))}")
            example[name] = ambiguous[name][0]
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if not has_value_column(fields) and require_value:
        missing.append("amount")
    notes = []
    for name in missing:
        shown = "amount (or unit_price)" if name == "amount" else name
        taken_by = _taken_by_override(name, detection, wanted)
        if taken_by is not None:
            column, other = taken_by
            problems.append(f"no column for {shown}: {column!r}, detected as {name}, is mapped to {other} by your choice")
            example[name] = column
            detected_other = detection.mapping.fields.get(other)
            if detected_other and detected_other != column:
                example[other] = detected_other
                notes.append(f"keep {column!r} as {name} and take {other} from {detected_other!r} (as detected)")
            else:
                notes.append(f"keep {column!r} as {name}, or name another column for {name}")
        else:
            problems.append(f"no column found for {shown}")
            candidate = _candidate(name, raw, sample, set(fields.values()) | set(example.values()))
            if candidate is not None:
                example[name] = candidate
    if problems:
        so_far = MappingDetection(ColumnMapping(fields=fields), evidence, ambiguous)
        fix = Fix(option="mapping", example=example or None, choices=tuple(raw.columns), note="; ".join(notes))
        if missing == ["amount"] and len(problems) == 1 and not example:
            # no column holds money (a basket log such as Groceries_dataset.csv): mapping one is no way out
            fix = Fix(option="unpriced", example="units", choices=("error", "units"), note=(
                "no column holds amounts or prices; if one does, name it in the column mapping; if the file has "
                "none (a basket log), value each line at its quantity (money figures then count items)"))
        raise MappingError(
            _mapping_help(raw, sample, problems, so_far),
            field=missing[0] if missing else next(iter(example), None), fix=fix,
        )
    ordered = {f: fields[f] for f in MAPPABLE_FIELDS if f in fields}
    layout = {k: v for k, v in layout.items() if k in ColumnMapping.model_fields}
    return ColumnMapping(fields=ordered, **layout)


def _taken_by_override(
    name: str, detection: MappingDetection, wanted: dict[str, str | None]
) -> tuple[str, str] | None:
    """(column, field) when ``name``'s detected column was mapped to another field by an override."""
    column = detection.mapping.fields.get(name)
    for other, chosen in wanted.items():
        if column is not None and chosen == column and other != name:
            return column, other
    return None


def _candidate(name: str, raw: RawTable, sample: Sample, used: set[str]) -> str | None:
    """The first unused column whose sampled content could feed ``name`` (None when none fits)."""
    for column in raw.columns:
        if column not in used and column in sample and content_fits(name, sample_values(sample, column)):
            return column
    return None


def _required_now(fields: dict[str, str]) -> list[str]:
    needed = list(REQUIRED_FIELDS)
    needed += ["amount"] if "amount" in fields else ["unit_price", "quantity"]
    return needed


def _orient_overrides(
    overrides: dict[str, str | None], raw: RawTable, sample: Sample, detection: MappingDetection
) -> dict[str, str | None]:
    """Accept ``{field: column}`` and the CLI's ``{column: field}``; reject unknown names."""
    result: dict[str, str | None] = {}
    for key, value in overrides.items():
        if key not in MAPPABLE_FIELDS and value in MAPPABLE_FIELDS and key in raw.columns:
            key, value = value, key
        if key not in MAPPABLE_FIELDS:
            raise MappingError(
                f"{raw.source}: unknown field {key!r} in the column mapping; valid fields are: "
                f"{', '.join(MAPPABLE_FIELDS)}",
                field=key, value=key, fix=Fix(option="mapping", choices=MAPPABLE_FIELDS),
            )
        if value and value not in raw.columns:
            detected = detection.mapping.fields.get(key)
            raise MappingError(
                _mapping_help(raw, sample, [f"column {value!r} (mapped to {key}) is not in the file"]),
                field=key, value=value,
                fix=Fix(option="mapping", example={key: detected} if detected else None, choices=tuple(raw.columns)),
            )
        result[key] = value or None
    return result


def _mapping_help(
    raw: RawTable, sample: Sample, problems: list[str], so_far: MappingDetection | None = None
) -> str:
    """What is wrong, the mapping so far and every column with sample values (no fix: that is data)."""
    where = raw.source + (f" (sheet {raw.sheet!r})" if raw.sheet else "")
    lines = [f"{where}: cannot map the columns: " + "; ".join(problems) + "."]
    if so_far is not None and so_far.mapping.fields:
        lines += ["Mapping so far:", *("  " + ln for ln in so_far.describe().splitlines())]
    lines.append("Columns found (3 sample values each):")
    for column in raw.columns:
        values = [str(v) for v in sample_values(sample, column) if v is not None and v == v]
        shown = list(dict.fromkeys(v for v in values if v.strip()))[:3]
        lines.append(f"  {column!r}: {', '.join(map(repr, shown)) or '(empty)'}")
    # dates that end in a word no zone name (2021-03-04 10:00 XYZ) are not taken for dates: say why
    lines += [hint for column in raw.columns for hint in [_zone_word_column(sample_values(sample, column), column)] if hint]
    return "\n".join(lines)


def _zone_word_column(values: list[Any], column: str) -> str | None:
    """:func:`segmint.date_hint.zone_word_hint` of a column whose filled sample values all end in a word
    that is no zone name, else None."""
    from segmint.date_hint import unknown_zone_word, zone_word_hint

    filled = [v for v in values if v is not None and str(v).strip()]
    return zone_word_hint(filled[0], column) if filled and all(map(unknown_zone_word, filled)) else None


def apply_mapping(raw: RawTable, mapping: ColumnMapping | dict[str, str]) -> ibis.Table:
    """Select the mapped source columns renamed to canonical field names, plus ``_source``/``_row``."""
    fields = mapping.fields if isinstance(mapping, ColumnMapping) else dict(mapping)
    absent = {f: c for f, c in fields.items() if c not in raw.table.columns}
    if absent:
        field, column = next(iter(absent.items()))
        raise MappingError(
            f"{raw.source}: mapped column(s) not found: "
            + ", ".join(f"{c!r} (for {f})" for f, c in absent.items())
            + f"; columns are: {', '.join(map(repr, raw.columns))}",
            field=field, value=column, fix=Fix(option="mapping", choices=tuple(raw.columns)),
        )
    table = raw.table
    ordered = [f for f in MAPPABLE_FIELDS if f in fields]
    return table.select(
        *[table[fields[f]].name(f) for f in ordered], table["_source"], table["_row"]
    )
