"""Imports flow downward only, as ARCHITECTURE.md says."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "distillshield"

# a module may import itself and anything listed after it
LAYERS = ["cli", "lab", "audit", "server", "gateway", "console", "detect", "backends", "watermark", "store", "records", "errors"]


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
