"""Hostile and odd input files, each run through the CLI: the right rows, or one clear screen of error.

Every case lives in ``tests/fixtures/hostile/`` as ``NAME.expect.yaml`` plus its data file ``NAME.<ext>``
(or, for big files, a ``generate:`` entry naming a function in ``_generate.py`` that writes the file at
test time, so nothing big is committed). Add a case by adding files; this runner needs no change.
The sidecar's keys (see ``README.md`` in that folder):

    about: what the case is (one line)
    command: ingest            # or analyze; default ingest (quality report + workspace)
    args: [--map, "Amt=amount"]   # extra CLI arguments
    env: {SEGMINT_EXCEL_MAX_MB: "50"}
    generate: {function: excel_bomb, suffix: .xlsx, args: {megabytes: 1000}}
    limits: {address_space_gib: 3, seconds: 60}   # run in a child process under these limits
    xfail: why it fails today  # a known gap: the case is run and expected to fail
    # exactly one outcome:
    rows:                      # the file is read: what the quality report and the workspace hold
      kept: 3                  # rows kept (= lines stored)
      read: 4                  # rows the report counts in (optional)
      dropped: {bad_amount: 1} # drop reason -> rows (optional; unlisted reasons must be absent)
      customers: 2             # distinct customers stored (optional)
      total_amount: 31.5       # sum of amounts stored, to the cent (optional)
      lines:                   # stored lines, compared on the fields given (optional, any order)
        - {customer_id: c1, invoice_date: 2023-01-05, amount: 1500}
    error: [refused, entities] # the run fails (exit 2): words the message must contain

Whatever the outcome, no traceback is printed and an error fits one screen and names the file.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

CORPUS = Path(__file__).parent / "fixtures" / "hostile"
SCREEN_LINES = 25  # an error must fit one terminal screen
KEYS = {"about", "command", "args", "env", "generate", "limits", "xfail", "rows", "error"}


def _cases() -> list[Any]:
    params = []
    for sidecar in sorted(CORPUS.glob("*.expect.yaml")):
        name = sidecar.name.removesuffix(".expect.yaml")
        spec = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        marks = [pytest.mark.xfail(reason=str(spec["xfail"]), strict=True)] if spec.get("xfail") else []
        params.append(pytest.param(name, spec, id=name, marks=marks))
    return params


def _data_file(name: str, spec: dict[str, Any], tmp_path: Path) -> Path:
    """The case's input: the committed sibling file, or one written by its generator."""
    generate = spec.get("generate")
    if generate:
        loaded = importlib.util.spec_from_file_location("hostile_generate", CORPUS / "_generate.py")
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
        target = tmp_path / "input" / f"{name}{generate.get('suffix', '')}"
        target.parent.mkdir()
        getattr(module, generate["function"])(target, **generate.get("args", {}))
        return target
    found = [p for p in CORPUS.glob(f"{name}.*") if not p.name.endswith((".expect.yaml", ".md"))]
    assert len(found) == 1, f"case {name}: expected one data file beside the sidecar, found {found}"
    return found[0]


def _limit_address_space(gib: float) -> Any:
    def apply() -> None:
        size = int(gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return apply


def _run(spec: dict[str, Any], source: Path, tmp_path: Path) -> tuple[int, str]:
    """Run the CLI on ``source``; (exit code, everything it printed)."""
    command = spec.get("command", "ingest")
    args = [command, str(source)]
    if command == "ingest":
        args += ["--workspace", str(tmp_path / "ws.duckdb"), "--report-dir", str(tmp_path / "reports")]
    elif command == "analyze":
        args += ["--out", str(tmp_path / "out")]
    args += [str(a) for a in spec.get("args", [])]
    env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
    limits = spec.get("limits") or {}
    if not limits:
        from typer.testing import CliRunner

        from segmint.cli import app

        result = CliRunner().invoke(app, args, env=env or None)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback is a failure of the case
        return result.exit_code, result.output
    done = subprocess.run(
        [sys.executable, "-m", "segmint.cli", *args], capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "120", **env}, timeout=float(limits.get("seconds", 120)),
        preexec_fn=_limit_address_space(limits["address_space_gib"]) if "address_space_gib" in limits else None,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("name", "spec"), _cases())
def test_hostile_case(name: str, spec: dict[str, Any], tmp_path: Path) -> None:
    unknown = set(spec) - KEYS
    assert not unknown, f"{name}.expect.yaml: unknown keys {sorted(unknown)}; known: {sorted(KEYS)}"
    assert spec.get("about"), f"{name}.expect.yaml: say what the case is under 'about:'"
    assert ("rows" in spec) != ("error" in spec), f"{name}.expect.yaml: give exactly one of rows: or error:"
    source = _data_file(name, spec, tmp_path)
    started = dt.datetime.now()
    code, output = _run(spec, source, tmp_path)
    elapsed = (dt.datetime.now() - started).total_seconds()
    assert "Traceback" not in output and "panicked" not in output, output
    assert code in (0, 2), f"exit code {code} (a crash, not a clean result or error):\n{output}"
    if "seconds" in (spec.get("limits") or {}):
        assert elapsed <= float(spec["limits"]["seconds"])
    if "error" in spec:
        _check_error(spec, source, code, output)
    else:
        assert code == 0, output
        _check_rows(spec["rows"], source, spec.get("command", "ingest"), tmp_path)


def _check_error(spec: dict[str, Any], source: Path, code: int, output: str) -> None:
    assert code == 2, f"expected a clean error, got exit code {code}:\n{output}"
    message = output[output.find("error:"):] if "error:" in output else output
    flat = " ".join(message.split()).lower()
    assert source.name.lower() in flat, f"the error does not name the file {source.name}:\n{message}"
    assert len(message.strip().splitlines()) <= SCREEN_LINES, f"the error is longer than a screen:\n{message}"
    words = spec["error"] if isinstance(spec["error"], list) else [spec["error"]]
    for word in words:
        assert str(word).lower() in flat, f"the error does not say {word!r}:\n{message}"


def _check_rows(expected: dict[str, Any], source: Path, command: str, tmp_path: Path) -> None:
    if command == "ingest":
        report = json.loads((tmp_path / "reports" / f"{source.name}.quality.json").read_text())
        with duckdb.connect(str(tmp_path / "ws.duckdb"), read_only=True) as db:
            lines = db.execute("SELECT * FROM transactions").df()
    else:
        report = json.loads((tmp_path / "out" / "data_quality.json").read_text())
        lines = None
    assert report["rows_kept"] == expected["kept"], report
    if "read" in expected:
        assert report["rows_in"] == expected["read"], report
    if "dropped" in expected:
        dropped = {reason: d["count"] for reason, d in report["dropped"].items()}
        assert dropped == expected["dropped"], report["dropped"]
    if lines is None:
        return
    assert len(lines) == expected["kept"]
    if "customers" in expected:
        assert lines.customer_id.nunique() == expected["customers"]
    if "total_amount" in expected:
        assert round(lines.amount.sum(), 2) == pytest.approx(float(expected["total_amount"]), abs=0.005)
    if "lines" in expected:
        _check_lines(expected["lines"], lines)


def _check_lines(wanted: list[dict[str, Any]], lines: Any) -> None:
    fields = sorted({f for line in wanted for f in line})

    def normal(value: Any) -> Any:
        if value is None or value != value:  # None or NaN
            return None
        if isinstance(value, (dt.date, dt.datetime)) or hasattr(value, "isoformat"):
            text = value.isoformat()
            return text[:10] if text.endswith("T00:00:00") or len(text) == 10 else text
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return round(float(value), 6)
        return value

    got = sorted((tuple(normal(row[f]) for f in fields) for _, row in lines.iterrows()), key=repr)
    want = sorted((tuple(normal(line.get(f)) for f in fields) for line in wanted), key=repr)
    assert got == want, f"stored lines differ on {fields}:\n got  {got}\n want {want}"
