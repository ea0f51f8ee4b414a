"""One of each: a scan of the source proves each shared rule has exactly one home.

One SQL-quoting helper pair (``segmint.util``), one list of schemes (the registry), one list of
accepted file types (``segmint.io.FORMATS``), one scheme-config builder, and library messages that
never speak in CLI flags.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from segmint.segment import scheme_names

SRC = Path(__file__).resolve().parents[1] / "src" / "segmint"


def _sources() -> dict[str, str]:
    return {str(p.relative_to(SRC)): p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}


def _lines_matching(pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return [
        f"{name}:{number}: {line.strip()}"
        for name, text in _sources().items()
        for number, line in enumerate(text.splitlines(), 1)
        if regex.search(line)
    ]


def test_one_sql_quoting_helper() -> None:
    """Quote-doubling (' -> '' and " -> "") lives in util.sql_string/sql_identifier only."""
    found = _lines_matching(r"""replace\(\s*(["'])(\\?['"])\1\s*,\s*(["'])(\\?['"])\4\3\s*\)""")
    homes = [line for line in found if not line.startswith("util.py:")]
    # io/csv.py re-quotes CSV *cells* (RFC 4180), not SQL
    assert [line for line in homes if not line.startswith("io/csv.py:")] == [], homes
    assert len([line for line in found if line.startswith("util.py:")]) == 2


def test_quoting_helpers_double_quotes() -> None:
    from segmint.util import sql_identifier, sql_string

    assert sql_string("O'Brien") == "'O''Brien'"
    assert sql_identifier('say "hi"') == '"say ""hi"""'


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))]
    return {
        id(node.body[0].value) for node in nodes
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }


def test_schemes_are_listed_only_by_the_registry() -> None:
    """No code outside segment/__init__.py spells out three or more registered schemes.

    A string (help text, message) or a list/dict/set of strings that names them is a hand-kept copy
    of the registry; docstrings and comments (prose) are not scanned.
    """
    names = set(scheme_names())
    assert len(names) >= 4
    word = re.compile(r"\b(" + "|".join(map(re.escape, sorted(names))) + r")\b")
    offenders = []
    for name, text in _sources().items():
        if name == "segment/__init__.py":
            continue
        tree = ast.parse(text)
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                found = set(word.findall(node.value))
            elif isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
                items = node.keys if isinstance(node, ast.Dict) else node.elts
                found = {i.value for i in items if isinstance(i, ast.Constant) and i.value in names}
            else:
                continue
            if len(found) >= 3:
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_one_list_of_accepted_file_types() -> None:
    """Input suffixes are spelled out in io/__init__.py (FORMATS) only; upload and watch read it."""
    suffix = re.compile(r"""["']\.(tsv|xlsm|xlsb|ods|jsonl|ndjson|pq|xml)["']""")
    offenders = [
        f"{name}:{number}"
        for name, text in _sources().items() if name != "io/__init__.py"
        for number, line in enumerate(text.splitlines(), 1)
        if suffix.search(line)
    ]
    assert offenders == []
    from segmint.app.pages.upload import ACCEPT
    from segmint.io import FORMATS

    assert ACCEPT.split(",") == list(FORMATS)


def test_one_scheme_config_builder() -> None:
    """Scheme configs are validated from mappings in one place (segment.Scheme.config -> from_dict)."""
    calls = [line for line in _lines_matching(r"(?<!DataFrame)\.from_dict\(")  # pandas' own is not a config
             if not line.startswith("segment/_config.py")]
    assert len(calls) == 1 and calls[0].startswith("segment/__init__.py"), calls
    constructed = [line for line in _lines_matching(r"\b(RFMConfig|LevelsConfig|TiersConfig|ClusterConfig)\(\s*\w")
                   if " class " not in line]
    assert constructed == [], constructed  # built with settings only through scheme_config


def test_one_revenue_definition() -> None:
    """A customer's revenue is computed once (features: net value of the window); others read the column.

    recommendations/signals.py names the amount of one purchase line ``revenue`` (product sales, not a
    customer's revenue); story_tables.py sums a cohort's per-period net spend (the story grid's ``net``
    column) into the cohort's revenue.
    """
    defined = _lines_matching(r"\brevenue\s*=\s*(money_sum\()?[\w.]*(amount|net_value|net)\b")  # summed to the cent
    assert sorted({line.split(":")[0] for line in defined}) == [
        "features.py", "recommendations/signals.py", "story_tables.py"
    ], defined
    assert len([line for line in defined if line.startswith("story_tables.py")]) == 1
    assert len([line for line in defined if line.startswith("features.py")]) == 1


def test_every_cli_command_is_listed_once_where_it_lives() -> None:
    """``cli.COMMANDS`` is the one list of commands: each names the module defining it, and no CLI module
    defines a command (a function taking Typer options) it does not list; ``--help`` shows them in its order."""
    import importlib

    import typer.models
    from typer.testing import CliRunner

    from segmint.cli import COMMANDS, app

    defined = {}
    for path in sorted(SRC.glob("cli_*.py")):
        module = importlib.import_module(f"segmint.{path.stem}")
        for name, value in vars(module).items():
            if callable(value) and getattr(value, "__module__", None) == module.__name__ and any(
                isinstance(default, typer.models.ParameterInfo)
                for default in getattr(value, "__defaults__", None) or ()
            ):
                defined[name] = module.__name__
    assert defined == COMMANDS
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    listed = [line.split()[1] for line in shown.splitlines() if line.startswith("│ ") and line.split()[1] in COMMANDS]
    assert listed == list(COMMANDS)
