"""Uploads: a file streamed to its session's folder once, read once, then mapped and cleaned on request.

The browser sends the file's bytes in one POST to ``UPLOAD_ROUTE`` (not base64 through a callback),
so the server writes it to disk in 1 MiB blocks and never holds it whole in memory. The file is read
into its own DuckDB connection once; editing the mapping re-cleans that table, not the file.
Responses name uploads by token and file name, never by server path.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmint.errors import InputError

log = logging.getLogger(__name__)

UPLOAD_ROUTE = "_segmint/upload"
BLOCK = 2**20
UPLOAD_MEMORY_LIMIT = "1GB"  # per upload's DuckDB database; a server holds many sessions' uploads


def safe_filename(name: str) -> str:
    """A file name without directories or odd characters (keeps the extension)."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "upload"
    return stem[:120]


@dataclass
class Upload:
    """One uploaded file of one session: where it is, and (once read) its raw table and cleaning."""

    token: str
    filename: str
    path: Path
    size: int
    raw: Any = None  # segmint.io.RawTable, read once into ``con``
    con: Any = None
    detected: Any = None  # segmint.schema.MappingResult for the raw columns
    cleaned: Any = None  # segmint.api.Transactions with the detected mapping (None if that failed)
    ledger: Any = None  # segmint.io.ledger.LedgerReport when the file is a ledger (its sales view is read)
    credit_ledger: Any = None  # segmint.io.ledger.Ledger of a ledger file: its vouchers for the Credit page
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def read(self) -> None:
        """Read the file (once) and clean it with the detected mapping."""
        from segmint.api import clean_raw
        from segmint.engine import connect
        from segmint.io.ledger import read_sales_and_ledger
        from segmint.schema import detect_mapping

        with self.lock:
            if self.raw is not None:
                return
            # its own database file beside the upload: memory stays bounded, the rest spills to disk
            con = connect("duckdb", path=self.path.parent / "upload.duckdb", memory_limit=UPLOAD_MEMORY_LIMIT,
                          temp_directory=self.path.parent / "spill")  # fmt: skip
            # a ledger (Day Book, Ledger Account): only its sales vouchers net of credit notes are
            # sales, as in `segmint analyze` and segmint.read_transactions; the same read's vouchers feed
            # the Credit page, as `segmint credit` reads them (None when they cannot be read as a ledger)
            raw, self.ledger, self.credit_ledger = read_sales_and_ledger(self.path, con=con)
            self.detected = detect_mapping(raw.columns, raw.sample(500))
            self.raw, self.con = raw, con
            try:
                self.cleaned = clean_raw(raw, con=con, ledger=self.ledger)
            except Exception as exc:  # noqa: BLE001 - the user fixes the mapping, then runs
                self.cleaned = exc

    def clean(self, fields: dict[str, str], date_format: str | None = None, unpriced: bool = False) -> Any:
        """Transactions for the user's mapping and date layout (reuses the detected cleaning when it is the same);
        ``unpriced``: a file without amounts or prices (a basket log) values each line at its quantity."""
        from segmint.api import Transactions, clean_raw
        from segmint.clean_options import CleanOptions
        from segmint.schema import ColumnMapping

        self.read()
        with self.lock:
            if (isinstance(self.cleaned, Transactions) and self.cleaned.mapping.fields == fields and not date_format
                    and not unpriced):
                return self.cleaned
            mapping = ColumnMapping(fields=fields, date_format=date_format)
            options = CleanOptions(unpriced="units") if unpriced else None
            return clean_raw(self.raw, con=self.con, mapping=mapping, options=options, ledger=self.ledger)

    def close(self) -> None:
        """Forget the raw table (its connection goes once no dataset uses it)."""
        self.raw = self.cleaned = self.detected = self.ledger = self.credit_ledger = None


def receive(stream: Any, length: int | None, folder: Path, filename: str, max_mb: float) -> Upload:
    """Write the request body ``stream`` to ``folder/<token>/<filename>`` in blocks, checking the size."""
    name = safe_filename(filename)
    limit = int(max_mb * 2**20)
    if length is not None and length > limit:
        raise InputError(_too_big(name, length, max_mb), field="file", value=name)
    token = secrets.token_hex(8)
    target = folder / token / name
    target.parent.mkdir(parents=True)
    written = 0
    try:
        with target.open("wb") as out:
            while block := stream.read(BLOCK):
                written += len(block)
                if written > limit:
                    raise InputError(_too_big(name, written, max_mb), field="file", value=name)
                out.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        target.parent.rmdir()
        raise
    if written == 0:
        target.unlink()
        target.parent.rmdir()
        raise InputError(f"{name} is empty (0 bytes); choose the file again", field="file", value=name)
    log.info("upload %s: %s, %d bytes", token, name, written)
    return Upload(token=token, filename=name, path=target, size=written)


def _too_big(name: str, size: int, max_mb: float) -> str:
    return (f"{name} is more than {max_mb:g} MB ({size / 2**20:,.1f} MB); the upload limit is {max_mb:g} MB. "
            "Start the dashboard with a higher upload limit, or open big files directly")  # fmt: skip


def scrub(text: str, upload: Upload | None) -> str:
    """``text`` without the server's folder names (only the file name stays)."""
    if upload is None:
        return text
    for form in (str(upload.path), str(upload.path.parent), str(upload.path.parent.parent)):
        text = text.replace(form + "/", "").replace(form, upload.filename)
    return text


def register_route(server: Any, state: Any, max_upload_mb: float, prefix: str = "/") -> None:
    """The POST route the upload page sends files to (raw bytes; ``?name=`` carries the file name)."""
    from flask import jsonify, request

    from segmint.app.sessions import current_session_id

    def receive_upload() -> Any:
        session = state.sessions.touch(current_session_id() or state.sessions.new_id())
        try:
            upload = receive(request.stream, request.content_length, session.folder,
                             request.args.get("name", ""), max_upload_mb)  # fmt: skip
        except InputError as exc:
            return jsonify(error=str(exc)), 413
        session.uploads[upload.token] = upload
        return jsonify(token=upload.token, filename=upload.filename, size=upload.size)

    server.add_url_rule(prefix + UPLOAD_ROUTE, "segmint_upload", receive_upload, methods=["POST"])
