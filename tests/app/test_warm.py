"""The served dashboard imports the heavy modules pages need first on a background thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_warm_imports_loads_the_page_modules_and_skips_missing_ones():
    script = textwrap.dedent("""
        import sys
        from segmint.app.server import WARM_MODULES, warm_imports
        assert "sklearn.linear_model" in WARM_MODULES
        before = "sklearn.linear_model" in sys.modules
        warm_imports((*WARM_MODULES, "no_such_module_segmint"))
        print(before, all(name in sys.modules for name in WARM_MODULES))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["False", "True"]  # not loaded by importing the app; loaded by warming


def test_the_dashboard_command_warms_before_serving(monkeypatch):
    """`segmint dashboard` starts the warming thread, then serves (waitress is replaced here)."""
    import waitress

    from segmint.app import server
    from segmint.cli import app
    from typer.testing import CliRunner

    calls: list[str] = []
    monkeypatch.setattr(server, "warm_in_background", lambda: calls.append("warm"))
    monkeypatch.setattr(waitress, "serve", lambda *a, **k: calls.append("serve"))
    result = CliRunner().invoke(app, ["dashboard", "--port", "8799"])
    assert result.exit_code == 0, result.output
    assert calls == ["warm", "serve"]
