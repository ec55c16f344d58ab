"""The house rules a newcomer relies on: layers point one way, no import cycle, no file does five jobs.

Layers, lowest first: `extract` (XML -> lake, no Dagster) <- `synth` (the generator writes what the
message model describes) and `deliver` (delivery folders from the served warehouse) <-
`orchestration` (Dagster, the CLI). A module may import its own package and lower layers only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"extract": 0, "synth": 1, "deliver": 1, "orchestration": 2}
# Declarative tables exempt from the size rule: the message model and the generator's parameters.
LONG_ALLOWED = {"extract/model/messages.py", "synth/parameters.py"}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, module: str, *, top_level_only: bool) -> set[str]:
    """Project modules a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
            base = base.strip(".")
            # `from pkg import mod` depends on pkg.mod, `from pkg import name` on pkg itself.
            names.update(f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names)
    return {n for n in names if n.split(".")[0] in LAYERS}


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def test_layers_point_one_way():
    modules = _modules()
    upward = []
    for module, path in modules.items():
        layer = module.split(".")[0]
        for imported in _imports(path, module, top_level_only=False):
            target = imported.split(".")[0]
            if target != layer and LAYERS[target] >= LAYERS[layer]:
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not upward, "imports from a lower (or peer) layer to a higher one:\n" + "\n".join(upward)


def test_extract_has_no_dagster():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "extract").rglob("*.py")
        if any(n.startswith("dagster") for n in _all_imports(p))
    ]
    assert not offenders


def _all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_import_cycle():
    """Module-level imports only: an import inside a function is how a cycle is broken on purpose."""
    modules = _modules()
    graph = {
        m: {r for i in _imports(p, m, top_level_only=True) if (r := _resolve(i, modules)) and r != m}
        for m, p in modules.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("package", [*sorted(LAYERS), "benchmarks"])
def test_no_file_does_five_jobs(package):
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and str(p.relative_to(ROOT)) not in LONG_ALLOWED
    }
    assert not long, f"split these by job (over {MAX_LINES} lines): {long}"
