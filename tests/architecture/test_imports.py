"""The package structure holds: no import loop between bot/ packages, domain code free of
Flask and provider SDKs. Read from the source (imports as written), so nothing is run."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"

# Packages that adapt to the outside world: they may import Flask or the providers' SDKs.
ADAPTERS = {"channels", "telegram_bot", "cli"}
FRAMEWORKS = ("flask", "werkzeug", "telegram", "twilio", "webhooks", "scheduler", "apscheduler")
# Pure helpers that happen to ship with a framework (password hashing, no request objects).
ALLOWED = {"werkzeug.security"}


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bot":  # from bot import core -> bot.core
                yield from (f"bot.{alias.name}" for alias in node.names)
            else:
                yield node.module


def _package(path: Path) -> str:
    rel = path.relative_to(BOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in BOT.rglob("*.py"):
        src = _package(path)
        graph.setdefault(src, set())
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "bot" and len(parts) > 1 and parts[1] != src:
                graph[src].add(parts[1])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_loop_between_bot_packages() -> None:
    cycle = _cycle(package_graph())
    assert cycle is None, "import loop between packages: " + " -> ".join(cycle or [])


def test_the_loop_check_finds_a_loop() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("path", sorted(p for p in BOT.rglob("*.py")
                                        if _package(p) not in ADAPTERS),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_code_imports_no_framework_or_provider_sdk(path: Path) -> None:
    bad = sorted({n for n in _imports(path)
                  if n.split(".")[0] in FRAMEWORKS and n not in ALLOWED})
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: keep adapters in channels/ or cli/"
