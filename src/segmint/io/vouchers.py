"""Voucher types -> base types, and which party names are counter-ledgers (never customers).

Tally lets every business create its own voucher types ("Bhosari Sales", "Nashik Reciept",
"PO: Advantech"). Each one derives from a base type; the base type decides what a voucher does:
Sales and Debit Note add to what a party owes, Receipt pays, Credit Note reduces a bill without
paying it, orders and delivery notes move no money. The base type comes from Tally's own masters
when the export carries them (``VOUCHERTYPE`` with ``PARENT``/``RESERVEDNAME``), else from the name
(rules in ``ledger_rules.yaml``), and a user's YAML override wins over both.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segmint.errors import ConfigError

BASE_TYPES: tuple[str, ...] = (
    "Sales", "Credit Note", "Debit Note", "Receipt", "Payment", "Purchase", "Journal", "Contra",
    "Payroll", "Opening Balance", "Delivery Note", "Receipt Note", "Sales Order", "Purchase Order",
    "Stock Journal", "Rejections", "Memorandum", "Other",
)  # fmt: skip
# Base types that move balances; the rest (orders, delivery notes, stock, memos) never do.
ACCOUNTING: frozenset[str] = frozenset(BASE_TYPES[:10])
SALES, CREDIT_NOTE, RECEIPT = "Sales", "Credit Note", "Receipt"
_RULES_FILE = Path(__file__).with_name("ledger_rules.yaml")
_PREFIX = re.compile(r"^\s*(to|by)\s+", re.IGNORECASE)


def _norm(name: str) -> str:
    """Names compared case-insensitively with runs of spaces collapsed ('Bhosari  Delivery Note')."""
    return " ".join(str(name).split()).casefold()


class LedgerRules(BaseModel):
    """Voucher-type overrides and counter-ledger patterns; the packaged defaults plus a user's YAML."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a ledger is read, not at import

    voucher_types: dict[str, str] = Field(default_factory=dict)  # exact type name -> base type
    name_rules: list[tuple[str, str]] = Field(default_factory=list)  # (regex, base type), in order
    counter_ledgers: list[str] = Field(default_factory=list)  # regexes over party names
    customers: list[str] = Field(default_factory=list)  # names never taken for counter-ledgers
    customer_groups: list[str] = Field(default_factory=list)
    counter_groups: list[str] = Field(default_factory=list)

    @field_validator("voucher_types")
    @classmethod
    def _known_bases(cls, value: dict[str, str]) -> dict[str, str]:
        bases = {_norm(b): b for b in BASE_TYPES}
        bad = {name: base for name, base in value.items() if _norm(base) not in bases}
        if bad:
            raise ValueError(f"unknown base type(s) {bad}; use one of: {', '.join(BASE_TYPES)}")
        return {name: bases[_norm(base)] for name, base in value.items()}

    @field_validator("name_rules", "counter_ledgers")
    @classmethod
    def _valid_patterns(cls, value: list) -> list:
        for item in value:
            pattern = item[0] if isinstance(item, (tuple, list)) else item
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from exc
        return value

    @classmethod
    def load(cls, path: str | Path | dict | LedgerRules | None = None) -> LedgerRules:
        """The packaged rules, with a user's YAML file (or dict) merged on top (their entries first)."""
        if isinstance(path, LedgerRules):
            return path
        base = _packaged()
        if path is None:
            return base
        from segmint.util import read_yaml_mapping

        data = path if isinstance(path, dict) else read_yaml_mapping(path, "ledger rules (voucher_types: ...)")
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            raise ConfigError(f"{path}: unknown section(s) {unknown}; use {', '.join(cls.model_fields)}")
        try:
            user = cls.model_validate(data)
        except ValueError as exc:
            raise ConfigError(f"{path}: invalid ledger rules: {exc}") from exc
        return cls(
            voucher_types=user.voucher_types,
            name_rules=user.name_rules + base.name_rules,
            counter_ledgers=user.counter_ledgers + base.counter_ledgers,
            customers=user.customers,
            customer_groups=user.customer_groups or base.customer_groups,
            counter_groups=user.counter_groups or base.counter_groups,
        )

    @functools.cached_property
    def _compiled(self) -> tuple[list[tuple[re.Pattern, str]], re.Pattern]:
        rules = [(re.compile(p, re.IGNORECASE), b) for p, b in self.name_rules]
        counter = re.compile("|".join(f"(?:{p})" for p in self.counter_ledgers) or "(?!)", re.IGNORECASE)
        return rules, counter

    def base_by_name(self, name: str) -> tuple[str, str]:
        """(base type, why) from the type's name alone."""
        text = " ".join(str(name).split())
        for pattern, base in self._compiled[0]:
            if pattern.search(text):
                return base, f"name matches '{pattern.pattern}'"
        return "Other", "no rule matches the name"

    def is_counter_ledger(self, name: str | None) -> bool:
        """True for sales/purchase accounts, cash and banks, taxes, round off, discounts, expenses."""
        if not name:
            return False
        text = _PREFIX.sub("", " ".join(str(name).split()))
        if _norm(text) in {_norm(c) for c in self.customers}:
            return False
        return bool(self._compiled[1].search(text))


@functools.lru_cache(maxsize=1)
def _packaged() -> LedgerRules:
    from segmint.util import parse_packaged_yaml

    return LedgerRules.model_validate(parse_packaged_yaml(_RULES_FILE.read_text(encoding="utf-8")))


def strip_direction(name: str | None) -> str | None:
    """'To Sales A/c' -> 'Sales A/c' (single-party ledgers prefix the counter-ledger with To/By)."""
    return None if name is None else _PREFIX.sub("", str(name)).strip()


@dataclass
class TallyMasters:
    """What an XML export's masters say: voucher type -> (parent, reserved name), ledger -> group, ..."""

    voucher_types: dict[str, tuple[str, str]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # group -> parent group
    ledgers: dict[str, str] = field(default_factory=dict)  # ledger -> group
    credit_limits: dict[str, float] = field(default_factory=dict)
    opening: list[dict[str, Any]] = field(default_factory=list)  # opening balances/bills of ledgers

    def group_chain(self, ledger: str) -> list[str]:
        """The ledger's group and every group above it (nearest first)."""
        chain: list[str] = []
        group = self.ledgers.get(ledger)
        while group and group not in chain:
            chain.append(group)
            group = self.groups.get(group)
        return chain

    def base_from_masters(self, name: str) -> tuple[str, str] | None:
        """(base type, why) by following PARENT to a reserved Tally type; None without a master."""
        seen: list[str] = []
        current = name
        while current in self.voucher_types and current not in seen:
            seen.append(current)
            parent, reserved = self.voucher_types[current]
            if reserved:
                base, _ = _packaged().base_by_name(reserved)
                return base, f"Tally master: {' -> '.join(seen)} (reserved type {reserved})"
            if not parent or parent == current:
                break
            current = parent
        if seen and current not in self.voucher_types and current:
            base, _ = _packaged().base_by_name(current)
            if base != "Other":
                return base, f"Tally master: {' -> '.join(seen)} -> {current}"
        return None


def classify_voucher_types(
    names: list[str], rules: LedgerRules | None = None, masters: TallyMasters | None = None
) -> dict[str, tuple[str, str]]:
    """type name -> (base type, why): the user's override, else Tally's masters, else the name."""
    rules = rules or LedgerRules.load()
    overrides = {_norm(k): v for k, v in rules.voucher_types.items()}
    result: dict[str, tuple[str, str]] = {}
    for name in names:
        if name is None:
            continue
        if _norm(name) in overrides:
            result[name] = (overrides[_norm(name)], "your override")
            continue
        found = masters.base_from_masters(name) if masters is not None else None
        result[name] = found or rules.base_by_name(name)
    return result


def type_table_text(rows: list[dict[str, Any]], limit: int | None = None) -> str:
    """The type -> base-type table as aligned text: type, base, vouchers, amount, why.

    With ``limit`` (a printed summary): the first ``limit`` types, each rule named briefly ("name rule",
    "Tally master"), so a line fits an 80-column terminal; the full reasons and every type are in the
    report's ``voucher_types`` table.
    """
    if not rows:
        return "voucher types: none"
    shown = rows if limit is None else rows[:limit]
    width = max(len("voucher type"), *(len(str(r["voucher_type"])) for r in shown))
    base_width = max(len("base type"), *(len(str(r["base_type"])) for r in shown))
    lines = [f"{'voucher type':<{width}}  {'base type':<{base_width}}  {'vouchers':>9}  {'amount':>17}  why"]
    for r in shown:
        why = str(r["why"]) if limit is None else _brief_why(str(r["why"]))
        note = f"  ({r['cancelled']:,} cancelled)" if r.get("cancelled") else ""
        lines.append(
            f"{r['voucher_type']:<{width}}  {r['base_type']:<{base_width}}  {r['vouchers']:>9,}  "
            f"{r['amount']:>17,.2f}  {why}{note}"
        )
    if len(rows) > len(shown):
        rest = rows[len(shown):]
        lines.append(f"... and {len(rest):,} more types ({sum(r['vouchers'] for r in rest):,} vouchers): every type and "
                     "the rule that classified it are in the voucher_types table")
    return "\n".join(lines)


def _brief_why(why: str) -> str:
    """'name matches 'sale|invoice|...'' -> 'name rule'; 'Tally master: A -> B ...' -> 'Tally master'."""
    if why.startswith("name matches"):
        return "name rule"
    return why.split(":")[0] if why.startswith("Tally master") else why
