"""Refuse Excel expansion bombs before parsing: zip members' sizes and ratios, and each sheet's extent.

An .xlsx is a zip of XML parts. A few megabytes can expand to a gigabyte sheet, and one cell at
XFD1048576 makes the parser allocate 17 billion cells, so both are checked from the zip directory and
a streaming scan of the sheet XML (bounded by the declared sizes) before the workbook is opened.
The limits are documented in the README and set with environment variables (``ExcelLimits.from_env``).
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from segmint.errors import Fix, InputError

__all__ = ["ExcelLimits", "check_workbook"]

MB = 2**20
SCAN_BLOCK = 8 * MB
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)


class ExcelLimits(BaseModel):
    """How large a workbook segmint opens (beyond these it refuses with a message, before parsing).

    A sheet of ``max_cells`` cells needs about 1.5 GB of memory to read; save bigger sheets as CSV.
    """

    model_config = ConfigDict(extra="forbid")

    max_expanded_mb: float = Field(1024, gt=0)  # all zip members together, uncompressed
    max_ratio: float = Field(100, gt=1)  # uncompressed / compressed, for members over 10 MB
    max_cells: int = Field(10_000_000, gt=0)  # rows x columns a sheet spans (or cells it holds)

    @classmethod
    def from_env(cls) -> ExcelLimits:
        """Defaults, overridden by SEGMINT_EXCEL_MAX_MB, SEGMINT_EXCEL_MAX_RATIO, SEGMINT_EXCEL_MAX_CELLS."""
        names = {"max_expanded_mb": "SEGMINT_EXCEL_MAX_MB", "max_ratio": "SEGMINT_EXCEL_MAX_RATIO",
                 "max_cells": "SEGMINT_EXCEL_MAX_CELLS"}  # fmt: skip
        values = {field: os.environ[env].replace("_", "") for field, env in names.items() if os.environ.get(env)}
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise InputError(f"invalid Excel limit in the environment ({', '.join(names.values())}): {exc}") from exc


def check_workbook(path: Path, limits: ExcelLimits | None = None) -> None:
    """InputError when the workbook at ``path`` would expand beyond ``limits`` (zip formats only).

    Legacy .xls files are not zips; their format caps a sheet at 65,536 x 256 cells.
    """
    limits = limits or ExcelLimits.from_env()
    if not zipfile.is_zipfile(path):
        _check_not_zip(path)
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise _damaged(path, str(exc)) from exc
    _check_sizes(path, members, limits)
    with path.open("rb") as handle:
        for member in members:
            if _SHEET_PART.match(member.filename):
                _check_extent(path, _inflate(path, handle, member), member, limits)
            elif member.compress_size > 64 * 1024:  # smaller members cannot expand past ~66 MB
                for _ in _inflate(path, handle, member):
                    pass


def _damaged(path: Path, why: str) -> InputError:
    return InputError(f"{path.name}: the workbook is damaged ({why}); open it in Excel and save it again",
                      field="file", value=path.name)  # fmt: skip


def _inflate(path: Path, handle: BinaryIO, member: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes, decompressed here (not trusting its declared size, as the parser does not)."""
    handle.seek(member.header_offset)
    local = handle.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise _damaged(path, f"no local header for {member.filename}")
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    handle.seek(member.header_offset + 30 + name_length + extra_length)
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _damaged(path, f"{member.filename} uses an unusual compression method {member.compress_type}")
    inflater = zlib.decompressobj(-15) if member.compress_type == zipfile.ZIP_DEFLATED else None
    left, produced = member.compress_size, 0
    while left > 0:
        raw = handle.read(min(left, 1 * MB))
        if not raw:
            break
        left -= len(raw)
        block = inflater.decompress(raw, SCAN_BLOCK) if inflater else raw
        while block:
            produced += len(block)
            if produced > member.file_size:
                raise _damaged(path, f"{member.filename} holds more than the {member.file_size:,} bytes it "
                                     "declares, as a decompression bomb would")  # fmt: skip
            yield block
            block = inflater.decompress(inflater.unconsumed_tail, SCAN_BLOCK) if inflater else b""


def _check_not_zip(path: Path) -> None:
    """A file that is not a zip must be a legacy .xls (OLE2) workbook; say what it is otherwise."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: .xls, or an encrypted .xlsx
        return
    if head.startswith(b"PK"):
        raise InputError(
            f"{path.name}: the workbook is incomplete or damaged (its zip directory is missing, as after "
            "an interrupted download); download or save it again",
            field="file", value=path.name,
        )
    kind = "is empty" if not head else "holds text, not a workbook" if b"\x00" not in head else "is not a workbook"
    hint = "; if it is CSV, rename it to .csv" if head and b"\x00" not in head else ""
    raise InputError(
        f"{path.name}: not an Excel workbook: the file {kind}{hint}", field="file", value=path.name
    )


def _refuse(path: Path, what: str, limit: str) -> InputError:
    return InputError(
        f"{path.name}: refused: {what}, beyond what segmint opens ({limit}); it may be a decompression "
        "bomb. If the workbook is genuine, save the sheet as CSV and read that, or raise the limit "
        "(SEGMINT_EXCEL_MAX_MB, SEGMINT_EXCEL_MAX_RATIO, SEGMINT_EXCEL_MAX_CELLS)",
        field="file", value=path.name,
        fix=Fix(option="excel_limits", note="save the sheet as CSV, or raise the Excel limits"),
    )


def _check_sizes(path: Path, members: list[zipfile.ZipInfo], limits: ExcelLimits) -> None:
    total = sum(m.file_size for m in members)
    biggest = max(members, key=lambda m: m.file_size, default=None)
    if biggest is not None and total > limits.max_expanded_mb * MB:
        raise _refuse(
            path,
            f"the {path.stat().st_size / MB:,.1f} MB file expands to {total / MB:,.0f} MB "
            f"({biggest.filename} alone {biggest.file_size / MB:,.0f} MB)",
            f"{limits.max_expanded_mb:,.0f} MB expanded",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 10 * MB and ratio > limits.max_ratio:
            raise _refuse(
                path,
                f"{member.filename} expands {ratio:,.0f} times, from {member.compress_size / MB:,.1f} MB "
                f"to {member.file_size / MB:,.0f} MB",
                f"{limits.max_ratio:,.0f} times",
            )


def _check_extent(path: Path, blocks: Iterator[bytes], member: zipfile.ZipInfo, limits: ExcelLimits) -> None:
    """Scan a sheet's XML for the rows and columns it spans; the parser allocates all of them."""
    max_row = rows = cells = 0
    max_column = 1
    tail = b""
    for block in chain(_chunked(blocks), [None]):
        data = tail + (block or b"")
        cut = len(data) if block is None else data.rfind(b"<", 0, max(len(data) - 256, 0))
        if cut <= 0:  # no tag start yet: keep reading
            tail = data
            continue
        scan, tail = data[:cut], data[cut:]  # a tag cut by the block boundary is scanned next time
        extent = _scan_extent(scan)
        max_row, max_column = max(max_row, extent.max_row), max(max_column, extent.max_column)
        rows, cells = rows + extent.rows, cells + extent.cells
    max_row = max(max_row, rows)
    extent = max_row * max_column
    if extent > limits.max_cells or cells > limits.max_cells:
        sheet = member.filename.rsplit("/", 1)[-1]
        what = (f"{sheet} spans {max_row:,} rows x {max_column:,} columns = {extent:,} cells"
                if extent >= cells else f"{sheet} holds {cells:,} cells")  # fmt: skip
        raise _refuse(path, what, f"{limits.max_cells:,} cells")


class _Extent(NamedTuple):
    max_row: int  # the largest row number a row or cell reference names
    max_column: int  # the largest column number a cell reference names
    rows: int  # row elements
    cells: int  # cell elements


_HUGE = 10**12  # a reference with more letters or digits than any sheet has


def _scan_extent(scan: bytes) -> _Extent:
    """Rows and columns that the ``r`` references of whole tags in ``scan`` name, and the row and cell
    elements it holds, in a few vectorised passes over its bytes (no Python object per cell).

    A reference is ``r="..."`` or ``r='...'`` after white space (``<row r="5">``: a row; ``<c r="AB5">``:
    column AB of row 5); white space around ``=`` is removed first. Letters are read case-blind, 1-5 of
    them, digits up to 11: a longer run counts as beyond every limit. An element is ``<c``/``<row`` (or
    ``<x:c``/``<x:row``) followed by white space, ``>`` or ``/``. A regular-expression scan did the same
    work at about 3 s per 200 MB of sheet XML; this takes about 1 s.
    """
    import numpy as np

    a = np.frombuffer(scan + b"\0" * 24, dtype=np.uint8)  # padding: look-aheads stay inside the array
    equals = np.flatnonzero(a == 61)  # '='
    equals = equals[equals >= 2]
    if (_space(a[equals - 1]) | _space(a[equals + 1])).any():
        # white space around '=' is valid XML (rare): read the same attributes without it
        scan = re.sub(rb"\s*=\s*", b"=", scan)
        a = np.frombuffer(scan + b"\0" * 24, dtype=np.uint8)
        equals = np.flatnonzero(a == 61)
        equals = equals[equals >= 2]
    quote = a[equals + 1]
    start = equals[(a[equals - 1] == 114) & _space(a[equals - 2]) & ((quote == 34) | (quote == 39))] + 2
    column, letters, huge = _run(a, start, 26, 97, 122, longest=5, case_blind=True)  # a=1 .. z=26
    row, _, many = _run(a, start + letters, 10, 48, 57, longest=11)
    opening = a[:-5] == 60  # '<'
    at = np.flatnonzero(opening & (a[1:-4] == 99))  # '<c'
    cells = _ends_name(a[at + 2])
    at = np.flatnonzero(opening & (a[1:-4] == 114))  # '<r'
    rows = (a[at + 2] == 111) & (a[at + 3] == 119) & _ends_name(a[at + 4])
    colons = np.flatnonzero(a == 58)  # ':' of a prefixed name (<x:c>), or anywhere else
    prefixed = colons[np.logical_or(*_named(a, colons))]
    tags = np.flatnonzero(a == 60) if len(prefixed) else prefixed
    if len(prefixed) and len(tags):  # keep those in the name of an opening tag (not </x:c>, not text)
        index = np.searchsorted(tags, prefixed) - 1  # the last '<' before each: -1 when there is none
        prefixed, before = prefixed[index >= 0], tags[index[index >= 0]]
        ends = np.flatnonzero(_ends_name(a))  # not empty: every prefixed name is followed by one
        name_end = ends[np.minimum(np.searchsorted(ends, before), len(ends) - 1)]  # the tag name's end
        opening = (a[before + 1] != 47) & (name_end > prefixed)
        named = _named(a, prefixed[opening])
        cells, rows = np.concatenate([cells, named[0]]), np.concatenate([rows, named[1]])
    return _Extent(
        max_row=_HUGE if huge or many else int(row.max(initial=0)),
        max_column=_HUGE if huge or many else int(column.max(initial=0)),
        rows=int(np.count_nonzero(rows)),
        cells=int(np.count_nonzero(cells)),
    )


def _run(a, at, base: int, low: int, high: int, longest: int, case_blind: bool = False):  # type: ignore[no-untyped-def]
    """(value, length, too long) of the runs of bytes in ``low..high`` starting at positions ``at``, read as
    numbers in ``base`` (digit = byte - ``low`` + ``low != 48``: letters count from 1); longer than
    ``longest`` is too long. In-place updates: no array allocated per byte read but the one looked up."""
    import numpy as np

    value = np.zeros(len(at), np.int64)
    length = np.zeros(len(at), np.int64)
    going = np.ones(len(at), bool)
    position = at.copy()
    offset = 0 if low == 48 else 1
    for _ in range(longest + 1):
        byte = a[position]
        digit = (byte | 0x20 if case_blind else byte) - np.uint8(low)  # below low wraps past 255
        going &= digit <= high - low
        if not going.any():
            return value, length, False
        np.multiply(value, base, out=value, where=going)
        np.add(value, digit + np.uint8(offset), out=value, where=going)
        length += going
        position += 1
    return value, length, True


def _named(a, at):  # type: ignore[no-untyped-def] - numpy arrays
    """(is a ``c`` element, is a ``row`` element) for the names that start after positions ``at``."""
    first = a[at + 1]
    cells = (first == 99) & _ends_name(a[at + 2])
    rows = (first == 114) & (a[at + 2] == 111) & (a[at + 3] == 119) & _ends_name(a[at + 4])
    return cells, rows


def _space(byte):  # type: ignore[no-untyped-def] - numpy arrays of bytes
    return (byte == 32) | (byte == 9) | (byte == 10) | (byte == 13)


def _ends_name(byte):  # type: ignore[no-untyped-def]
    return _space(byte) | (byte == 62) | (byte == 47)  # white space, '>' or '/'


def _chunked(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Blocks of about SCAN_BLOCK bytes (regex scans are cheaper on big blocks)."""
    pending: list[bytes] = []
    size = 0
    for block in blocks:
        pending.append(block)
        size += len(block)
        if size >= SCAN_BLOCK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)
