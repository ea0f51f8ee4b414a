"""Detection: where the header row is and which column feeds each canonical field (names first, content fills gaps)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from segmint.parsing import WEEKDAY_PREFIX, ZONE_SUFFIX
from segmint.schema.columns import CONTACT_FIELDS, MAPPABLE_FIELDS, REQUIRED_FIELDS, ColumnMapping
from segmint.units import has_value_column
from segmint.util import parse_packaged_yaml

if TYPE_CHECKING:
    import pandas as pd

# Sampled rows: column -> values (``RawTable.sample_columns``), or a pandas frame of them
Sample: TypeAlias = "Mapping[str, list[Any]] | pd.DataFrame"

__all__ = [
    "SYNONYMS",
    "MappingDetection",
    "cell_kind",
    "content_fits",
    "detect_header_row",
    "detect_mapping",
    "normalize_name",
    "sample_values",
]

_CELL_NUMBER = re.compile(
    r"^[-+(]?\s*(?:[A-Z]{3}\s?|[$€£¥₹]\s?|rs\.?\s?|r\$\s?)?[-+]?\d[\d,' ]*(?:\.\d+)?\)?\s*(?:dr|cr)?\.?$",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_CELL_INT = re.compile(r"^[-+]?\d+(?:\.0+)?$")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_TIME = rf"(?:[ T]\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?\s*(?:am|pm)?{ZONE_SUFFIX})?"
_CELL_DATE = re.compile(
    rf"^{WEEKDAY_PREFIX}(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}"
    rf"|\d{{1,2}}[- ]?{_MONTH}[- ,]*\d{{2,4}}|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}){_TIME}$",
    re.IGNORECASE,
)


def cell_kind(value: object) -> str:
    """Classify one raw cell as ``blank``, ``date``, ``int``, ``number`` or ``text`` (no parsing)."""
    if value is None:
        return "blank"
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none", "null", "na", "n/a", "-"):
        return "blank"
    if text.isascii() and text.isdigit():  # what the patterns below decide of digits alone
        return "date" if _is_compact_date(text) else "int"
    if not _DIGIT.search(text):  # every date and number holds a digit
        return "text"
    if _CELL_DATE.match(text) or _is_compact_date(text):
        return "date"
    if _CELL_INT.match(text):
        return "int"
    if _CELL_NUMBER.match(text):
        return "number"
    return "text"


def _is_compact_date(text: str) -> bool:
    """``YYYYMMDD`` with a plausible year, month and day (CDNOW, Tally XML dates)."""
    if len(text) != 8 or not text.isdigit():
        return False
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    return 1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


def detect_header_row(rows: list[list[object]]) -> int:
    """0-based index of the header row in ``rows`` (title rows and blank lines above are skipped).

    Returns ``-1`` when the table has no header (its first wide row already holds data), in which
    case readers name the columns ``column_1..n``.
    """
    kinds = [[cell_kind(v) for v in row] for row in rows]
    filled = [sum(k != "blank" for k in row) for row in kinds]
    width = max(filled, default=0)
    if width == 0:
        return 0
    # The table starts at the first row about as wide as the widest rows; title lines are narrower.
    threshold = max(2, (width + 1) // 2) if width > 1 else 1
    start = next(i for i, n in enumerate(filled) if n >= threshold)
    row = [k for k in kinds[start] if k != "blank"]
    if row.count("text") == len(row):
        return start
    below = [k for r in kinds[start + 1 : start + 21] for k in r if k != "blank"]
    data_like = sum(k in ("date", "int", "number") for k in row)
    # Mostly numbers/dates in a table whose body also holds numbers/dates: it is data, not a header.
    if data_like * 2 > len(row) and any(k != "text" for k in below):
        return -1
    return start



def normalize_name(name: str) -> str:
    """``'CustomerID'``, ``'customer_id'``, ``'Customer-ID '`` -> ``'customer id'`` (for synonym lookup).

    Accents are folded (``'Preço'`` -> ``'preco'``, ``'Quantité'`` -> ``'quantite'``) so one synonym
    covers the spellings exports use.
    """
    folded = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", folded)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _load_synonyms() -> dict[str, tuple[tuple[str, ...], ...]]:
    """field -> (names, generic names, partial phrases, veto words) from column_synonyms.yaml."""
    text = resources.files("segmint").joinpath("column_synonyms.yaml").read_text(encoding="utf-8")
    data = parse_packaged_yaml(text)
    keys = ("names", "generic", "partial", "veto")
    return {f: tuple(tuple(entry.get(k) or ()) for k in keys) for f, entry in data.items()}


SYNONYMS = _load_synonyms()
_CODE = re.compile(r"[A-Za-z]{0,4}[-_]?\d[\w-]{0,19}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REQUIRED_KIND = {  # content a column must mostly hold to accept a partial-name or content match
    "invoice_date": {"date"},
    "quantity": {"int", "number"},
    "unit_price": {"int", "number"},
    "amount": {"int", "number"},
    "credit": {"int", "number"},
    "cost": {"int", "number"},
    "unit_cost": {"int", "number"},
}
_NUMERIC_FIELDS = ("amount", "credit", "unit_price", "quantity", "cost", "unit_cost")
_CONTENT_ORDER = ("invoice_date", "amount", "customer_id", "quantity")


@dataclass
class MappingDetection:
    """Detected mapping, why each field was chosen, and fields where columns tied (``ambiguous``)."""

    mapping: ColumnMapping
    evidence: dict[str, str] = field(default_factory=dict)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)

    def describe(self) -> str:
        """Printable table ``field <- column (why)`` including required fields that were not found."""
        shown = [f for f in MAPPABLE_FIELDS if f in self.mapping.fields or f in self.ambiguous]
        shown += [f for f in REQUIRED_FIELDS if f not in shown]
        if not has_value_column(shown):
            shown.append("amount")
        width = max(len(f) for f in shown)
        lines = []
        for name in shown:
            column = self.mapping.fields.get(name)
            why = self.evidence.get(name, "not found")
            if name in self.ambiguous:
                why += f"; ambiguous between {', '.join(map(repr, self.ambiguous[name]))}"
            lines.append(f"{name:<{width}} <- {column if column else '-'}  ({why})")
        return "\n".join(lines)


@dataclass
class _Profile:
    kinds: dict[str, float]  # share of non-blank sample values per cell kind
    filled: int
    distinct: int
    max_abs: float

    def share(self, kinds: set[str]) -> float:
        return sum(self.kinds.get(k, 0.0) for k in kinds)


def content_fits(field_name: str, values: list[object]) -> bool:
    """Whether sampled ``values`` could feed ``field_name`` (dates for dates, numbers for money)."""
    prof = _profile(values)
    kinds = _REQUIRED_KIND.get(field_name)
    if prof.filled == 0:
        return False
    return kinds is None or prof.share(kinds | ({"code"} if "int" in kinds else set())) >= 0.8


def _profile(values: list[object]) -> _Profile:
    """Share of each kind among the non-blank ``values``; each distinct text is classified once (a
    wide file's sample has millions of cells, most of them repeats)."""
    repeats = Counter(str(v).strip() for v in values if v is not None)
    kinds = {text: cell_kind(text) for text in repeats}
    texts = {text: n for text, n in repeats.items() if kinds[text] != "blank"}
    counts: dict[str, int] = {}
    max_abs = 0.0
    for text, times in texts.items():
        kind = kinds[text]
        if kind == "text" and _EMAIL.match(text):
            kind = "email"
        elif kind == "int" and len(text) > 1 and text.startswith("0") and text.isdigit():
            kind = "code"  # zero-padded ids such as 00001
        elif kind == "text" and _CODE.fullmatch(text):
            kind = "code"  # ids such as C12345, CUST-001
        counts[kind] = counts.get(kind, 0) + times
        if kind == "int" and "." not in text:
            max_abs = max(max_abs, abs(float(text)))
        elif kind == "int":
            max_abs = float("inf")  # '100.00' is money-like, not a count
    filled = sum(texts.values())
    return _Profile({k: c / (filled or 1) for k, c in counts.items()}, filled, len(texts), max_abs)


def _name_score(field_name: str, normalized: str) -> tuple[float, str]:
    tier1, tier2, partial, veto = SYNONYMS[field_name]
    if normalized in tier1 or normalized.replace(" ", "") in tier1:
        return 100.0, f"name matches '{normalized}'"
    if normalized in tier2:
        return 80.0, f"name matches '{normalized}' (generic)"
    words = f" {normalized} "
    if any(f" {v} " in words for v in veto):
        return 0.0, ""
    hits = [p for p in partial if f" {p} " in words]
    if not hits:
        return 0.0, ""
    best = max(hits, key=len)
    return 50.0 + min(len(best), 20) / 2, f"name contains '{best}'"


def _content_score(field_name: str, prof: _Profile) -> tuple[float, str]:
    if prof.filled == 0:
        return 0.0, ""
    pct = f"of {prof.filled} sampled values"
    if field_name == "invoice_date" and prof.share({"date"}) >= 0.8:
        return 30.0, f"content: {prof.share({'date'}):.0%} {pct} look like dates"
    if field_name == "amount" and prof.share({"int", "number"}) >= 0.9 and prof.kinds.get("number", 0) >= 0.3:
        return 30.0, f"content: {prof.share({'int', 'number'}):.0%} {pct} are decimal numbers"
    repeats = prof.distinct < prof.filled
    if field_name == "customer_id" and prof.share({"int", "code"}) >= 0.9 and repeats and prof.distinct > 1:
        return 20.0 + 10.0 * prof.distinct / prof.filled, (
            f"content: id-like values, {prof.distinct} distinct in {prof.filled} sampled rows"
        )
    if field_name == "quantity" and prof.share({"int"}) >= 0.9 and 0 < prof.max_abs <= 10_000:
        return 20.0, f"content: small whole numbers (max {prof.max_abs:g}) {pct}"
    return 0.0, ""


def sample_values(sample: Sample, column: str) -> list[Any]:
    """The sampled values of ``column`` as a list (empty when the sample lacks it)."""
    if column not in sample:
        return []
    values = sample[column]
    return values.tolist() if hasattr(values, "tolist") else list(values)


def detect_mapping(columns: list[str], sample: Sample) -> MappingDetection:
    """Guess which column feeds each canonical field: names (synonyms) first, content fills gaps."""
    profiles = {c: _profile(sample_values(sample, c)) for c in columns}
    candidates: list[tuple[float, int, str, str, str]] = []
    for position, column in enumerate(columns):
        normalized = normalize_name(column)
        for name in SYNONYMS:
            if name in CONTACT_FIELDS:
                continue  # contacts take only columns no other field wants (below)
            score, why = _name_score(name, normalized)
            kinds = _REQUIRED_KIND.get(name)
            prof = profiles[column]
            if score and score < 100 and kinds and prof.filled and prof.share(kinds) < 0.5:
                score = 0.0  # e.g. 'order_approved_at' is no invoice id, a text 'Total' no amount
            if score:
                candidates.append((score, position, name, column, why))
    fields, evidence, ambiguous = _assign(sorted(candidates, key=lambda c: (-c[0], c[1])))
    used = set(fields.values()) | {c for c in columns if _looks_named(normalize_name(c))}
    for name in _CONTENT_ORDER:
        if name in fields or (name == "amount" and "unit_price" in fields):
            continue
        scored = [(_content_score(name, profiles[c]), i, c) for i, c in enumerate(columns) if c not in used]
        scored = [(s, why, i, c) for (s, why), i, c in scored if s]
        if scored:
            _, why, _, column = max(scored, key=lambda x: (x[0], -x[2]))
            fields[name], evidence[name] = column, why
            used.add(column)
    _detect_contacts(columns, profiles, fields, evidence)
    ordered = {f: fields[f] for f in MAPPABLE_FIELDS if f in fields}
    return MappingDetection(ColumnMapping(fields=ordered), evidence, ambiguous)



def _detect_contacts(columns: list[str], profiles: dict[str, _Profile], fields: dict[str, str],
                     evidence: dict[str, str]) -> None:
    """Name, e-mail and phone from columns left over, so a 'Customer Name' that is the only customer
    column stays the customer id; an e-mail column is also found by its content."""
    for name in CONTACT_FIELDS:
        taken = set(fields.values())
        scored = [(*_name_score(name, normalize_name(c)), -i, c) for i, c in enumerate(columns) if c not in taken]
        scored = [item for item in scored if item[0] >= 50]
        if not scored and name == "email":
            scored = [(30.0, f"content: {profiles[c].kinds.get('email', 0):.0%} of sampled values are e-mails", -i, c)
                      for i, c in enumerate(columns) if c not in taken and profiles[c].kinds.get("email", 0) >= 0.8]
        if scored:
            _, why, _, column = max(scored)
            fields[name], evidence[name] = column, why


def _looks_named(normalized: str) -> bool:
    """True when a column name contains any known word, so its content alone must not decide."""
    words = f" {normalized} "
    return any(f" {w} " in words for entry in SYNONYMS.values() for group in entry for w in group)


def _assign(candidates: list[tuple[float, int, str, str, str]]) -> tuple[dict, dict, dict]:
    fields: dict[str, str] = {}
    evidence: dict[str, str] = {}
    ambiguous: dict[str, list[str]] = {}
    used: set[str] = set()
    for score, _, name, column, why in candidates:
        if name in fields or column in used:
            continue
        fields[name], evidence[name] = column, why
        used.add(column)
        ties = [c[3] for c in candidates if c[2] == name and c[0] == score and c[3] not in used]
        if ties:
            ambiguous[name] = [column, *ties]
            evidence[name] += f" (equally good: {', '.join(ties)})"
    return fields, evidence, ambiguous
