"""The canonical transactions table (columns and types) and the column mapping that targets it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segmint.errors import ConfigError

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_DTYPES",
    "CONTACT_DTYPES",
    "CONTACT_FIELDS",
    "MAPPABLE_FIELDS",
    "PRODUCT_ATTRIBUTE_DTYPES",
    "REQUIRED_FIELDS",
    "ColumnMapping",
]

# One row = one invoice line. Order matters: it is the column order of every canonical table.
CANONICAL_DTYPES: dict[str, str] = {
    "invoice_id": "string",
    "customer_id": "string",
    "invoice_date": "timestamp",
    "product_id": "string",
    "product_name": "string",
    "quantity": "float64",
    "unit_price": "float64",
    "amount": "float64",  # net line value; quantity * unit_price when the source has no amount
    "cost": "float64",  # optional: total cost of the line (null when unknown)
    "country": "string",
    "org_id": "string",
    "is_return": "boolean",  # cancellation / return line (negative quantity or amount, 'C' invoice)
}
CANONICAL_COLUMNS: tuple[str, ...] = tuple(CANONICAL_DTYPES)
# Optional contact columns: after the canonical ones in a cleaned table only when the source has them
# (campaign exports use them; nothing requires them; workspaces store them beside the lines).
CONTACT_DTYPES: dict[str, str] = {"customer_name": "string", "email": "string", "phone": "string"}
CONTACT_FIELDS: tuple[str, ...] = tuple(CONTACT_DTYPES)
# Optional product attributes, kept the same way (only when the source has them): a product's
# category (a column, or a key of product_json items) gives the single view one column per category.
PRODUCT_ATTRIBUTE_DTYPES: dict[str, str] = {"category": "string"}

# Fields a user can map a source column to (is_return is derived by cleaning).
Field_ = Literal[
    "invoice_id",
    "customer_id",
    "invoice_date",
    "product_id",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "amount",
    "credit",
    "cost",
    "unit_cost",
    "country",
    "org_id",
    "debit_credit",
    "customer_name",
    "email",
    "phone",
]
MAPPABLE_FIELDS: tuple[str, ...] = Field_.__args__  # type: ignore[attr-defined]
REQUIRED_FIELDS: tuple[str, ...] = ("customer_id", "invoice_date")


class ColumnMapping(BaseModel):
    """Which source column feeds each canonical field; loadable from and savable to YAML.

    ``fields`` maps a canonical field name to a source column name, e.g.
    ``{"customer_id": "CustomerID", "invoice_date": "InvoiceDate"}``. Options that describe how
    the source is laid out (header row, sheet, date order) live beside it so one file reproduces a read.
    """

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str] = Field(default_factory=dict)
    header_row: int | None = None  # 0-based row index of the header in the sheet/file; None = detect
    sheet: str | int | None = None  # Excel sheet name or index; None = first sheet with data
    dayfirst: bool | None = None  # None = decide per column from the evidence
    date_format: str | None = None  # strptime format forcing the date parse, e.g. "%d.%m.%Y"

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(MAPPABLE_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown field(s) {unknown}; valid fields are: {', '.join(MAPPABLE_FIELDS)}"
            )
        return value

    def source_for(self, field: str) -> str | None:
        """Source column mapped to ``field`` (None when unmapped)."""
        return self.fields.get(field)

    def with_overrides(self, overrides: dict[str, str]) -> ColumnMapping:
        """Return a copy where ``overrides`` (field -> source column) replace detected choices."""
        merged = {f: c for f, c in self.fields.items() if c not in overrides.values()}
        merged.update(overrides)
        return self.model_copy(update={"fields": merged})

    @classmethod
    def from_yaml(cls, path: str | Path) -> ColumnMapping:
        """Load a mapping from a YAML file (``fields:`` plus optional layout options)."""
        from segmint.util import read_yaml_mapping

        data = read_yaml_mapping(path, "column mapping (e.g. 'fields: {customer_id: CustomerID}')")
        if "fields" not in data and set(data) <= set(MAPPABLE_FIELDS):
            data = {"fields": data}  # allow the short form: a flat field -> column mapping
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise ConfigError(f"{path}: invalid column mapping: {exc}") from exc

    def to_yaml(self, path: str | Path | None = None) -> str:
        """Serialise to YAML; also write it (atomically) to ``path`` when given."""
        import yaml

        from segmint.util import write_text_atomic

        text = yaml.safe_dump(self.model_dump(exclude_none=True), sort_keys=False, allow_unicode=True)
        if path is not None:
            write_text_atomic(path, text)
        return text
