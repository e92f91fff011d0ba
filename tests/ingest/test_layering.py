"""ingest/ is the lower layer: it imports only the core modules of assist, never the domains built on it.

Loading, chunking, embedding and indexing must work without the knowledge base, the compliance guard, the
live-call engine, the routes or the CLI (docs/ARCHITECTURE.md; issue #15). Every import counts, at the top
of a module or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ("config", "errors", "db", "models", "text", "protocols", "audit")
MODULES = sorted((ROOT / "ingest").rglob("*.py"))


def assist_imports(source: str) -> list[tuple[int, str]]:
    """The assist modules a module's source imports, with their line: `from assist import x` counts as assist.x."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "assist":
            found += [(node.lineno, f"assist.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name == "assist" or name.startswith("assist.")]


def is_core(module: str) -> bool:
    """True for assist.<core module> and anything inside it."""
    parts = module.split(".")
    return len(parts) > 1 and parts[1] in CORE


def test_the_check_sees_every_kind_of_import() -> None:
    source = (
        "import assist.calls.engine\n"
        "from assist import audit, knowledge\n"
        "from assist.compliance.guard.engine import unavailable_reason\n"
        "def f():\n    from assist.routes import documents\n"
        "from assist.models.keys import ApiKey\n"
        "from ingest.limits import ParseBudget\n"
    )
    imported = assist_imports(source)
    assert [name for _, name in imported if not is_core(name)] == [
        "assist.calls.engine",
        "assist.knowledge",
        "assist.compliance.guard.engine",
        "assist.routes",
    ]
    assert [name for _, name in imported if is_core(name)] == ["assist.audit", "assist.models.keys"]


def test_ingest_has_modules_to_check() -> None:
    assert ROOT / "ingest" / "pipeline.py" in MODULES and ROOT / "ingest" / "loaders" / "registry.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_ingest_imports_only_the_core_modules_of_assist(path: Path) -> None:
    bad = [
        f"line {line}: {name}" for line, name in assist_imports(path.read_text(encoding="utf-8")) if not is_core(name)
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports outside assist's core ({', '.join(CORE)}): {bad}"
