"""Which ledger layout a table is, which column holds what, and whose ledger a one-party report is.

Layouts:

* ``vouchers``: one row per voucher with the party in a column (Tally Day Book, Group Vouchers of
  Sundry Debtors, a Tally XML export read by :func:`segmint.io.tally.read_tally_ledger`).
* ``single_party``: a Ledger Account report of one party; the party is named in the title rows and
  Particulars holds the counter-ledger ("To Sales A/c", "By HDFC Bank").
* ``receivables``: one row per invoice with its due date and settlement (accounts-receivable tables).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from segmint.errors import Fix, MappingError
from segmint.io.base import RawTable
from segmint.schema import normalize_name
from segmint.schema.detection import Sample, sample_values

if TYPE_CHECKING:  # the voucher rules are imported for voucher tables only (not for a sales log)
    from segmint.io.vouchers import LedgerRules

LAYOUTS = ("vouchers", "single_party", "receivables")
_PERIOD = re.compile(
    r"(\d{1,2}[-/ .][A-Za-z]{3,9}[-/ .,]*\d{2,4}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}-\d{2}-\d{2})"
    r"\s*(?:to|-|–|—)\s*"
    r"(\d{1,2}[-/ .][A-Za-z]{3,9}[-/ .,]*\d{2,4}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}-\d{2}-\d{2})",
)
_LEDGER_TITLE = re.compile(r"^\s*ledger(\s+account)?\s*(of|for)?\s*[:\-–—]?\s*$", re.IGNORECASE)
_NAMED_TITLE = (
    re.compile(r"^\s*ledger(?:\s+account)?\s*(?:of|for|:|-|–|—)\s*(.+?)\s*$", re.IGNORECASE),
    re.compile(r"^\s*(.+?)\s*(?:-|–|—|:)\s*ledger(?:\s+account)?\s*$", re.IGNORECASE),
    re.compile(r"^\s*(?:party|account|customer)\s*(?:name)?\s*[:\-–—]\s*(.+?)\s*$", re.IGNORECASE),
)
_DEBTOR_TITLE = re.compile(r"sundry\s+debtors|group\s+vouchers|receivables|bills\s+receivable", re.IGNORECASE)
_BALANCE_ROW = re.compile(r"^\s*(opening|closing)\s+balance\s*$", re.IGNORECASE)


@lru_cache(maxsize=1)
def column_synonyms() -> dict[str, tuple[str, ...]]:
    """field -> normalised column names, from ``ledger_columns.yaml``."""
    from segmint.util import parse_packaged_yaml

    data = parse_packaged_yaml(Path(__file__).with_name("ledger_columns.yaml").read_text(encoding="utf-8"))
    return {f: tuple(normalize_name(n) for n in names) for f, names in data.items()}


@dataclass
class LedgerLayout:
    """The layout of one ledger table: kind, field -> column, and the party of a one-party report."""

    kind: str
    columns: dict[str, str]
    party: str | None = None  # the one party of a single_party report
    party_from: str = ""  # how the party was found ("title row 3", "given", "column 'Particulars'")
    period: tuple[str, str] | None = None  # report period from the titles, as written
    debtors_only: bool = False  # a Sundry Debtors report: every party is a customer
    evidence: list[str] = field(default_factory=list)

    def column(self, name: str) -> str | None:
        """The source column of field ``name`` (None when the table has none)."""
        return self.columns.get(name)

    def describe(self) -> str:
        """Printable ``field <- column`` lines and how the layout was decided."""
        lines = [f"layout: {self.kind}" + (f" (party {self.party!r} from {self.party_from})" if self.party else "")]
        lines += [f"  {name} <- {column}" for name, column in self.columns.items()]
        lines += [f"  {note}" for note in self.evidence]
        return "\n".join(lines)


def match_columns(columns: list[str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """field -> column by the names in ``ledger_columns.yaml``; ``overrides`` (field -> column) win."""
    normalized = {c: normalize_name(c) for c in columns}
    found: dict[str, str] = dict(overrides or {})
    used = set(found.values())
    for name, synonyms in column_synonyms().items():
        if name in found:
            continue
        for synonym in synonyms:
            column = next((c for c in columns if normalized[c] == synonym and c not in used), None)
            if column is not None:
                found[name] = column
                used.add(column)
                break
    return found


def title_party(titles: list[str]) -> tuple[str | None, str]:
    """(party, where) named in a Ledger Account report's title rows, or (None, '')."""
    for index, line in enumerate(titles):
        for pattern in _NAMED_TITLE:
            hit = pattern.match(line)
            if hit and not _PERIOD.search(hit.group(1)) and not _LEDGER_TITLE.match(hit.group(1)):
                return hit.group(1).strip(), f"title row {index + 1} ({line.strip()!r})"
    for index, line in enumerate(titles):
        if _LEDGER_TITLE.match(line):
            # Tally prints the ledger's name on the line above "Ledger Account" (or, in some
            # layouts, right below it, above the period line)
            above = titles[index - 1].strip() if index > 0 else ""
            below = titles[index + 1].strip() if index + 1 < len(titles) else ""
            if above and not _PERIOD.search(above) and index - 1 > 0:
                return above, f"title row {index} (above 'Ledger Account')"
            if below and not _PERIOD.search(below):
                return below, f"title row {index + 2} (below 'Ledger Account')"
            if above and not _PERIOD.search(above):
                return above, f"title row {index} (above 'Ledger Account')"
    return None, ""


def title_period(titles: list[str]) -> tuple[str, str] | None:
    """('1-Apr-23', '31-Mar-24') from a title line such as '1-Apr-23 to 31-Mar-24'."""
    for line in titles:
        hit = _PERIOD.search(line)
        if hit:
            return hit.group(1), hit.group(2)
    return None


def may_be_ledger(raw: RawTable) -> bool:
    """Whether ``raw`` may be a ledger, decided from its format and column names alone: a Tally XML export,
    or a table with a date column and a debit, credit or amount column (the first thing :func:`detect_layout`
    checks). False: a sales log, whose reader then needs none of the ledger modules."""
    return raw.format.startswith("tally-xml") or _dated_amounts(match_columns(raw.columns, None))


def _dated_amounts(found: dict[str, str]) -> bool:
    return "date" in found and bool({"debit", "credit", "amount"} & set(found))


def detect_layout(
    raw: RawTable,
    sample: Sample | None = None,
    *,
    rules: LedgerRules | None = None,
    party: str | None = None,
    columns: dict[str, str] | None = None,
) -> LedgerLayout | None:
    """The ledger layout of ``raw`` (None when it is not a ledger: e.g. a plain sales table).

    ``party`` names the party of a one-party report whose titles do not; ``columns`` (field ->
    column) overrides the detected columns.
    """
    if party and columns and columns.get("party"):
        raise MappingError(
            f"{raw.source}: the party {party!r} was named for a one-party Ledger Account, and column "
            f"{columns['party']!r} was mapped to party (a party on every row); a table with a party column "
            "needs no party name, and in one party's ledger that column holds counter-ledgers",
            field="party", value=party,
            fix=Fix(option="columns", example={"party": columns["party"]},
                    note="a table with a party column needs no party name; keep only the column mapping"),
        )
    found = match_columns(raw.columns, columns)
    if not _dated_amounts(found):
        return None
    titles = list(raw.titles)
    period = title_period(titles)
    debtors = any(_DEBTOR_TITLE.search(t) for t in titles)
    named, where = (party, "given") if party else title_party(titles)
    if "voucher_type" not in found:
        if "party" in found and ({"settled_date", "due_date"} & set(found)):
            return LedgerLayout("receivables", found, period=period, debtors_only=True,
                                evidence=["bill-wise receivables: invoice rows with due/settled dates"])
        if named and "party" in found:
            return _single(found, named, where, period, "a party named in the title, no voucher-type column")
        return None
    from segmint.io.vouchers import LedgerRules, classify_voucher_types

    sample = raw.sample_columns(1000) if sample is None else sample  # fetched only for voucher tables
    rules = rules or LedgerRules.load()  # read only for voucher tables (a YAML table and its model)
    types = [str(v) for v in sample_values(sample, found["voucher_type"]) if v is not None and v == v]
    bases = classify_voucher_types(sorted(set(types)), rules)
    known = sum(bases[t][0] != "Other" for t in types)
    if not types or known * 2 < len(types):
        return None  # a 'Type' column of something else (product types, channels)
    party_column = found.get("party")
    if named:
        why = "party given" if party else "the title names one party's ledger"
        return _single(found, named, where, period, why)
    if party_column is None:
        return LedgerLayout("vouchers", found, period=period, debtors_only=debtors)  # error raised by the reader
    values = [str(v) for v in sample_values(sample, party_column) if v is not None and v == v]
    counter = sum(rules.is_counter_ledger(v) or bool(_BALANCE_ROW.match(v)) for v in values)
    if len(values) and counter * 2 >= len(values):
        layout = LedgerLayout("single_party", found, period=period)
        layout.evidence.append(
            f"{counter} of {len(values)} sampled '{party_column}' values are counter-ledgers or balance lines: "
            "a one-party Ledger Account report"
        )
        return layout  # no party: the reader raises a clear error naming the fix
    return LedgerLayout("vouchers", found, party_from=f"column {party_column!r}", period=period,
                        debtors_only=debtors)  # fmt: skip


def _single(found: dict[str, str], party: str, where: str, period: tuple[str, str] | None, why: str) -> LedgerLayout:
    from segmint.io.vouchers import strip_direction

    columns = dict(found)
    counter = columns.pop("party", None)
    if counter is not None:
        columns["counter_ledger"] = counter
    return LedgerLayout("single_party", columns, party=strip_direction(party), party_from=where, period=period,
                        debtors_only=True, evidence=[why])  # fmt: skip


def missing_party_error(raw: RawTable, layout: LedgerLayout) -> MappingError:
    """No party column and no party in the titles: say what was looked at and the fix."""
    titles = " | ".join(raw.titles) or "(no title rows)"
    column = layout.columns.get("counter_ledger") or layout.columns.get("party")
    what = (f"column {column!r} holds counter-ledgers (sales, bank accounts), so this is one party's ledger"
            if column else "no party/customer column")  # fmt: skip
    return MappingError(
        f"{raw.source}: cannot tell whose ledger this is: {what}, and the title rows name no party "
        f"(titles: {titles}). Name the party, export the Ledger Account with its title rows, or add a "
        "Party column",
        field="party", value=None,
        fix=Fix(option="party", example="Sharma Stores", note="the name of the party whose ledger this is"),
    )
