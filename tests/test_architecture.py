"""The layout rules of docs/architecture.md, checked on the source so a change that breaks one fails here.

- no module of `gate/` over 700 lines, no command module over 250 (commands parse, call, map to an exit code);
- `gate/stats` and `gate/verdict` import no view (report), publisher or Action code, even lazily;
- no import circle between modules through their module-level imports (lazy imports inside functions
  are the deliberate way to keep start-up fast and are not counted).
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATE = ROOT / "gate"


def _modules() -> dict[str, Path]:
    out = {}
    for path in GATE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path, *, top_level_only: bool) -> set[str]:
    """The gate modules `name` imports (``from . import x`` counts as the submodule x when it exists)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gate"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("gate"):
                continue
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES]
            found.update(subs or [mod])
    return {m for m in found if m in MODULES and m != name}


def test_no_module_is_too_long():
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert not {n: k for n, k in long.items() if k > 700}
    assert not {n: k for n, k in long.items() if n.startswith("gate.commands.") and k > 250}


@pytest.mark.parametrize("layer", ["gate.stats", "gate.verdict"])
def test_the_decision_layers_import_no_view(layer):
    views = ("gate.report", "gate.publish", "gate.action", "gate.commands", "gate.pipeline")
    bad = {n: sorted(m for m in _imports(n, p, top_level_only=False) if m.startswith(views))
           for n, p in MODULES.items() if n == layer or n.startswith(layer + ".")}
    assert not {n: v for n, v in bad.items() if v}


def test_no_import_circle():
    graph = {n: _imports(n, p, top_level_only=True) for n, p in MODULES.items()}
    # a package importing its own submodules to re-export them is the package's interface, not a circle
    for n in graph:
        graph[n] = {m for m in graph[n] if not (m.startswith(n + ".") or n.startswith(m + "."))}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                circles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m, stack + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert not circles, circles


def test_the_rules_are_the_documented_ones():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert os.path.basename(__file__) in doc or "test_architecture" in doc
