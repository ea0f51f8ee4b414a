"""The appendable workspace: a DuckDB file of canonical sales lines plus the log of every import.

A line's identity comes from what it is, never from where it sat: the fingerprint of its canonical
fields (date, customer, invoice, product, quantity, price, amount, cost, country, org, return flag)
plus its occurrence number among identical lines of the same import. An invoice id that cleaning
made up from the file name and row number (no invoice column) is left out of the fingerprint, so
the same line in a renamed or overlapping export is recognised. A source's identity is the SHA-256
of its bytes: content already imported adds nothing. The lines of an import and its log entry are
written in one transaction, so a crash leaves either both or neither. Contact columns (customer name,
e-mail, phone) and a product's category are stored with the lines when a source has them, outside the
identity: a later export that adds an e-mail or a category to lines already stored fills it in instead
of adding the lines again. The import log (hashes, same-content records, import ids) is
:mod:`segmint.workspace_log`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint.engine import connect, materialize
from segmint.errors import BackendError, Fix, InputError
from segmint.schema import CANONICAL_COLUMNS, CANONICAL_DTYPES, CONTACT_FIELDS, PRODUCT_ATTRIBUTE_DTYPES
from segmint.workspace_log import (
    IMPORTS_TABLE,
    ImportResult,
    Progress,
    already_present_reasons,
    create_import_log,
    file_sha256,
    import_with_hash,
    insert_import,
    next_import_id,
    record_same_content,
    transaction,
    upgrade_import_log,
)

log = logging.getLogger(__name__)

__all__ = ["ImportResult", "Workspace", "file_sha256", "line_keys"]

WORKSPACE_TABLE = "transactions"
# the story's rollup of the lines (segmint.story_activity.monthly_rollup / line_days) and the number
# of lines it covers: a workspace whose count differs (written by an older segmint) rebuilds it
ROLLUP_TABLE = "story_months"
DAYS_TABLE = "story_days"
ROLLUP_STATE = "story_rollup_state"
LINE_KEY = "line_key"
IMPORT_ID = "import_id"
# Canonical fields that say what a line is (line_no only says where it sat in its invoice).
IDENTITY_FIELDS: tuple[str, ...] = tuple(c for c in CANONICAL_COLUMNS if c != "line_no")
# Optional text columns stored beside the lines when a source has them, outside the identity.
ATTRIBUTE_FIELDS: tuple[str, ...] = (*CONTACT_FIELDS, *PRODUCT_ATTRIBUTE_DTYPES)
_SQL_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "float64": "DOUBLE", "timestamp": "TIMESTAMP",
              "boolean": "BOOLEAN"}  # fmt: skip


def _field_text(table: ir.Table, name: str) -> ir.StringValue:
    """A field as stable text for the fingerprint: numbers rounded to 1e-6 (-0 is 0), NULL as \\N."""
    column = table[name]
    kind = column.type()
    if kind.is_floating():
        text = (column.round(6) + 0.0).cast("string")
    elif kind.is_timestamp():
        text = column.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = column.cast("string")
    return text.fill_null("\\N")


def line_keys(table: ir.Table, synthetic_invoice: ir.BooleanValue | None = None) -> ir.Table:
    """``table`` with ``line_key`` = md5 of the identity fields + ':' + occurrence among identical lines.

    ``synthetic_invoice`` marks rows whose invoice id was made up from a position (left out of the
    fingerprint so the line is recognised wherever it sits).
    """
    parts = []
    for name in IDENTITY_FIELDS:
        text = _field_text(table, name)
        if name == "invoice_id" and synthetic_invoice is not None:
            text = ibis.cases((synthetic_invoice, ibis.literal("\\S")), else_=text)
        parts.append(text)
    fingerprint = ibis.literal("\x1f").join(parts).hexdigest("md5")
    keyed = table.mutate(_fingerprint=fingerprint)
    occurrence = ibis.row_number().over(group_by=keyed._fingerprint)
    keyed = keyed.mutate(**{LINE_KEY: keyed._fingerprint + ":" + occurrence.cast("string")})
    return keyed.drop("_fingerprint")


class Workspace:
    """A DuckDB file holding cleaned canonical transactions, appended import by import.

    Re-importing lines adds nothing; see the module docstring for how a line is identified.
    """

    def __init__(self, path: str | Path, *, con: BaseBackend | None = None, create: bool = True) -> None:
        self.path = Path(path)
        if con is None and not create and not self.path.exists():
            raise InputError(
                f"{self.path}: workspace file not found; check the path, or ingest sales files to create it",
                field="workspace", value=str(self.path),
            )
        if con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = con or connect("duckdb", path=self.path)
        try:
            self._check_not_foreign()
        except InputError:
            if con is None:
                self.close()
            raise
        self._upgrade()

    # --- reading ------------------------------------------------------------------------------
    def exists(self) -> bool:
        """True when the workspace already holds a transactions table."""
        return WORKSPACE_TABLE in self.con.list_tables()

    def transactions(self) -> ibis.Table:
        """The canonical transactions, plus the contact columns and the category where they hold values."""
        if not self.exists():
            own = {IMPORTS_TABLE, ROLLUP_TABLE, DAYS_TABLE, ROLLUP_STATE, "ledger_entries", "ledger_report"}
            others = sorted(set(self.con.list_tables()) - own)
            if others:  # a DuckDB database of the user's, not a workspace: say how to read its tables
                raise self._foreign(f"its tables are {', '.join(others[:20])}", others[0])
            raise BackendError(
                f"workspace {self.path} has no transactions yet; ingest sales files into it first",
                field="workspace", value=str(self.path),
                fix=Fix(option="workspace", note="ingest sales files into the workspace, then read it"),
            )
        table = self.con.table(WORKSPACE_TABLE)
        return table.select(*CANONICAL_COLUMNS, *self._filled_attributes(table))

    def _filled_attributes(self, table: ir.Table) -> list[str]:
        stored = [name for name in ATTRIBUTE_FIELDS if name in table.columns]
        if not stored:
            return []
        # whether any line has a value: EXISTS stops at the first one, and skips the blocks whose statistics
        # say they hold no value (count() read the whole column: 0.6 CPU s at 49M lines on every open)
        filled = self.con.con.execute(
            "SELECT " + ", ".join(f'EXISTS (SELECT 1 FROM "{WORKSPACE_TABLE}" WHERE "{name}" IS NOT NULL)'
                                  for name in stored)
        ).fetchone()
        return [name for name, found in zip(stored, filled, strict=True) if found]

    def rollup(self) -> Any:
        """The lines' per customer-month totals and lines per day (built here when missing or stale).

        A story reads these instead of every line (:class:`segmint.story_activity.Rollup`). Appends keep
        them up to date; a workspace written before they existed builds them on first use.
        """
        from segmint.story_activity import Rollup

        if not self.exists():
            self.transactions()  # the error saying the workspace is empty
        if self._rollup_lines() != self.totals()[0]:
            log.info("workspace %s: building the story rollup", self.path)
            with transaction(self.con.con):
                self._build_rollup()
        return Rollup(months=self.con.table(ROLLUP_TABLE), days=self.con.table(DAYS_TABLE))

    def _rollup_lines(self) -> int | None:
        """Lines the stored rollup covers (None when there is none)."""
        if ROLLUP_STATE not in self.con.list_tables():
            return None
        found = self.con.con.execute(f'SELECT max(lines) FROM "{ROLLUP_STATE}"').fetchone()
        return None if found is None or found[0] is None else int(found[0])

    def _build_rollup(self, import_id: int | None = None) -> None:
        """(Re)build the rollup from every line, or for an import: its customers' months and its days."""
        from segmint.story_activity import line_days, monthly_rollup

        db = self.con.con
        lines = self.con.table(WORKSPACE_TABLE)
        if import_id is None:
            for name in (ROLLUP_TABLE, DAYS_TABLE, ROLLUP_STATE):
                db.execute(f'DROP TABLE IF EXISTS "{name}"')
            self.con.create_table(ROLLUP_TABLE, monthly_rollup(lines))
            self.con.create_table(DAYS_TABLE, line_days(lines))
            db.execute(f'CREATE TABLE "{ROLLUP_STATE}" (lines BIGINT)')
        else:
            # an import can add lines to an invoice already stored: its customers' months are rebuilt
            # whole from their lines, so nothing is lost or counted twice
            added = lines.filter(lines[IMPORT_ID] == import_id)
            touched = f'SELECT DISTINCT customer_id FROM "{WORKSPACE_TABLE}" WHERE {IMPORT_ID} = {int(import_id)}'
            db.execute(f'DELETE FROM "{ROLLUP_TABLE}" WHERE customer_id IN ({touched})')
            mine = lines.filter(lines.customer_id.isin(added.customer_id))
            self.con.insert(ROLLUP_TABLE, monthly_rollup(mine))
            self.con.insert(DAYS_TABLE, line_days(added))
            db.execute(f'DELETE FROM "{ROLLUP_STATE}"')
        db.execute(f'INSERT INTO "{ROLLUP_STATE}" SELECT count(*) FROM "{WORKSPACE_TABLE}"')

    def imports(self) -> ibis.Table:
        """The import log: id, source, content hash, lines offered/added/already present and why, time."""
        if IMPORTS_TABLE not in self.con.list_tables():
            self._create_tables()
        return self.con.table(IMPORTS_TABLE)

    def totals(self) -> tuple[int, int]:
        """(lines stored, imports logged)."""
        if not self.exists():
            return 0, 0
        db = self.con.con
        lines = db.execute(f'SELECT count(*) FROM "{WORKSPACE_TABLE}"').fetchone()[0]
        imports = db.execute(f'SELECT count(*) FROM "{IMPORTS_TABLE}"').fetchone()[0]
        return int(lines), int(imports)

    # --- writing ------------------------------------------------------------------------------
    def ingest(
        self,
        path: str | Path,
        *,
        mapping: Any = None,
        options: Any = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Read, clean and append one file; content imported before (same bytes) adds nothing."""
        from segmint.api import read_transactions

        step = progress or (lambda message: log.debug(message))
        path = Path(path)
        step("hashing the file")
        try:
            content_hash = file_sha256(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc}") from exc
        earlier = import_with_hash(self.con, content_hash)
        if earlier is not None:
            return record_same_content(self.con.con, str(path), content_hash, earlier, step)
        step("reading and cleaning")
        tx = read_transactions(str(path), mapping=mapping, options=options, con=self.con)
        result = self.append(
            tx.table, source=str(path), content_hash=content_hash,
            report_json=tx.report.model_dump_json() if tx.report is not None else "",
            synthetic_invoice_source=path.name, progress=step,
        )  # fmt: skip
        return replace(result, report=tx.report, transactions=tx)

    def append(
        self,
        table: ibis.Table,
        *,
        source: str = "",
        content_hash: str | None = None,
        report_json: str = "",
        synthetic_invoice_source: str | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Add canonical lines not already present, and log the import, in one transaction.

        ``synthetic_invoice_source`` is the file name cleaning used for made-up invoice ids
        (``name:row``, ``name [sheet]:row``); those ids are left out of the identity and stored as
        ``name:row (import N)``.
        """
        step = progress or (lambda message: log.debug(message))
        step("computing line identities")
        contacts = [name for name in ATTRIBUTE_FIELDS if name in table.columns]
        incoming = table.select(*CANONICAL_COLUMNS, *contacts)
        synthetic = None
        if synthetic_invoice_source is not None:
            # name:row, or name [sheet]:row for a workbook read sheet by sheet
            pattern = "^" + re.escape(synthetic_invoice_source) + r"( \[[^\]]*\])?:\d+$"
            synthetic = incoming.invoice_id.re_search(pattern).fill_null(False)
            incoming = incoming.mutate(_synthetic=synthetic)
            synthetic = incoming._synthetic
        staged_name = f"segmint_import_{uuid4().hex[:12]}"
        materialize(self.con, line_keys(incoming, synthetic), staged_name)
        db = self.con.con  # the DuckDB connection: one explicit transaction for lines + log
        try:
            with transaction(db):
                self._create_tables()
                import_id = next_import_id(db)
                lines_before, rollup_before = self.totals()[0], self._rollup_lines()
                step("comparing with the workspace")
                rows_offered = int(db.execute(f'SELECT count(*) FROM "{staged_name}"').fetchone()[0])
                present = db.execute(
                    f'SELECT t.import_id, count(*) FROM "{staged_name}" s '
                    f'JOIN "{WORKSPACE_TABLE}" t ON t.line_key = s.line_key GROUP BY 1 ORDER BY 1'
                ).fetchall()
                why = already_present_reasons(db, present)
                step("writing lines")
                self._fill_contacts(staged_name, contacts)
                values = {c: f's."{c}"' for c in (*CANONICAL_COLUMNS, *contacts)}
                if synthetic is not None:
                    values["invoice_id"] = (f"CASE WHEN s._synthetic THEN s.invoice_id || ' (import {import_id})' "
                                            "ELSE s.invoice_id END")  # fmt: skip
                values |= {LINE_KEY: f"s.{LINE_KEY}", IMPORT_ID: str(import_id)}
                names = ", ".join(f'"{c}"' for c in values)
                inserted = db.execute(
                    f'INSERT INTO "{WORKSPACE_TABLE}" ({names}) SELECT {", ".join(values.values())} '
                    f'FROM "{staged_name}" s '
                    f'ANTI JOIN "{WORKSPACE_TABLE}" t ON t.{LINE_KEY} = s.{LINE_KEY}'
                ).fetchone()
                rows_added = int(inserted[0]) if inserted else 0
                rows_already = rows_offered - rows_added
                if rows_added and (rollup_before is None and lines_before == 0 or rollup_before == lines_before):
                    step("updating the story rollup")
                    self._build_rollup(import_id if lines_before else None)
                step("writing the import log")
                insert_import(db, import_id, source, content_hash, rows_offered, rows_added, why, report_json)
                step("committing")
        finally:
            db.execute(f'DROP TABLE IF EXISTS "{staged_name}"')
        log.info("workspace %s: import %d (%s): %d lines, %d added", self.path, import_id, source,
                 rows_offered, rows_added)  # fmt: skip
        return ImportResult(source=source, rows_offered=rows_offered, rows_added=rows_added,
                            rows_already_present=rows_already, already_present_why=why,
                            import_id=import_id, content_hash=content_hash)  # fmt: skip

    def _fill_contacts(self, staged_name: str, contacts: list[str]) -> None:
        """Give lines already stored the contact values (or category) they lack from the same lines in this import."""
        if not contacts:
            return
        assign = ", ".join(f'"{c}" = coalesce(t."{c}", s."{c}")' for c in contacts)
        lacking = " OR ".join(f'(t."{c}" IS NULL AND s."{c}" IS NOT NULL)' for c in contacts)
        self.con.con.execute(
            f'UPDATE "{WORKSPACE_TABLE}" AS t SET {assign} FROM "{staged_name}" AS s '
            f"WHERE t.{LINE_KEY} = s.{LINE_KEY} AND ({lacking})"
        )

    def _create_tables(self) -> None:
        """Create the transactions and imports tables when missing (inside the caller's transaction)."""
        db = self.con.con
        columns = [f'"{name}" {_SQL_TYPES[kind]}' for name, kind in CANONICAL_DTYPES.items()]
        columns += [f"{LINE_KEY} VARCHAR", f"{IMPORT_ID} BIGINT"]
        columns += [f'"{name}" VARCHAR' for name in ATTRIBUTE_FIELDS]
        db.execute(f'CREATE TABLE IF NOT EXISTS "{WORKSPACE_TABLE}" ({", ".join(columns)})')
        for name in ATTRIBUTE_FIELDS:  # workspaces written before contacts (or categories) were stored
            db.execute(f'ALTER TABLE "{WORKSPACE_TABLE}" ADD COLUMN IF NOT EXISTS "{name}" VARCHAR')
        create_import_log(db)

    def _check_not_foreign(self) -> None:
        """Refuse a DuckDB file whose ``transactions`` table is the user's own (not canonical lines):
        reading it as a workspace would fail deep in a query, and appending would write into it."""
        if WORKSPACE_TABLE not in self.con.list_tables():
            return
        columns = self.con.table(WORKSPACE_TABLE).columns
        missing = [name for name in CANONICAL_COLUMNS if name not in columns]
        if missing:
            shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
            raise self._foreign(f"its table '{WORKSPACE_TABLE}' has the columns {shown}", WORKSPACE_TABLE)

    def _foreign(self, what: str, table: str) -> InputError:
        source = f"duckdb:///{self.path.resolve()}?table={table}"
        return InputError(
            f"{self.path} is a DuckDB database but not a segmint workspace ({what}); "
            f"to read one of its tables as sales, name it: {source}",
            field="source", value=str(self.path), fix=Fix(option="source", example=source),
        )

    def _upgrade(self) -> None:
        """Give a workspace written by an earlier segmint (keys by invoice and line number) line keys."""
        tables = self.con.list_tables()
        if WORKSPACE_TABLE not in tables or LINE_KEY in self.con.table(WORKSPACE_TABLE).columns:
            return
        log.info("workspace %s: adding line identities to an older workspace", self.path)
        db = self.con.con
        old = self.con.table(WORKSPACE_TABLE).select(*CANONICAL_COLUMNS)
        keyed = line_keys(old).mutate(**{IMPORT_ID: ibis.literal(None, "int64")})
        staged_name = f"segmint_upgrade_{uuid4().hex[:12]}"
        materialize(self.con, keyed, staged_name)
        try:
            with transaction(db):
                db.execute(f'DROP TABLE "{WORKSPACE_TABLE}"')
                db.execute(f'CREATE TABLE "{WORKSPACE_TABLE}" AS SELECT * FROM "{staged_name}"')
                if IMPORTS_TABLE in tables:
                    upgrade_import_log(self.con)
        finally:
            db.execute(f'DROP TABLE IF EXISTS "{staged_name}"')

    def close(self) -> None:
        """Release the DuckDB file."""
        self.con.disconnect()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
