"""Which lines are merchandise: postage, fees, discounts, manual adjustments ... are not products.

Real invoice logs carry lines that are money but no product a customer chooses: the UCI Online Retail
log's POSTAGE (on most foreign customers' invoices), DOTCOM POSTAGE, CARRIAGE, Manual, Discount,
SAMPLES, Bank Charges, AMAZON FEE, CRUK Commission, gift vouchers. Sales, revenue, segments and RFM
keep them (their amounts are real); product analyses leave them out, or a recommender offers "POSTAGE"
as the product to buy next, and a customer's count of products (``n_products``) counts postage. They
are recognised by the rule table ``non_merchandise.yaml`` (whole-name and whole-code patterns, see its
header), with a user's override: items to treat as products, items to treat as non-merchandise.
:func:`segmint.recommendations.signals.purchase_lines` and :func:`segmint.features.customer_line_stats`
apply the rule, so every product analysis and every product count reads lines the same way.

A property of lines (like a return), not of recommendations: features and every analysis after them
read it, so it sits beside them. pandas is imported only for the item table of :meth:`MerchandiseRules.find`
(the ``analyze`` path loads no pandas).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from segmint.errors import ConfigError
from segmint.results import columns as result_columns
from segmint.util import parse_packaged_yaml

if TYPE_CHECKING:
    import pandas as pd

RULES_FILE = "non_merchandise.yaml"
SHOWN_ITEMS = 5  # item names listed in the note


def _whole(patterns: list[str]) -> str:
    """One pattern of the table's alternatives (matched with fullmatch; a space = any run of whitespace)."""
    parts = [p.strip().replace(" ?", r"\s*").replace(" ", r"\s+") for p in patterns if p and p.strip()]
    return "|".join(f"(?:{p})" for p in parts)


def _normal(text: object) -> str | None:
    if text is None or (isinstance(text, float) and text != text):  # None, NaN (pandas' missing value)
        return None
    return str(text).strip().lower()


@dataclass(frozen=True)
class MerchandiseRules:
    """The non-merchandise rule table and a user's overrides (items given by code or name, any case)."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    treat_as_products: tuple[str, ...] = ()
    treat_as_services: tuple[str, ...] = ()

    @classmethod
    def default(cls, treat_as_products: Any = (), treat_as_services: Any = ()) -> MerchandiseRules:
        """The packaged table, with the user's overrides."""
        codes, names = _packaged()
        return cls(codes, names, _items(treat_as_products), _items(treat_as_services))

    @cached_property
    def _code(self) -> re.Pattern | None:
        return re.compile(_whole(list(self.codes))) if self.codes else None

    @cached_property
    def _name(self) -> re.Pattern | None:
        return re.compile(_whole(list(self.names))) if self.names else None

    def marks(self, value: object, kind: str) -> bool | None:
        """Whether a product code (``kind="code"``) or name marks its line as non-merchandise: True,
        False when the user named it a product (that vetoes the line), None when it says nothing."""
        text = _normal(value)
        if text is None:
            return None
        if text in self.treat_as_products:
            return False
        pattern = self._code if kind == "code" else self._name
        if text in self.treat_as_services or (pattern is not None and pattern.fullmatch(text)):
            return True
        return None

    def is_service(self, code: object = None, name: object = None) -> bool:
        """Whether a line with this product code and name is non-merchandise: the code or the name
        marks it, and the user named neither a product."""
        return _decides((self.marks(code, "code"), self.marks(name, "name")))

    def _verdicts(self, kind: str, values: Any) -> dict[object, bool]:
        """Raw value -> its mark, for the distinct values that mark something (``kind``: code or name)."""
        marks = {value: self.marks(value, kind) for value in values}  # None and NaN mark nothing
        return {value: mark for value, mark in marks.items() if mark is not None}

    def find_values(self, tx: ir.Table) -> NonMerchandiseValues:
        """The raw codes and names that mark non-merchandise lines of ``tx`` (and those the user named
        products): one query for the distinct (product_id, product_name), the patterns in Python, no pandas."""
        columns = [c for c in ("product_id", "product_name") if c in tx.columns]  # a table may lack one
        pairs = result_columns(tx.select(*columns).distinct()) if columns else {}
        found = {c: pairs.get(c, ()) for c in ("product_id", "product_name")}
        return self.values_of(found["product_id"], found["product_name"])

    def values_of(self, codes: Any, names: Any) -> NonMerchandiseValues:
        """:meth:`find_values` of a table whose distinct product codes and names are these."""
        return NonMerchandiseValues(**_split(self._verdicts("code", set(codes)), self._verdicts("name", set(names))))

    def find(self, tx: ir.Table) -> NonMerchandise:
        """The non-merchandise items of canonical transactions (one grouping query; the patterns run
        in Python on the distinct codes and names, so every engine reads them alike)."""
        from segmint.features import money_sum

        pairs = tx.group_by("product_id", "product_name").aggregate(
            lines=tx.count(), amount=money_sum(tx.amount)
        ).to_pandas()
        code = self._verdicts("code", pairs["product_id"].dropna().unique())
        name = self._verdicts("name", pairs["product_name"].dropna().unique())
        line_marks = zip(pairs["product_id"].map(code), pairs["product_name"].map(name), strict=True)
        hit = pairs[[_decides(marks) for marks in line_marks]]
        return NonMerchandise(**_split(code, name), items=_items_table(hit))


@dataclass(frozen=True)
class NonMerchandiseValues:
    """What the rules found in one table: the raw codes and names that mark a line, and those the user
    named products."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    product_codes: tuple[str, ...]
    product_names: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when no line is non-merchandise (``flag`` is always False)."""
        return not (self.codes or self.names)

    def flag(self, tx: ir.Table) -> ir.BooleanValue:
        """Engine expression: True on the non-merchandise lines of ``tx`` (the table it was found in)."""
        def any_of(codes: tuple[str, ...], names: tuple[str, ...]) -> ir.BooleanValue:
            found = ibis.literal(False)
            if codes:
                found = found | tx.product_id.isin(list(codes)).fill_null(False)
            if names:
                found = found | tx.product_name.isin(list(names)).fill_null(False)
            return found

        return any_of(self.codes, self.names) & ~any_of(self.product_codes, self.product_names)


@dataclass(frozen=True)
class NonMerchandise(NonMerchandiseValues):
    """The values found, with the items (product_id, product_name, lines, amount; most lines first)."""

    items: pd.DataFrame

    @property
    def note(self) -> str | None:
        """'12 lines of 3 non-merchandise items (POSTAGE, Manual, AMAZON FEE) kept for sales, left out
        of product analyses', or None when there is none."""
        return non_merchandise_note(self.items)


def _split(code: dict[object, bool], name: dict[object, bool]) -> dict[str, tuple[str, ...]]:
    """The codes and names that mark non-merchandise, and those the user named products (sorted)."""
    def chosen(verdicts: dict[object, bool], mark: bool) -> tuple[str, ...]:
        return tuple(sorted(str(value) for value, found in verdicts.items() if found is mark))

    return {"codes": chosen(code, True), "names": chosen(name, True),
            "product_codes": chosen(code, False), "product_names": chosen(name, False)}  # fmt: skip


def _decides(marks: tuple[bool | None, ...]) -> bool:
    """A line's verdict from its code's and name's marks: non-merchandise when one marks it and the
    user named neither a product (``NonMerchandise.flag`` is the same rule in the engine)."""
    return True in marks and False not in marks


def _items(values: Any) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(v for v in (_normal(x) for x in values) if v))


@cache
def _packaged() -> tuple[tuple[str, ...], tuple[str, ...]]:
    text = resources.files("segmint").joinpath(RULES_FILE).read_text(encoding="utf-8")
    data = parse_packaged_yaml(text) or {}
    codes: list[str] = []
    names: list[str] = []
    for rule in data.get("rules", []):
        codes += [str(c) for c in rule.get("codes") or []]
        names += [str(n) for n in rule.get("names") or []]
    for pattern in codes + names:
        try:
            re.compile(pattern)
        except re.error as exc:  # a broken edit of the table: name the pattern
            raise ConfigError(f"{RULES_FILE}: pattern {pattern!r} is not a regular expression ({exc})",
                              field="non_merchandise", value=pattern) from exc  # fmt: skip
    return tuple(codes), tuple(names)


def _items_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """product_id, product_name, lines, amount per item from (product_id, product_name, lines, amount)
    of each spelling; an item's name is the one on most of its lines. Most lines first."""
    import pandas as pd

    columns = ["product_id", "product_name", "lines", "amount"]
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(columns, ["object", "object", "int64", "float64"],
                                                                      strict=True)})  # fmt: skip
    frame = pd.DataFrame({
        "product_id": pairs["product_id"].fillna(pairs["product_name"]),
        "product_name": pairs["product_name"].fillna(pairs["product_id"]).str.strip(),
        "named": pairs["product_name"].notna(), "lines": pairs["lines"].astype("int64"), "amount": pairs["amount"],
    })  # fmt: skip
    frame = frame.sort_values(["product_id", "named", "lines", "product_name"], ascending=[True, False, False, True])
    per = frame.groupby("product_id", sort=False).agg(
        product_name=("product_name", "first"), lines=("lines", "sum"), amount=("amount", "sum"))
    per = per.reset_index()[columns]
    per["amount"] = per["amount"].round(2)
    return per.sort_values(["lines", "product_id"], ascending=[False, True], ignore_index=True)


def non_merchandise_note(items: pd.DataFrame) -> str | None:
    """'12 lines of 3 non-merchandise items (POSTAGE, Manual, AMAZON FEE) kept for sales, left out of
    product analyses', or None when there is none."""
    if items.empty:
        return None
    names = [str(n).strip() for n in items["product_name"].head(SHOWN_ITEMS)]
    more = ", ..." if len(items) > SHOWN_ITEMS else ""
    lines, count = int(items["lines"].sum()), len(items)
    return (f"{lines:,} line{'s' if lines != 1 else ''} of {count:,} non-merchandise item{'s' if count != 1 else ''} "
            f"({', '.join(names)}{more}) kept for sales, left out of product analyses")  # fmt: skip
