"""The ``segmint`` command imports what cleaning needs in a second thread while DuckDB reads its file; a
library caller imports as before, and an import that fails in that thread fails the same way for the user."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SALES = "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\nA1,c1,2024-01-05,2,10.50\nA2,c2,2024-02-05,1,3.25\n"

# a finder noting which thread imports segmint.clean first, or refusing it (BROKEN set) as a broken install would
HOOK = textwrap.dedent("""
    import sys, threading
    BROKEN = {broken!r}
    class Note:
        def find_spec(self, name, path=None, target=None):
            if name == "segmint.clean":
                print("IMPORTING", threading.current_thread().name, file=sys.stderr, flush=True)
                if BROKEN:
                    raise ImportError("segmint.clean is broken")
            return None
    sys.meta_path.insert(0, Note())
""")


def _run(code: str, *, broken: bool = False) -> subprocess.CompletedProcess[str]:
    script = HOOK.format(broken=broken) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)


def _importers(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split(" ", 1)[1] for line in run.stderr.splitlines() if line.startswith("IMPORTING ")]


def test_the_command_imports_cleaning_in_a_second_thread_with_the_same_results(tmp_path):
    (tmp_path / "sales.csv").write_text(SALES)
    command = f"""
        from segmint.cli import main
        sys.argv = ["segmint", "analyze", {str(tmp_path / "sales.csv")!r}, "--scheme", "rfm",
                    "--out", {str(tmp_path / "out")!r}]
        main()
    """
    run = _run(command)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _importers(run) == ["segmint-imports"]
    # by hand: c1 2 x 10.50 = 21.00 on 2024-01-05, 26 + 6 = 32 days before the snapshot 2024-02-06
    assert "\nc1,32,1,21.00,21.00,21.00," in (tmp_path / "out" / "features.csv").read_text()


def test_a_library_caller_starts_no_thread(tmp_path):
    (tmp_path / "sales.csv").write_text(SALES)
    library = f"""
        import segmint
        tx = segmint.read_transactions({str(tmp_path / "sales.csv")!r})
        print("ROWS", tx.table.count().execute())
    """
    run = _run(library)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _importers(run) == ["MainThread"]
    assert "ROWS 2" in run.stdout


def test_an_import_failing_in_the_thread_fails_the_command_with_the_same_error(tmp_path):
    (tmp_path / "sales.csv").write_text(SALES)
    command = f"""
        import segmint.background_imports as background
        if {{threaded}} is False:
            background.allow = lambda *modules: None  # as before: the main thread alone imports
        from segmint.cli import main
        sys.argv = ["segmint", "analyze", {str(tmp_path / "sales.csv")!r}, "--scheme", "rfm"]
        main()
    """
    threaded = _run(command.replace("{threaded}", "True"), broken=True)
    alone = _run(command.replace("{threaded}", "False"), broken=True)
    assert _importers(threaded) == ["segmint-imports", "MainThread"]  # tried in the thread, raised in the main one
    assert _importers(alone) == ["MainThread"]
    assert threaded.returncode == alone.returncode == 1
    assert threaded.stderr.splitlines()[-1] == alone.stderr.splitlines()[-1] == "ImportError: segmint.clean is broken"
