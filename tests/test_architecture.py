"""Imports flow downward only, as ARCHITECTURE.md says."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "distillshield"

# a module may import itself and anything listed after it
LAYERS = ["cli", "lab", "audit", "server", "gateway", "console", "detect", "backends", "watermark", "models", "store", "records", "errors"]


def _layer_of(module_path: Path) -> str:
    relative = module_path.relative_to(PACKAGE)
    name = relative.parts[0].removesuffix(".py")
    return {"__init__": "errors", "__main__": "cli"}.get(name, name)


def _imported_layers(module_path: Path) -> set[str]:
    tree = ast.parse(module_path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("distillshield."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("distillshield."))
    return found


def test_every_module_belongs_to_a_layer():
    for module_path in PACKAGE.rglob("*.py"):
        assert _layer_of(module_path) in LAYERS, module_path


def test_imports_only_flow_downward():
    for module_path in PACKAGE.rglob("*.py"):
        layer = _layer_of(module_path)
        allowed = set(LAYERS[LAYERS.index(layer):])
        for imported in _imported_layers(module_path):
            assert imported in allowed, f"{module_path.relative_to(PACKAGE)} imports {imported} (layer {layer})"


def _module_name(module_path: Path) -> str:
    parts = ("distillshield", *module_path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _reexports(modules: dict[str, Path]) -> dict[tuple[str, str], str]:
    """(package, name) -> the module a package's __init__ takes the name from."""
    found = {}
    for name, path in modules.items():
        if path.name != "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                for alias in node.names:
                    found[(name, alias.asname or alias.name)] = node.module
    return found


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports (anywhere in it, at the top or inside a function), packages' names
    resolved to the module that defines them, so that importing through a package is not a cycle."""
    modules = _modules()
    reexports = _reexports(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules if modules[name].name != "__init__.py"}
    for name in graph:
        for node in ast.walk(ast.parse(modules[name].read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("distillshield"):
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    targets.append(submodule if submodule in modules else
                                   reexports.get((node.module, alias.name), node.module))
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.startswith("distillshield")]
            graph[name].update(target for target in targets if target in graph and target != name)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_through_others():
    assert import_cycles(_import_graph()) == []
