"""Canonical transactions schema, column detection and the user-editable column mapping.

Split by concern: ``columns`` (the canonical table and ``ColumnMapping``), ``detection`` (header row,
cell kinds, synonyms, ``detect_mapping``) and ``mapping`` (``resolve_mapping``, ``apply_mapping``).
Everything public is re-exported here, so ``from segmint.schema import ColumnMapping`` keeps working.
"""

from __future__ import annotations

from segmint.schema.columns import (
    CANONICAL_COLUMNS,
    CANONICAL_DTYPES,
    CONTACT_DTYPES,
    CONTACT_FIELDS,
    MAPPABLE_FIELDS,
    PRODUCT_ATTRIBUTE_DTYPES,
    REQUIRED_FIELDS,
    ColumnMapping,
)
from segmint.schema.detection import (
    SYNONYMS,
    MappingDetection,
    cell_kind,
    detect_header_row,
    detect_mapping,
    normalize_name,
)
from segmint.schema.mapping import apply_mapping, resolve_mapping

__all__ = [
    "CANONICAL_COLUMNS",
    "CANONICAL_DTYPES",
    "CONTACT_DTYPES",
    "CONTACT_FIELDS",
    "MAPPABLE_FIELDS",
    "PRODUCT_ATTRIBUTE_DTYPES",
    "REQUIRED_FIELDS",
    "SYNONYMS",
    "ColumnMapping",
    "MappingDetection",
    "apply_mapping",
    "cell_kind",
    "detect_header_row",
    "detect_mapping",
    "normalize_name",
    "resolve_mapping",
]
