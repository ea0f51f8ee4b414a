"""Parse a Tally XML export (vouchers and masters) into plain records, tolerating how Tally writes it.

Real exports arrive as UTF-16 (with or without a byte-order mark), carry raw control bytes
(``\\x04``, ``\\x05``) and character references such as ``&#4;`` that XML 1.0 forbids, so a strict
parser rejects the whole file. The stream is decoded, those characters are removed (Tally uses them
as markers, e.g. ``&#4; Any``), the XML declaration is rewritten to UTF-8 and the result is parsed
incrementally with defusedxml (entity declarations are refused: an export never needs them).
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from defusedxml import DefusedXmlException, ElementTree

from segmint.errors import InputError
from segmint.io.vouchers import TallyMasters

CHUNK = 1 << 20
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BAD_REFS = re.compile(r"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[12]|1[4-9]|2[0-9]|3[01]));")
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECLARATION = re.compile(r"^(\ufeff?\s*<\?xml[^>]*?)encoding\s*=\s*[\"'][^\"']*[\"']")
_INVENTORY = ("ALLINVENTORYENTRIES.LIST", "INVENTORYENTRIES.LIST", "INVENTORYENTRIESIN.LIST",
              "INVENTORYENTRIESOUT.LIST")  # fmt: skip
_LEDGERS = ("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST")
_DAYS = re.compile(r"(\d+)\s*day", re.IGNORECASE)


def sniff_xml_encoding(head: bytes) -> str:
    """Encoding of an XML file from its first bytes: BOM, UTF-16 zero bytes, declaration, content."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) > 1 and head[1] == 0 and head[0] != 0:
        return "utf-16-le"
    if len(head) > 1 and head[0] == 0 and head[1] != 0:
        return "utf-16-be"
    declared = _DECLARED.match(head)
    if declared:
        name = declared.group(1).decode("ascii").lower()
        if not name.startswith("utf-16"):  # a UTF-16 declaration on 8-bit bytes is a lie Tally tells
            try:
                return codecs.lookup(name).name
            except LookupError:
                pass
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        return "utf-8" if exc.start > len(head) - 4 else "cp1252"


class CleanXmlStream(io.RawIOBase):
    """A binary stream yielding the file as UTF-8 XML without the characters XML 1.0 forbids."""

    def __init__(self, handle: BinaryIO) -> None:
        head = handle.read(CHUNK)
        self.encoding = sniff_xml_encoding(head)
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        self._pending = head
        self._carry = ""
        self._out = b""
        self._first = True
        self._done = False
        self.removed = 0  # control characters removed: raw bytes and references together
        self.removed_references = 0  # of which references (``&#4;``)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self._out) < len(buffer) and not self._done:
            self._fill()
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _fill(self) -> None:
        raw = self._pending if self._pending is not None else self._handle.read(CHUNK)
        self._pending = None
        final = not raw
        text = self._carry + self._decoder.decode(raw, final=final)
        self._carry = ""
        if not final:
            cut = text.rfind("&")
            if cut >= 0 and ";" not in text[cut:] and len(text) - cut < 16:
                text, self._carry = text[:cut], text[cut:]  # a reference split across chunks
        if self._first and text:
            text = _DECLARATION.sub(r'\1encoding="UTF-8"', text.lstrip("\ufeff"), count=1)
            self._first = False
        text, refs = _BAD_REFS.subn("", text)
        text, chars = _BAD_CHARS.subn("", text)
        self.removed += refs + chars
        self.removed_references += refs
        self._out += text.encode("utf-8")
        self._done = final


@dataclass
class BillAllocation:
    """One ``BILLALLOCATIONS.LIST`` of a party line: bill name, New Ref/Agst Ref/On Account, amount."""

    name: str | None
    bill_type: str | None
    amount: str | None
    credit_days: int | None


@dataclass
class LedgerLine:
    name: str | None
    amount: str | None
    is_party: bool
    deemed_positive: bool | None
    bills: list[BillAllocation] = field(default_factory=list)


@dataclass
class VoucherRecord:
    """What segmint needs of one ``<VOUCHER>``: header, inventory entries and ledger lines."""

    position: int  # 1-based voucher number in the file (the row a report points to)
    date: str | None
    vch_type: str
    number: str | None
    party: str | None
    cancelled: bool
    optional: bool
    items: list[dict[str, str | None]]
    ledgers: list[LedgerLine]


@dataclass
class TallyExport:
    vouchers: list[VoucherRecord]
    masters: TallyMasters
    encoding: str
    removed_characters: int  # raw control bytes (``\x05``) and references (``&#4;``) removed
    company: str | None = None
    removed_references: int = 0  # of removed_characters, the references


def parse_tally_xml(path: Path) -> TallyExport:
    """Every voucher and the masters segmint uses (voucher types, groups, ledgers) of one export."""
    vouchers: list[VoucherRecord] = []
    masters = TallyMasters()
    company = None
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc}") from exc
    with handle:
        stream = CleanXmlStream(handle)
        try:
            for _, element in ElementTree.iterparse(io.BufferedReader(stream, CHUNK), events=("end",)):
                tag = _tag(element)
                if tag == "VOUCHER":
                    vouchers.append(_voucher(element, len(vouchers) + 1))
                elif tag == "VOUCHERTYPE" and element.get("NAME"):
                    masters.voucher_types[_clean(element.get("NAME"))] = (
                        _text(element, "PARENT") or "", _clean(element.get("RESERVEDNAME")) or ""
                    )
                elif tag == "GROUP" and element.get("NAME"):
                    masters.groups[_clean(element.get("NAME"))] = _text(element, "PARENT") or ""
                elif tag == "LEDGER" and element.get("NAME"):
                    _ledger_master(element, masters)
                elif tag == "SVCURRENTCOMPANY" and company is None:
                    company = _clean(element.text)
                else:
                    continue
                element.clear()
        except DefusedXmlException as exc:  # entity expansion, external entities, external DTDs
            raise InputError(
                f"{path.name}: refused for safety: the XML declares entities or external references, which "
                "can expand a small file into gigabytes or read other files on this computer. "
                "Export the vouchers from Tally again (Tally writes no entity declarations), or remove "
                "the <!DOCTYPE ...> block at the top of the file",
                field="file", value=path.name,
            ) from exc
        except ElementTree.ParseError as exc:
            raise InputError(f"{path.name}: not well-formed XML even after removing control characters: {exc}") from exc
    return TallyExport(vouchers, masters, stream.encoding, stream.removed, company, stream.removed_references)


def _tag(element: Any) -> str:
    return element.tag.rsplit("}", 1)[-1].upper()


def _clean(text: str | None) -> str | None:
    value = " ".join(text.split()) if text else ""
    return value or None


def _text(element: Any, tag: str) -> str | None:
    found = element.find(tag)
    return _clean(found.text) if found is not None else None


def _yes(element: Any, tag: str) -> bool:
    return (_text(element, tag) or "").lower() == "yes"


def credit_days(text: str | None) -> int | None:
    """'30 Days' -> 30 (Tally's BILLCREDITPERIOD); None when it names no number of days."""
    found = _DAYS.search(text or "")
    return int(found.group(1)) if found else None


def _bills(line: Any) -> list[BillAllocation]:
    bills = []
    for bill in line.findall("BILLALLOCATIONS.LIST"):
        name, amount = _text(bill, "NAME"), _text(bill, "AMOUNT")
        if name is None and amount is None:
            continue  # Tally writes an empty list element on lines without bills
        bills.append(BillAllocation(name, _text(bill, "BILLTYPE"), amount, credit_days(_text(bill, "BILLCREDITPERIOD"))))
    return bills


def _voucher(element: Any, position: int) -> VoucherRecord:
    items = []
    for tag in _INVENTORY:
        for item in element.findall(tag):
            items.append({
                "name": _text(item, "STOCKITEMNAME"), "amount": _text(item, "AMOUNT"),
                "qty": _text(item, "BILLEDQTY") or _text(item, "ACTUALQTY"), "rate": _text(item, "RATE"),
            })  # fmt: skip
    ledgers = []
    for tag in _LEDGERS:
        for line in element.findall(tag):
            deemed = _text(line, "ISDEEMEDPOSITIVE")
            ledgers.append(LedgerLine(
                name=_text(line, "LEDGERNAME"), amount=_text(line, "AMOUNT"),
                is_party=_yes(line, "ISPARTYLEDGER"),
                deemed_positive=None if deemed is None else deemed.lower() == "yes", bills=_bills(line),
            ))  # fmt: skip
    return VoucherRecord(
        position=position, date=_text(element, "DATE"),
        vch_type=_clean(element.get("VCHTYPE")) or _text(element, "VOUCHERTYPENAME") or "",
        number=_text(element, "VOUCHERNUMBER"),
        party=_text(element, "PARTYLEDGERNAME") or _text(element, "PARTYNAME"),
        cancelled=_yes(element, "ISCANCELLED"), optional=_yes(element, "ISOPTIONAL"),
        items=[i for i in items if i["name"] or i["amount"]], ledgers=ledgers,
    )  # fmt: skip


def _ledger_master(element: Any, masters: TallyMasters) -> None:
    name = _clean(element.get("NAME"))
    masters.ledgers[name] = _text(element, "PARENT") or ""
    limit = to_decimal(_text(element, "CREDITLIMIT"))
    if limit:
        masters.credit_limits[name] = float(abs(limit))
    bills = []
    for bill in element.findall("BILLALLOCATIONS.LIST"):
        amount = to_decimal(_text(bill, "OPENINGBALANCE"))
        if amount:
            bills.append({"ledger": name, "bill": _text(bill, "NAME"), "date": _text(bill, "BILLDATE"),
                          "amount": amount, "credit_days": credit_days(_text(bill, "BILLCREDITPERIOD"))})
    opening = to_decimal(_text(element, "OPENINGBALANCE"))
    if bills:
        masters.opening.extend(bills)
    elif opening:
        masters.opening.append({"ledger": name, "bill": None, "date": None, "amount": opening, "credit_days": None})


def to_decimal(text: str | None) -> Decimal | None:
    """A Tally number ('-1,234.50', '1234.50 Dr') as a Decimal; None when blank or unreadable."""
    if not text:
        return None
    cleaned = text.replace(",", "").strip()
    sign = -1 if cleaned.lower().endswith("dr") else 1
    cleaned = re.sub(r"\s*(dr|cr)\.?$", "", cleaned, flags=re.IGNORECASE)
    try:
        return Decimal(cleaned) * sign
    except InvalidOperation:
        return None
