"""The layering of docs/architecture.md: what import-linter cannot see.

`lint-imports` (pyproject.toml, run by `make test`) checks that imports point down the
layers, function-local imports included. Those hide the order in which modules load, so
one app's code imports another app's only at the top of the module, unless a comment
beside the import says why it cannot.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = (
    "accounts",
    "chat",
    "helpdesk",
    "knowledge",
    "mailin",
    "notifications",
    "quality",
    "queues",
    "shifts",
    "sla",
    "status",
    "tickets",
)


def _local_imports(tree: ast.AST):
    """Imports inside a function or a class body, with the line they are on."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                    yield inner.module, inner.lineno
                elif isinstance(inner, ast.Import):
                    for alias in inner.names:
                        yield alias.name, inner.lineno


def test_no_function_local_import_between_apps_without_a_reason():
    unexplained = []
    for app in APPS:
        if not (ROOT / app).is_dir():
            continue
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/tests/" in relative or "/migrations/" in relative:
                continue
            source = path.read_text()
            lines = source.splitlines()
            for module, lineno in set(_local_imports(ast.parse(source))):
                other_app = module.split(".")[0]
                if other_app not in APPS or other_app == app:
                    continue
                said_why = "#" in lines[lineno - 1] or lines[lineno - 2].strip().startswith("#")
                if not said_why:
                    unexplained.append(f"{relative}:{lineno} imports {module}")
    assert sorted(unexplained) == []
