"""Read -> map -> clean: files, a database table, a workspace or a canonical Ibis table to ``Transactions``.

The first step of the one pipeline (:mod:`segmint.api` re-exports ``read_transactions`` and
``clean_raw``; the CLI, the dashboard and Python all read through here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint.analysis_result import Transactions
from segmint.errors import ConfigError, DataError, Fix, SegmintError

if TYPE_CHECKING:
    from segmint.clean import CleanOptions
    from segmint.io.base import RawTable
    from segmint.io.ledger_report import LedgerReport
    from segmint.schema import ColumnMapping

__all__ = ["MappingLike", "Source", "clean_raw", "read_transactions"]

Source: TypeAlias = str | Path | Sequence[str | Path]
# Which source column feeds each canonical field: a ColumnMapping, {field: column} or a YAML file.
MappingLike: TypeAlias = "ColumnMapping | Mapping[str, str] | str | Path | None"


def _check_canonical(table: ir.Table, where: str) -> ir.Table:
    from segmint.schema import CANONICAL_COLUMNS

    missing = [c for c in CANONICAL_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"{where}: not a canonical transactions table, missing column(s) {missing}; "
            "read raw files with read_transactions() instead"
        )
    return table


def _is_workspace(source: Source) -> bool:
    return isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".duckdb", ".ddb")


def _as_mapping(mapping: MappingLike) -> ColumnMapping | None:
    from pydantic import ValidationError

    from segmint.schema import MAPPABLE_FIELDS, ColumnMapping

    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, (str, Path)):
        return ColumnMapping.from_yaml(mapping)
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            f"mapping must be a ColumnMapping, a dict of field -> column or a YAML path, got {type(mapping).__name__}",
            field="mapping", fix=Fix(option="mapping", example={"customer_id": "CustomerID"}),
        )
    data = dict(mapping) if "fields" in mapping else {"fields": dict(mapping)}
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as exc:
        unknown = [k for k in data.get("fields") or {} if k not in MAPPABLE_FIELDS]
        raise ConfigError(
            f"invalid column mapping: {exc.errors(include_url=False)[0]['msg']}; give field -> column, "
            f"e.g. {{'customer_id': 'CustomerID'}}",
            field="mapping", value=unknown[0] if unknown else None,
            fix=Fix(option="mapping", choices=MAPPABLE_FIELDS),
        ) from exc


def read_transactions(
    source: Source | ir.Table,
    *,
    mapping: MappingLike = None,
    options: CleanOptions | None = None,
    con: BaseBackend | None = None,
) -> Transactions:
    """Read files (or a workspace ``.duckdb``, or a canonical Ibis table) into cleaned transactions."""
    from segmint import engine
    from segmint.remote import is_database_url, is_file_database_url, split_table_url

    if isinstance(source, ir.Table):
        backend = con or source._find_backend(use_default=True)
        return Transactions(_check_canonical(source, "table"), backend, label="table")
    if _is_workspace(source):
        from segmint.workspace import Workspace

        workspace = Workspace(source, con=con, create=False)
        try:
            table = _check_canonical(workspace.transactions(), str(source))
        except SegmintError:
            if con is None:  # the file is not held open by a workspace nobody can use
                workspace.close()
            raise
        return Transactions(table, workspace.con, label=Path(source).name, workspace=workspace)

    from segmint.io import read_raw

    wanted = _as_mapping(mapping)
    ledger = None
    if is_database_url(source):
        from segmint.io import read_sql

        # without ``con`` a server's table stays in its database (cleaning and features run there); a
        # database file's table is copied into DuckDB, where segmint's SQL runs
        if con is None and is_file_database_url(source):
            con = engine.connect()
        raw = read_sql(*split_table_url(str(source)), con=con)
        con = raw.table._find_backend()
    else:
        own = con is None
        con = con or engine.connect()
        from segmint.io import size

        small = own and size.small_input(source, con=con)
        if small:  # the read itself is one of the queries a second thread slows down
            con.raw_sql("SET threads = 1")
        raw = read_raw(source, con=con, mapping=wanted, project=True)
        if own and not small:
            _one_thread_when_small(con, raw.table)
        from segmint.io.ledger_layout import may_be_ledger

        if may_be_ledger(raw):
            from segmint.io.ledger import sales_view

            # a ledger (Day Book, Ledger Account): only its sales vouchers net of credit notes are sales
            raw, ledger = sales_view(raw, con=con)
    return clean_raw(raw, con=con, mapping=wanted, options=options, label=_label(source), ledger=ledger)


def _one_thread_when_small(con: BaseBackend, table: ir.Table) -> None:
    """One DuckDB thread for an input under ``io.size.SMALL_INPUT_ROWS`` lines (its own connection only).

    At these sizes the queries are short and a second thread mostly adds coordination: measured on the
    whole ``analyze`` job, one thread used 20-25% less CPU (CDNOW 2.4 -> 1.9 CPU s, a 541,909-line
    log 3.9 -> 2.9) for about the same wall time, and the job is no faster on two idle cores.
    Counting rows is free here: a loaded CSV is a table, a Parquet file has its count in its footer.
    """
    from segmint.engine import row_count
    from segmint.io import size

    if getattr(con, "name", "") != "duckdb":
        return
    if row_count(table) < size.SMALL_INPUT_ROWS:
        con.raw_sql("SET threads = 1")


def clean_raw(
    raw: RawTable, *, con: BaseBackend, mapping: MappingLike = None, options: CleanOptions | None = None,
    label: str | None = None, ledger: LedgerReport | None = None,
) -> Transactions:
    """Map (detected, or ``mapping``) and clean a ``RawTable`` already read into ``con``.

    The dashboard reads an upload once and cleans it again as the user edits the mapping. ``ledger`` is
    the reading report when ``raw`` is the sales view of a ledger (its party shown as the customer's source).
    """
    from segmint.clean import clean_transactions
    from segmint.quality import SheetRead
    from segmint.schema import apply_mapping, detect_mapping, resolve_mapping

    wanted = _as_mapping(mapping)
    detection = detect_mapping(raw.columns, raw.sample_columns(500))  # once: resolving reads it too
    resolved = resolve_mapping(
        raw, wanted, require_value=getattr(options, "unpriced", "error") == "error", detection=detection
    )
    evidence = detection.evidence
    evidence = {f: why for f, why in evidence.items() if f in resolved.fields}
    if ledger is not None and ledger.party and resolved.fields.get("customer_id") == "Party":
        evidence["customer_id"] = f"the Ledger Account's one party, from {ledger.party_from}"
    if wanted is not None:
        evidence.update({f: "set by you" for f in wanted.fields})
    mapped = apply_mapping(raw, resolved)
    result = clean_transactions(
        mapped, resolved, con=con, source=raw.source, options=options, reader_skipped=raw.skipped
    )
    if raw.sheets:  # the sheets of a workbook read, and those left out with why
        result.report.sheets = [SheetRead(**sheet) for sheet in raw.sheets]
    result.report.warnings += raw.report_notes  # what the reader knows of the amounts (e.g. before tax)
    for reason, examples in raw.skipped_examples.items():  # the rows the reader left out (blank, total ...)
        dropped = result.report.dropped.get(reason)
        if dropped is not None and not dropped.examples:
            dropped.examples = [dict(example) for example in examples]
    if raw.records is not None:  # item lists expanded: a skipped row is one record (and one line)
        result.report.records_in = raw.records + sum(raw.skipped.values())
    result.report.mark_short_rows(raw.short_rows)
    result.report.read_as = _read_as(raw)
    used = set(resolved.fields.values())
    result.report.unused_columns = [column for column in raw.columns if column not in used] + raw.unread_columns
    return Transactions(
        result.table, con, resolved, result.report, evidence, label or raw.source, ledger, totals=result.totals,
        totals_per_invoice=result.totals_per_invoice,
    )


def _read_as(raw: RawTable) -> list[str]:
    """The reader's notes a quality report shows (encoding, delimiter, header line, bytes removed, items
    expanded): one line each; a workbook's sheets have their own lines in the report."""
    notes = [note.splitlines()[0] for note in raw.notes]
    return [note for note in notes if not (raw.sheets and " sheet " in f" {note}") and not note.endswith(":")]


def _label(source: Source) -> str:
    """``sales.csv``, ``sales.csv + 2 more`` or a redacted database URL: what was read, for people."""
    from segmint.remote import is_database_url, redact_url

    if isinstance(source, (str, Path)):
        return redact_url(str(source)) if is_database_url(source) else Path(source).name
    items = list(source)
    return Path(items[0]).name + (f" + {len(items) - 1} more" if len(items) > 1 else "")
