"""Start-up work of the path users run: `segmint analyze FILE --scheme rfm --out DIR` loads no pandas,
scikit-learn, SciPy or plotting library (they cost more than the whole analysis of a small file)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

HEAVY = ("pandas", "sklearn", "scipy", "plotly", "dash", "matplotlib")


def _heavy_modules_loaded(*args: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """Run ``segmint ARGS`` in a fresh interpreter; the ``heavy`` modules it imported."""
    script = textwrap.dedent(f"""
        import sys
        from segmint.cli import app
        sys.argv = ["segmint", *{list(args)!r}]
        try:
            app()
        except SystemExit as exit:
            assert not exit.code, exit.code
        print("LOADED", sorted(name for name in {heavy!r} if name in sys.modules))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("LOADED ")
    return ast.literal_eval(last.removeprefix("LOADED "))


def test_analyze_rfm_loads_no_pandas_or_models(tmp_path):
    source = tmp_path / "sales.csv"
    source.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "A1,c1,2024-01-05,2,10.50\nA2,c2,2024-02-05,1,3.25\nA3,c1,2024-03-01,1,8.00\n"
        "A4,c3,2024-03-02,5,1.10\nA4,c3,2024-03-02,5,1.10\nA5,,2024-03-03,1,2.00\n"
    )
    out = tmp_path / "out"
    # nor pyarrow and numpy (a tenth of a small analyze): small results come from DuckDB's cursor and
    # the summary's shares are summed and divided as Arrow would; nor Rich's progress bar when
    # stderr is no terminal (nothing would be drawn)
    loaded = _heavy_modules_loaded("analyze", str(source), "--scheme", "rfm", "--out", str(out),
                                   heavy=(*HEAVY, "pyarrow", "numpy", "rich.progress"))  # fmt: skip
    assert loaded == []
    written = {path.name for path in out.iterdir()}
    assert {"features.csv", "segments_rfm.csv", "summary_rfm.csv", "data_quality.json"} <= written
    features = (out / "features.csv").read_text().splitlines()
    assert features[0].startswith("customer_id,") and len(features) == 4  # c1, c2, c3 (the blank id dropped)
    text = (out / "features.csv").read_text()  # by hand: snapshot 2024-03-03 (the last kept line + 1 day)
    assert "c1,2,2,29.00,29.00,14.50," in text and "c3,1,1,5.50,5.50,5.50," in text  # the copied A4 line dropped


def test_analyze_rfm_of_a_parquet_log_loads_no_pyarrow(tmp_path):
    """A typed log (timestamps, floats) with a copied line, a cancellation and postage: detection's
    sample, the quality examples, the product rules and the summary come without Arrow."""
    import duckdb

    source = tmp_path / "sales.parquet"
    duckdb.sql(
        "SELECT * FROM (VALUES ('A1', 'c1', TIMESTAMP '2024-01-05 10:00', 'P1', 'MUG', 2, 10.5),"
        " ('A1', 'c1', TIMESTAMP '2024-01-05 10:00', 'P1', 'MUG', 2, 10.5),"
        " ('A2', 'c2', TIMESTAMP '2024-02-05 11:30', 'POST', 'POSTAGE', 1, 3.25),"
        " ('A3', 'c2', TIMESTAMP '2024-02-06 09:00', 'P2', 'CUP', 4, 1.25),"
        " ('CA3', 'c2', TIMESTAMP '2024-02-07 09:00', 'P2', 'CUP', -1, 1.25))"
        " AS t(InvoiceNo, CustomerID, InvoiceDate, StockCode, Description, Quantity, UnitPrice)"
    ).write_parquet(str(source))
    out = tmp_path / "out"
    loaded = _heavy_modules_loaded("analyze", str(source), "--scheme", "rfm", "--out", str(out),
                                   heavy=(*HEAVY, "pyarrow", "numpy"))  # fmt: skip
    assert loaded == []
    text = (out / "features.csv").read_text()
    # by hand: snapshot 2024-02-08 (the last line + 1 day); the copied A1 line dropped (c1: 2 x 10.50,
    # 34 days before); c2: A2 3.25 + A3 5.00 - CA3 1.25 = 7.00 in two purchases, postage no product
    assert "\nc1,34,1,21.00,21.00,21.00,,34,2024-01-05,2024-01-05,1," in text
    assert "\nc2,2,2,7.00,7.00,3.50,,3,2024-02-05,2024-02-06,1," in text
    summary = (out / "summary_rfm.csv").read_text().splitlines()
    assert summary[0].startswith("segment,segment_order,customers,share_of_customers,revenue,share_of_revenue,")
    assert sum(int(line.split(",")[2]) for line in summary[1:]) == 2


def test_the_default_analyze_runs_every_scheme_without_pandas_or_models(tmp_path):
    """`segmint analyze FILE --out DIR` (every scheme: rfm, levels, tiers, k-means clusters, value) loads
    neither pandas nor scikit-learn, nor ``pyarrow.compute`` (Ibis casts a result's column in Arrow when
    its type is not the one Ibis expects: tiers' bucket tables took ~40 ms to import it for a sum), nor
    ``numpy.ma`` (``np.unique`` imports it to test for a masked array);
    the schemes labelled in Python write dates as dates, like the rest."""
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    for c in range(40):  # 40 customers, 1-4 invoices each, spread over two years
        for i in range(1 + c % 4):
            lines.append(f"I{c}-{i},c{c:02d},{2022 + (c + i) % 2}-{1 + (c * 5 + i) % 12:02d}-{1 + c % 27:02d},"
                         f"{1 + i},{(3 + c * 7 % 50) * 1.25:.2f}")
    source = tmp_path / "sales.csv"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert _heavy_modules_loaded("analyze", str(source), "--out", str(out), heavy=(*HEAVY, "pyarrow.compute", "numpy.ma")) == []
    tables = {}
    for name in ("features", "segments_rfm", "segments_tiers", "segments_clusters", "segments_value"):
        rows = (out / f"{name}.csv").read_text().splitlines()
        header = rows[0].split(",")
        tables[name] = {r.split(",")[0]: r.split(",")[header.index("first_purchase")] for r in rows[1:]}
    assert len(tables["features"]) == 40 and tables["features"]["c00"] == "2022-01-01"  # c00: one line, by hand
    for name, first in tables.items():
        assert first == tables["features"], name
    assert {"tiers_kpis.csv", "tiers_buckets_value.csv", "summary_clusters.csv"} <= {p.name for p in out.iterdir()}


def test_results_still_come_when_the_pandas_free_shortcut_cannot_apply(tmp_path):
    """If Ibis' converter module cannot be imported with pandas hidden (another Ibis layout), the
    shortcut steps aside: pandas loads as usual and both Arrow and pandas results work."""
    script = textwrap.dedent("""
        import importlib, sys
        real = importlib.import_module
        def refuse(name, *args, **kwargs):
            if name == "ibis.backends.duckdb.converter" and "ibis.formats.pandas" in sys.modules:
                raise ImportError("simulated: this Ibis needs pandas here")
            return real(name, *args, **kwargs)
        importlib.import_module = refuse
        from segmint import duckdb_backend, engine
        duckdb_backend.arrow_results_without_pandas()
        importlib.import_module = real
        assert sys.modules.get("ibis.formats.pandas", "gone") is not None  # nothing left hidden
        import ibis
        t = ibis.memtable({"x": [1, 2, 3]})
        con = engine.connect()
        print(con.to_pyarrow(t.x.sum()).as_py(), int(con.execute(t.x.sum())))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["6", "6"]


def _run_main(*args: str) -> subprocess.CompletedProcess:
    script = "import sys; from segmint.cli import main; sys.argv = ['segmint', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)


def test_main_leaves_fast_with_the_output_written_and_the_exit_status(tmp_path):
    """``main`` (the ``segmint`` command) skips the interpreter's teardown: everything printed and
    written must still be there, exit handlers still run, and the status is the command's."""
    source = tmp_path / "sales.csv"
    source.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\nA1,c1,2024-01-05,2,10.50\n"
                      "A2,c2,2024-02-05,1,3.25\n")  # fmt: skip
    out = tmp_path / "out"
    run = _run_main("analyze", str(source), "--scheme", "rfm", "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.rstrip().endswith(f"wrote data_quality: {out / 'data_quality.json'}")
    assert (out / "features.csv").read_text().count("\n") == 3  # header + c1 + c2
    missing = _run_main("analyze", str(tmp_path / "missing.csv"))
    assert missing.returncode == 2 and "file not found" in missing.stdout + missing.stderr
    assert _run_main("--version").returncode == 0
    shown = _run_main("analyze", "--help")  # main builds only the command named first
    assert shown.returncode == 0 and "Usage: segmint analyze" in shown.stdout and "--scheme" in shown.stdout
    typo = _run_main("anlyze", "x")
    assert typo.returncode == 2 and "Did you mean 'analyze'?" in typo.stdout + typo.stderr
    handlers = ("import atexit, sys; from segmint.cli import main; atexit.register(print, 'handler ran'); "
                "sys.argv = ['segmint', '--version']; main()")  # fmt: skip
    ran = subprocess.run([sys.executable, "-c", handlers], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and ran.stdout.splitlines()[-1] == "handler ran"


def test_main_imports_only_the_module_of_the_command_it_runs():
    """``main`` keeps the command named first: its module alone of the command modules is imported."""
    script = ("import sys, typer.main; from segmint.cli import app, _only_the_command_given; "
              "_only_the_command_given(['analyze']); typer.main.get_command(app); "
              "print(sorted(m for m in sys.modules if m.startswith('segmint.cli')), "
              "[c.callback.__name__ for c in app.registered_commands])")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == ("['segmint.cli', 'segmint.cli_analyze', 'segmint.cli_options', 'segmint.cli_output'] "
                                  "['analyze']")


def test_main_runs_analyze_without_the_cyclic_collector_and_other_commands_with_it(tmp_path):
    source = tmp_path / "sales.csv"
    source.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\nA1,c1,2024-01-05,2,10.50\n")
    script = ("import atexit, gc, sys; from segmint.cli import main; "
              "atexit.register(lambda: print('collector', gc.isenabled())); sys.argv = ['segmint', *sys.argv[1:]]; main()")
    story = ["analyze", str(source), "--story", "quarter"]
    for args, enabled in ((["analyze", str(source)], False), (story, True), (["--version"], True)):
        run = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.splitlines()[-1] == f"collector {enabled}"


def test_a_segmint_script_calling_app_runs_main(tmp_path):
    """A ``segmint`` script installed before the entry point became ``main`` calls ``app()``: it runs ``main``."""
    source = tmp_path / "sales.csv"
    source.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\nA1,c1,2024-01-05,2,10.50\n")
    script = tmp_path / "bin" / "segmint"
    script.parent.mkdir()
    script.write_text("import atexit, gc, sys\nfrom segmint.cli import app\n"
                      "atexit.register(lambda: print('collector', gc.isenabled()))\n"
                      "if __name__ == '__main__':\n    sys.exit(app())\n")  # fmt: skip
    run = subprocess.run([sys.executable, str(script), "analyze", str(source)], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines()[-1] == "collector False"  # main's analyze: the collector is off


def test_main_compiles_unfused_only_for_inputs_known_small(tmp_path):
    from segmint.io.size import SMALL_TEXT_BYTES

    small = tmp_path / "sales.csv"
    small.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\nA1,c1,2024-01-05,2,10.50\n")
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:  # over the size limit (and not text: the command then fails, as it should)
        handle.truncate(SMALL_TEXT_BYTES + 1)
    script = ("import atexit, sys, ibis; from segmint.cli import main; "
              "atexit.register(lambda: print('fused', ibis.options.sql.fuse_selects)); "
              "sys.argv = ['segmint', *sys.argv[1:]]; main()")  # fmt: skip
    for path, fused, status in ((small, False, 0), (big, True, 2)):
        run = subprocess.run([sys.executable, "-c", script, "analyze", str(path)], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
        assert run.returncode == status, run.stderr[-2000:]
        assert run.stdout.splitlines()[-1] == f"fused {fused}"


def test_analyze_rfm_of_a_workbook_loads_no_pandas(tmp_path):
    """The Excel reader trims and stores cells without turning Python values into Arrow data."""
    import datetime as dt

    import xlsxwriter

    source = tmp_path / "sales.xlsx"
    book = xlsxwriter.Workbook(str(source))
    sheet, stamp = book.add_worksheet("Sales"), book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"])
    for row, (invoice, customer, day, quantity, price) in enumerate(
        [("A1", "c1", 5, 2, 10.5), ("A2", "c2", 6, 1, 3.25), ("A3", " c1 ", 7, 1, 8.0)], start=1
    ):
        sheet.write_row(row, 0, [invoice, customer])
        sheet.write_datetime(row, 2, dt.datetime(2024, 1, day), stamp)
        sheet.write_row(row, 3, [quantity, price])
    book.close()
    out = tmp_path / "out"
    assert _heavy_modules_loaded("analyze", str(source), "--scheme", "rfm", "--out", str(out)) == []
    # by hand: ' c1 ' trimmed to c1 (A1 2 x 10.50 + A3 8.00, last on 01-07, snapshot 01-08)
    assert "c1,1,2,29.00,29.00,14.50," in (out / "features.csv").read_text()


def test_a_second_analyze_imports_no_pyyaml(tmp_path, monkeypatch):
    """The packaged YAML (column synonyms, RFM table, product rules) is parsed by the first run and
    read back as JSON by the next: PyYAML is loaded by the first run only."""
    monkeypatch.setenv("SEGMINT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEGMINT_SQL_CACHE", raising=False)
    source = tmp_path / "sales.csv"
    source.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,StockCode,Description,Quantity,UnitPrice\n"
        "A1,c1,2024-01-05,P1,MUG,2,10.50\nA2,c2,2024-02-05,POST,POSTAGE,1,3.25\n"
    )
    runs = [_heavy_modules_loaded("analyze", str(source), "--scheme", "rfm", "--out", str(tmp_path / f"out{i}"),
                                  heavy=("yaml",)) for i in range(2)]  # fmt: skip
    assert runs == [["yaml"], []]
    assert (tmp_path / "out0" / "features.csv").read_bytes() == (tmp_path / "out1" / "features.csv").read_bytes()


def test_analyze_rfm_reads_no_builtin_signature_and_no_date_hints(tmp_path):
    """pydantic reads a ``list`` default factory's signature from its text (``inspect`` tokenizes it and
    compiles tokenize's patterns: about 6 ms of every run's start); the report's models use a Python
    function. The date layout hints (``segmint.date_hint`` and its patterns) load only when a date was not
    understood: on a file whose dates all read, not at all."""
    source = tmp_path / "sales.csv"
    source.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\nA1,c1,2024-01-05,2,10.50\n"
                      "A2,c2,2024-02-05,1,3.25\n")  # fmt: skip
    script = textwrap.dedent(f"""
        import inspect, sys
        read = []
        from_text = inspect._signature_fromstr
        inspect._signature_fromstr = lambda cls, obj, *rest, **kw: read.append(obj) or from_text(cls, obj, *rest, **kw)
        from segmint.cli import app
        sys.argv = ["segmint", "analyze", {str(source)!r}, "--scheme", "rfm", "--out", {str(tmp_path / "out")!r}]
        try:
            app()
        except SystemExit as exit:
            assert not exit.code, exit.code
        print("READ", [getattr(obj, "__name__", repr(obj)) for obj in read], "segmint.date_hint" in sys.modules)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "READ [] False"
    assert (tmp_path / "out" / "features.csv").read_text().count("\n") == 3  # c1, c2 and the header
