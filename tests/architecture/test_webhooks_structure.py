"""webhooks/ stays a thin adapter with one way in to the runtime: blueprints import
`webhooks.context`, never read `current_app.extensions` or import inside functions (the sign
of a dodged cycle), and the API does not lean on the dashboard."""

from __future__ import annotations

import ast
from pathlib import Path

WEBHOOKS = Path(__file__).resolve().parents[2] / "webhooks"


def _modules() -> list[Path]:
    return sorted(WEBHOOKS.rglob("*.py"))


def _top_level_imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_no_imports_inside_functions() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found += [f"{path.relative_to(WEBHOOKS)}:{inner.lineno} in {node.name}()"
                          for inner in ast.walk(node)
                          if isinstance(inner, ast.Import | ast.ImportFrom)]
    assert found == []


def test_only_the_context_module_reads_app_extensions() -> None:
    offenders = [str(p.relative_to(WEBHOOKS)) for p in _modules()
                 if p.name != "context.py" and ".extensions[" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_the_api_does_not_import_the_dashboard() -> None:
    imports = _top_level_imports(ast.parse((WEBHOOKS / "api.py").read_text(encoding="utf-8")))
    assert not any(name.startswith("webhooks.dashboard") for name in imports), imports
    assert "webhooks.context" in imports
