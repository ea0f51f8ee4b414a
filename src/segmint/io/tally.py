"""Tally XML voucher exports (``<ENVELOPE>…<VOUCHER VCHTYPE="Sales">…``), parsed safely with defusedxml.

One row per inventory entry (``ALLINVENTORYENTRIES.LIST`` / ``INVENTORYENTRIES.LIST``), or one row
per voucher carrying the party ledger amount when the voucher has no inventory. Tally signs amounts
by debit/credit (a sale's party line is negative); the reader writes sales as positive and sales
returns (Credit Note / Sales Return) as negative. Other voucher types (Receipt, Payment, Purchase,
Journal, ...) and cancelled/optional vouchers are skipped and counted in ``RawTable.skipped``.
Tally report spreadsheets (Sales Register, Day Book) are read by the Excel reader instead.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
from defusedxml import DefusedXmlException, ElementTree
from ibis.backends import BaseBackend

from segmint.errors import InputError
from segmint.io.base import ROW_COL, SOURCE_COL, RawTable, register_arrow
from segmint.schema import ColumnMapping

log = logging.getLogger(__name__)

COLUMNS = ("Date", "Vch Type", "Vch No.", "Party Name", "Stock Item", "Quantity", "Unit", "Rate", "Amount")
SALES_TYPES = re.compile(r"sale|invoice|pos", re.IGNORECASE)
RETURN_TYPES = re.compile(r"credit\s*note|sales?\s*return|rejections?\s*in", re.IGNORECASE)
_INVENTORY = ("ALLINVENTORYENTRIES.LIST", "INVENTORYENTRIES.LIST")
_LEDGERS = ("LEDGERENTRIES.LIST", "ALLLEDGERENTRIES.LIST")
_QTY = re.compile(r"^\s*(-?[\d,]*\.?\d+)\s*(.*?)\s*$")


def read_tally_xml(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read sales vouchers from a Tally XML export; ``_row`` is the voucher's position in the file."""
    rows: list[dict[str, Any]] = []
    skipped: dict[str, list[dict[str, Any]]] = {}
    number = 0
    try:
        for _, element in ElementTree.iterparse(str(path), events=("end",)):
            if _tag(element) != "VOUCHER":
                continue
            number += 1
            reason = _skip_reason(element)
            if reason:
                skipped.setdefault(reason, []).append(
                    {"Vch Type": _vch_type(element), "Vch No.": _text(element, "VOUCHERNUMBER"),
                     SOURCE_COL: path.name, ROW_COL: number}
                )  # fmt: skip
            else:
                rows += [dict(r, **{ROW_COL: number}) for r in _voucher_rows(element)]
            element.clear()
    except ElementTree.ParseError as exc:
        raise InputError(f"{path.name}: not well-formed XML: {exc}") from exc
    except DefusedXmlException as exc:  # entity expansion, external entities, external DTDs
        raise InputError(
            f"{path.name}: refused for safety: the XML declares entities or external references, which "
            "can expand a small file into gigabytes or read other files on this computer. "
            "Export the vouchers from Tally again (Tally writes no entity declarations), or remove "
            "the <!DOCTYPE ...> block at the top of the file",
            field="file", value=path.name,
        ) from exc
    if number == 0:
        raise InputError(
            f"{path.name}: no <VOUCHER> elements; export vouchers from Tally as XML "
            "(Display > Day Book > Export, format XML) or read the Sales Register as Excel"
        )
    data = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in COLUMNS}
    data[SOURCE_COL] = pa.array([path.name] * len(rows), pa.string())
    data[ROW_COL] = pa.array([r[ROW_COL] for r in rows], pa.int64())
    raw = RawTable(
        table=register_arrow(con, pa.table(data)), source=path.name, columns=list(COLUMNS),
        header_row=None, format="tally-xml",
    )  # fmt: skip
    for reason, examples in skipped.items():
        raw.add_skipped(reason, len(examples), examples)
    raw.notes.append(f"{number} voucher(s), {len(rows)} line(s); sales positive, returns negative")
    return raw


def _tag(element: Any) -> str:
    return element.tag.rsplit("}", 1)[-1].upper()


def _text(element: Any, tag: str) -> str | None:
    found = element.find(tag)
    text = found.text.strip() if found is not None and found.text else ""
    return text or None


def _vch_type(voucher: Any) -> str:
    return voucher.get("VCHTYPE") or _text(voucher, "VOUCHERTYPENAME") or ""


def _skip_reason(voucher: Any) -> str | None:
    if (_text(voucher, "ISCANCELLED") or "").lower() == "yes":
        return "cancelled_voucher"
    if (_text(voucher, "ISOPTIONAL") or "").lower() == "yes":
        return "optional_voucher"
    kind = _vch_type(voucher)
    if not (SALES_TYPES.search(kind) or RETURN_TYPES.search(kind)):
        return "non_sales_voucher"
    return None


def _voucher_rows(voucher: Any) -> list[dict[str, Any]]:
    kind = _vch_type(voucher)
    sign = "-" if RETURN_TYPES.search(kind) else ""
    party = _text(voucher, "PARTYLEDGERNAME") or _text(voucher, "PARTYNAME")
    base = {"Date": _text(voucher, "DATE"), "Vch Type": kind, "Vch No.": _text(voucher, "VOUCHERNUMBER")}
    items = [e for tag in _INVENTORY for e in voucher.findall(tag)]
    rows = []
    for item in items:
        quantity, unit = _split_qty(_text(item, "BILLEDQTY") or _text(item, "ACTUALQTY"))
        rate = _text(item, "RATE")
        rows.append(
            dict(base, **{
                "Party Name": party, "Stock Item": _text(item, "STOCKITEMNAME"),
                "Quantity": _signed(quantity, sign), "Unit": unit,
                "Rate": _abs(rate.split("/")[0]) if rate else None,
                "Amount": _signed(_text(item, "AMOUNT"), sign),
            })
        )  # fmt: skip
    if rows:
        return rows
    ledgers = [e for tag in _LEDGERS for e in voucher.findall(tag)]
    party_line = next((e for e in ledgers if party and _text(e, "LEDGERNAME") == party), None)
    party_line = party_line or next((e for e in ledgers if _text(e, "ISPARTYLEDGER") == "Yes"), None)
    amount = _text(party_line, "AMOUNT") if party_line is not None else None
    return [dict(base, **{"Party Name": party, "Amount": _signed(amount, sign)})]


def _split_qty(text: str | None) -> tuple[str | None, str | None]:
    """``' 2 Nos'`` -> ``('2', 'Nos')``; Tally writes the unit after the number."""
    if not text:
        return None, None
    match = _QTY.match(text)
    return (match.group(1).replace(",", ""), match.group(2) or None) if match else (text, None)


def _abs(text: str | None) -> str | None:
    """Magnitude of a Tally number as text (Tally's sign only says debit or credit)."""
    if text is None:
        return None
    cleaned = text.replace(",", "").strip()
    try:
        return str(abs(Decimal(cleaned)))
    except InvalidOperation:
        return text


def _signed(text: str | None, sign: str) -> str | None:
    value = _abs(text)
    return f"{sign}{value}" if value is not None and sign and value != "0" else value
