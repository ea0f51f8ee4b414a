"""Campaign-ready contact lists: one file per segment (or one file with a tag column) for a CRM.

Columns are named the way Mailchimp and Klaviyo map them on import (``Email``, ``Phone Number``,
``First Name``, ``Last Name``, ``Tags``), followed by the customer id, segment and a few facts.
Contacts (name, e-mail, phone) come from the sales data's own columns when it has them; the latest
non-blank value of each wins, so a customer who changed address is reached at the new one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError
from segmint.schema import CONTACT_FIELDS

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LIST_COLUMNS = ["Email", "Phone Number", "First Name", "Last Name", "Customer ID", "Segment", "Tags",
                "Last Purchase", "Orders", "Revenue"]


@dataclass(frozen=True)
class ContactLists:
    """What was written: file per segment (or the one tagged file) and how many can be reached."""

    files: dict[str, Path]
    customers: int
    with_email: int
    with_phone: int

    def describe(self) -> str:
        """``1,204 customers in 9 files; 1,010 with an e-mail, 640 with a phone``."""
        return (f"{self.customers:,} customers in {len(self.files)} file(s); {self.with_email:,} with an e-mail, "
                f"{self.with_phone:,} with a phone")


def customer_contacts(tx: ir.Table) -> ir.Table | None:
    """customer_id plus the latest non-blank ``customer_name``, ``email``, ``phone`` (None without any)."""
    present = [name for name in CONTACT_FIELDS if name in tx.columns]
    if not present:
        return None
    latest: dict[str, ir.Value] = {}
    for name in present:
        value = tx[name].cast("string").strip()
        usable = value.notnull() & (value != "")
        latest[name] = ibis.cases((usable, value), else_=ibis.null("string")).argmax(
            ibis.cases((usable, tx.invoice_date), else_=ibis.null("timestamp")))
    return tx.group_by("customer_id").aggregate(**latest)


def normalise_phone(value: object) -> str | None:
    """``+91 98450-12345`` -> ``+919845012345`` (digits, one leading +); None when not a phone number."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if not 6 <= len(digits) <= 15:
        return None
    return ("+" if text.startswith(("+", "00")) else "") + (digits[2:] if text.startswith("00") else digits)


# what may follow a comma in a name that is not "Last, First": a company form or a generational suffix
NAME_SUFFIXES = frozenset({"inc", "ltd", "llc", "llp", "plc", "gmbh", "ag", "co", "corp", "sa", "srl", "bv", "nv",
                           "pvt ltd", "pty ltd", "jr", "sr", "ii", "iii", "iv"})


def _split_name(name: object) -> tuple[str, str]:
    """(first, last): "Ann Lee" -> Ann / Lee; "Lee, Ann" (last name first) -> Ann / Lee, where the first
    word was taken as the first name ("Lee," / "Ann"); "Acme, Inc." stays in one piece."""
    if name is None or (isinstance(name, float) and name != name) or not str(name).strip():
        return "", ""
    text = " ".join(str(name).split())
    last, comma, first = text.partition(",")
    if comma and last.strip() and first.strip() and first.strip(" .").lower() not in NAME_SUFFIXES:
        return first.strip(), last.strip()
    first, _, last = text.partition(" ")
    return first, last.strip()


def contact_frame(labelled: pd.DataFrame, contacts: pd.DataFrame | None, scheme: str) -> pd.DataFrame:
    """One row per labelled customer in the CRM column layout (blank contact cells when unknown)."""
    frame = labelled[["customer_id", "segment", "last_purchase", "frequency", "revenue"
                      if "revenue" in labelled.columns else "monetary"]].copy()
    frame.columns = ["customer_id", "segment", "last_purchase", "frequency", "revenue"]
    if contacts is not None:
        frame = frame.merge(contacts, on="customer_id", how="left")
    for name in CONTACT_FIELDS:
        if name not in frame.columns:
            frame[name] = None
    email = frame["email"].astype("string").str.strip().str.lower()
    names = [_split_name(n) for n in frame["customer_name"]]
    return pd.DataFrame({
        "Email": email.where(email.fillna("").str.match(EMAIL), None),
        "Phone Number": [normalise_phone(p) for p in frame["phone"]],
        "First Name": [first for first, _ in names],
        "Last Name": [last for _, last in names],
        "Customer ID": frame["customer_id"].astype(str),
        "Segment": frame["segment"].astype(str),
        "Tags": [f"segmint:{scheme}:{s}" for s in frame["segment"]],
        "Last Purchase": pd.to_datetime(frame["last_purchase"]).dt.strftime("%Y-%m-%d"),
        "Orders": frame["frequency"].astype("int64"),
        "Revenue": frame["revenue"].astype(float).round(2),
    })[LIST_COLUMNS]


def slug(text: str) -> str:
    """A file-name-safe form of a segment label (``Can't Lose Them`` -> ``cant_lose_them``)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower().replace("'", "")).strip("_") or "segment"


def export_contact_lists(
    result: Any, out_dir: str | Path, *, scheme: str = "rfm", tagged: bool = False, fmt: str = "csv"
) -> ContactLists:
    """Write ``<scheme>_<segment>.csv`` per segment (or ``<scheme>_contacts.csv`` with ``Tags``)."""
    from segmint.exports import export_tables

    if scheme not in result.segments:
        raise ConfigError(f"no {scheme!r} segments in this result; computed: {', '.join(result.segments)}")
    labelled = result.segments[scheme]
    labelled = labelled.execute() if isinstance(labelled, ir.Table) else labelled
    contacts = customer_contacts(result.transactions.table)
    frame = contact_frame(labelled, None if contacts is None else contacts.execute(), scheme)
    order = labelled.drop_duplicates("segment").sort_values("segment_order", ascending=False)["segment"]
    if tagged:
        tables = {f"{scheme}_contacts": frame}
    else:
        tables = {f"{scheme}_{slug(str(s))}": frame[frame["Segment"] == str(s)] for s in order}
    files = export_tables(tables, out_dir, fmt, trusted_columns=("Phone Number",))
    lists = ContactLists(files, len(frame), int(frame["Email"].notna().sum()), int(frame["Phone Number"].notna().sum()))
    log.info("contact lists: %s", lists.describe())
    return lists
