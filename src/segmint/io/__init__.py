"""Readers: any supported file, folder, glob or list of them -> one RawTable (see docs/architecture.md)."""

from __future__ import annotations

import glob as globlib
import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from segmint.engine import row_count
from segmint.errors import InputError
from segmint.io.base import ROW_COL, SOURCE_COL, RawTable
from segmint.io.items import expand_items
from segmint.schema import ColumnMapping

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "RawTable", "read_raw", "read_sql"]

FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv", ".dat": "csv",
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel", ".xlsb": "excel", ".ods": "excel",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".xml": "tally",
}  # fmt: skip


def read_raw(
    source: str | Path | Sequence[str | Path], *, con: BaseBackend, mapping: ColumnMapping | None = None,
    project: bool = False,
) -> RawTable:
    """Read a file, folder, glob or list of those into ``con`` as one RawTable (union by column name).

    ``project``: one wide delimited file keeps only the columns its detected (or given) mapping reads
    (see :mod:`segmint.io.wide`); the others are listed in ``unread_columns``. For a job whose mapping is
    settled by then, not for a mapping editor that offers every column.
    """
    files = expand_sources(source)
    project = project and len(files) == 1
    tables = [_read_file(path, con, mapping, project) for path in files]
    return tables[0] if len(tables) == 1 else union_raw(tables)


def read_sql(source: str | BaseBackend, table_or_query: str, *, con: BaseBackend | None = None) -> RawTable:
    """Read a table or ``SELECT`` from a database (DuckDB file, SQLite file, PostgreSQL URL) via Ibis."""
    from segmint.io.sql import read_sql as _read_sql

    return _read_sql(source, table_or_query, con=con)


def expand_sources(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """Files named by ``source`` (folders list their supported files, globs expand), in sorted order."""
    items = [source] if isinstance(source, (str, Path)) else list(source)
    if not items:
        raise InputError("no input files given")
    files: list[Path] = []
    for item in items:
        text = str(item)
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FORMATS)
            if not found:
                raise InputError(f"{path}: folder has no readable files ({_formats()})")
            files += found
        elif path.is_file():
            files.append(path)
        elif globlib.has_magic(text):
            found = sorted(Path(p) for p in globlib.glob(text, recursive=True) if Path(p).is_file())
            if not found:
                raise InputError(f"{text}: no files match this pattern")
            files += found
        else:
            raise InputError(f"{path}: file not found")
    return files


_READERS = {  # format -> (module, function); imported on first use
    "csv": ("segmint.io.csv", "read_delimited"),
    "excel": ("segmint.io.excel", "read_excel"),
    "parquet": ("segmint.io.parquet", "read_parquet"),
    "json": ("segmint.io.json", "read_json"),
    "tally": ("segmint.io.tally", "read_tally_xml"),
}


def _read_file(path: Path, con: BaseBackend, mapping: ColumnMapping | None, project: bool = False) -> RawTable:
    kind = FORMATS.get(path.suffix.lower()) or _sniff_format(path)
    module, function = _READERS[kind]
    reader: Callable[..., RawTable] = getattr(importlib.import_module(module), function)
    log.info("reading %s as %s", path, kind)
    wide = {"project": True} if project and kind == "csv" else {}
    return expand_items(reader(path, con=con, mapping=mapping, **wide), con)


def _sniff_format(path: Path) -> str:
    """Guess the format of a file with an unknown extension from its first bytes."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc}") from exc
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return "excel"
    if stripped.startswith((b"[", b"{")):
        return "json"
    if stripped.startswith(b"<"):
        return "tally"
    if b"\x00" not in head and head:
        return "csv"
    raise InputError(f"{path}: unsupported file type {path.suffix!r}; supported: {_formats()}")


def _formats() -> str:
    return " ".join(sorted(FORMATS))


def union_raw(tables: list[RawTable]) -> RawTable:
    """Stack RawTables by column name; a column missing from a file is null there.

    Files sharing no column name at all have different layouts: stacking them would leave every
    row of one file without the other's fields (and drop them all), so that is an error.
    """
    first = tables[0]
    for raw in tables[1:]:
        if not {c.lower() for c in raw.columns} & {c.lower() for c in first.columns}:
            raise InputError(
                f"{first.source} and {raw.source} have different layouts (no column in common: "
                f"{', '.join(first.columns[:6])} vs {', '.join(raw.columns[:6])}); read them separately, "
                "or give them the same header row"
            )
    columns: list[str] = []
    for raw in tables:
        columns += [c for c in raw.columns if c not in columns]
    types = {}
    for raw in tables:
        for c in raw.columns:
            dtype = raw.table[c].type()
            types[c] = dtype if types.get(c, dtype) == dtype else ibis.dtype("string")
    parts = []
    for raw in tables:
        t = raw.table
        parts.append(
            t.select(
                *[
                    (t[c] if c in raw.columns else ibis.null()).cast(types[c]).name(c)
                    for c in columns
                ],
                t[SOURCE_COL],
                t[ROW_COL],
            )
        )
    union = ibis.union(*parts, distinct=False)
    first = tables[0]
    merged = RawTable(
        table=union,
        source=", ".join(r.source for r in tables),
        columns=columns,
        header_row=first.header_row if all(r.header_row == first.header_row for r in tables) else None,
        format=first.format if all(r.format == first.format for r in tables) else "mixed",
        sheet=None,
    )
    if any(raw.records is not None for raw in tables):  # a file without item lists: a row per record
        merged.records = sum(raw.records if raw.records is not None else row_count(raw.table) for raw in tables)
    for raw in tables:
        merged.notes += [f"{raw.source}: {note}" for note in raw.notes]
        merged.report_notes += [f"{raw.source}: {note}" for note in raw.report_notes]
        merged.short_rows |= raw.short_rows
        merged.sheets += [dict(sheet, name=f"{raw.source} [{sheet['name']}]") for sheet in raw.sheets]
        for reason, count in raw.skipped.items():
            merged.add_skipped(reason, count, raw.skipped_examples.get(reason, []))
    return merged
