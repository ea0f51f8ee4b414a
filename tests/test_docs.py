"""README.md and docs/: the commands, flags and module paths a user copies exist as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer.main

from segmint.cli import app

ROOT = Path(__file__).parents[1]
NOT_MODULES = {"clv.py", "recommend.py"}  # named as what the package is not ("`btyd/` (not `clv.py`)")


def command_lines(text: str) -> list[str]:
    """Every `segmint ...` line of the fenced blocks (continuations joined, comments cut)."""
    lines: list[str] = []
    fenced = False
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced and line.startswith("segmint "):
            lines.append(line.split("  #")[0].strip())
    return lines


def test_every_readme_command_uses_flags_its_command_has():
    group = typer.main.get_command(app)
    lines = command_lines((ROOT / "README.md").read_text())
    assert len(lines) >= 15, lines  # the command-line, credit and CLV blocks
    for line in lines:
        words = shlex.split(line)
        command = group.commands[words[1]]  # KeyError: no such command
        flags = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        used = {word.split("=")[0] for word in words[2:] if word.startswith("-")}
        assert used <= flags, (line, used - flags)


def test_every_path_the_docs_name_exists():
    text = (ROOT / "README.md").read_text() + (ROOT / "docs" / "architecture.md").read_text()
    # a path outside the repository (docs/architecture.md named `../shared/STYLE.md`) exists in no clone
    outside = re.findall(r"`(\.\./[^`]*)`|\]\((\.\./[^)]*)\)", text)
    assert not outside, outside
    paths = set(re.findall(r"`((?:src/|docs/|tests/|benchmarks/)[\w/.-]+)`", text))
    assert paths, "the docs name no path"
    for path in sorted(paths):
        if "*" not in path:
            assert (ROOT / path).exists(), path
    modules = set(re.findall(r"`((?:segmint/|app/|io/|credit/|segment/|btyd/)?[a-z_]+(?:/[a-z_]+)*\.(?:py|yaml))`", text))
    assert len(modules) > 40, modules
    package = ROOT / "src" / "segmint"
    files = {str(f.relative_to(package)) for f in package.rglob("*") if f.suffix in (".py", ".yaml")}
    for module in sorted(modules - NOT_MODULES):
        if module.startswith(("docs/", "src/", "tests/", "benchmarks/")):
            continue  # checked above
        name = module.removeprefix("segmint/")
        # a bare name (`story_rows.py`, `strategies.yaml`) may sit in any subpackage
        assert name in files or any(f.endswith("/" + name) for f in files), module


def documented_calls(text: str) -> dict[str, list[str]]:
    """name -> parameter names of each signature written at the start of a line in the python blocks."""
    calls: dict[str, list[str]] = {}
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    for block in blocks:
        for match in re.finditer(r"^([A-Za-z_]\w*)\(", block, re.M):
            depth, end = 0, match.end() - 1
            for end in range(match.end() - 1, len(block)):
                depth += {"(": 1, ")": -1}.get(block[end], 0)
                if depth == 0:
                    break
            inner = block[match.end():end]
            pieces, depth, current = [], 0, ""
            for char in inner:
                depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(char, 0)
                if char == "," and depth == 0:
                    pieces.append(current)
                    current = ""
                else:
                    current += char
            pieces.append(current)
            names = [re.match(r"\s*(\w+)", piece).group(1) for piece in pieces if re.match(r"\s*\w+", piece)]
            calls[match.group(1)] = names
    return calls


def test_the_architecture_signatures_name_real_parameters():
    import inspect

    from segmint import api, io, schema
    from segmint.clean import clean_transactions
    from segmint.features import customer_features
    from segmint.io.ledger import read_ledger
    from segmint.periods import period_features
    from segmint.segment import register_scheme, scheme_config
    from segmint.story import build_story, transitions
    from segmint.workspace import Workspace

    functions = {
        "read_raw": io.read_raw, "detect_mapping": schema.detect_mapping, "resolve_mapping": schema.resolve_mapping,
        "apply_mapping": schema.apply_mapping, "clean_transactions": clean_transactions,
        "read_transactions": api.read_transactions, "analyze": api.analyze, "story": api.story,
        "customer_features": customer_features, "period_features": period_features, "build_story": build_story,
        "transitions": transitions, "register_scheme": register_scheme, "scheme_config": scheme_config,
        "Workspace": Workspace, "recommend": api.recommend, "read_ledger": read_ledger, "credit": api.credit,
    }  # fmt: skip
    calls = documented_calls((ROOT / "docs" / "architecture.md").read_text())
    assert set(functions) <= set(calls), set(functions) - set(calls)
    for name, function in functions.items():
        real = set(inspect.signature(function).parameters)
        assert set(calls[name]) <= real, (name, set(calls[name]) - real)
