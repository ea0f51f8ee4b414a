"""Small shared helpers: atomic file output, reading YAML settings, the table formats segmint writes, SQL quoting."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EXPORT_FORMAT_NAMES: tuple[str, ...] = ("csv", "json", "xlsx", "parquet")  # table formats segmint writes


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600 files; outputs get normal permissions
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _mode_for(target: Path) -> int:
    """The permissions an output gets: those of the file it replaces, else 0666 minus the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask, read without changing it (Linux exposes it in /proc; else set and restore)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(target: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    return write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def parse_packaged_yaml(text: str) -> Any:
    """Parse YAML shipped with segmint (trusted, known-good) with libyaml's C loader when present.

    About 8x faster than the pure-Python loader on the synonym and rule tables read at every start;
    users' files keep ``yaml.safe_load`` and its messages. The parsed value is kept as JSON beside the
    SQL cache (:mod:`segmint.sql_cache`, keyed by the text) when JSON holds it exactly: a later run
    reads it without importing PyYAML (importing and parsing were about 0.02 s of a small ``analyze``).
    """
    import json

    from segmint import sql_cache

    path = sql_cache.entry_path("yaml", hashlib.sha256(text.encode()).hexdigest() + ".json")
    stored = sql_cache.read_entry(path) if path is not None else None
    if stored is not None:
        try:
            return json.loads(stored)
        except ValueError:  # corrupt: parsed again and rewritten
            pass
    import yaml

    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    if path is not None:
        try:
            encoded = json.dumps(data, ensure_ascii=False)
        except (TypeError, ValueError):  # a date, a set ...: not JSON
            encoded = None
        if encoded is not None and json.loads(encoded) == data:  # e.g. a number as a key would come back text
            sql_cache.write_entry(path, encoded)
    return data


def read_yaml_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """Top-level mapping of a YAML file (empty file -> {}); ConfigError naming ``what`` otherwise."""
    import yaml

    from segmint.errors import ConfigError

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected {what} as a mapping of settings (key: value) at the top level")
    return data


def check_export_format(fmt: str) -> str:
    """``fmt`` without a leading dot when it is csv, json, xlsx or parquet; ConfigError naming it otherwise."""
    from segmint.errors import ConfigError, Fix

    name = str(fmt).lower().lstrip(".")
    if name not in EXPORT_FORMAT_NAMES:
        raise ConfigError(
            f"format {fmt!r} is not supported; choose {', '.join(EXPORT_FORMAT_NAMES)}",
            field="fmt", value=fmt, fix=Fix(option="fmt", choices=EXPORT_FORMAT_NAMES),
        )
    return name


def arrow_result(expr: Any) -> Any:
    """The result of an Ibis table expression as an Arrow table.

    DuckDB's comes straight from the engine (no pandas). Other backends' go through Ibis' pandas
    conversion, which accepts what they return: PostgreSQL gives means and sums of integers as
    numeric (Decimal) where Ibis' schema says float64, which Arrow refuses.
    """
    if getattr(expr._find_backend(use_default=True), "name", "") == "duckdb":
        return expr.to_pyarrow()
    import pyarrow as pa

    return pa.Table.from_pandas(expr.execute(), preserve_index=False)


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (single quotes doubled): the one place segmint quotes SQL text."""
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (double quotes doubled): any column name is safe."""
    return '"' + name.replace('"', '""') + '"'


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with its noun in the right number: "1 customer", "2,310 customers", "0 credit notes"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def whole_percent(value: float) -> str:
    """A share in whole percent that never rounds a non-zero share to "0%" or a partial one to "100%":
    "<1%" / ">99%" instead (a migration cell of 15 of 3,157 customers), "" when missing (NaN)."""
    if value != value:
        return ""
    if 0 < value < 0.005:
        return "<1%"
    if 0.995 <= value < 1:
        return ">99%"
    return f"{value:.0%}"


def share(part: float, whole: float) -> str:
    """``part / whole`` as a percentage people can read: 0.0% only for zero, "<0.1%" for a sliver, "-" when
    undefined (no whole, or a part that is missing: NaN)."""
    if not whole or part != part:
        return "-"
    value = part / whole
    if 0 < value < 0.001:
        return "<0.1%"
    if 0.999 < value < 1:
        return ">99.9%"
    return f"{value:.1%}"
