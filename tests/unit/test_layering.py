"""The project's import graph: no cycles, and each layer imports only what sits below it.

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a lazy import
is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("food_vision", "backend", "frontend")
WEB_FRAMEWORKS = ("fastapi", "starlette", "flask", "flask_sock", "uvicorn", "gunicorn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
}


def imported_names(path: Path) -> set[str]:
    """Every module an import statement anywhere in the file names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module_name(path if path.name == "__init__.py" else path.parent)
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def project_imports(path: Path) -> set[str]:
    """The project modules a file imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    found = set()
    for name in imported_names(path):
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module_name(path):
            found.add(name)
    return found


GRAPH = {name: project_imports(path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return [*stack[stack.index(child) :], child]
            if child not in state and (cycle := visit(child)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def outside_names(prefix: str) -> dict[str, set[str]]:
    return {
        name: imported_names(path)
        for name, path in MODULES.items()
        if name == prefix or name.startswith(prefix + ".")
    }


def _top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("name", sorted(outside_names("food_vision")))
def test_the_core_imports_no_web_code(name: str) -> None:
    tops = _top(imported_names(MODULES[name]))
    assert not tops & {"backend", "frontend", *WEB_FRAMEWORKS, "jinja2"}, name


@pytest.mark.parametrize("name", sorted(outside_names("backend.services")))
def test_services_import_no_web_framework(name: str) -> None:
    names = imported_names(MODULES[name])
    assert not _top(names) & set(WEB_FRAMEWORKS), name
    assert not any(n.startswith("backend.web") for n in names), name


def test_lazy_imports_are_seen(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from backend.server import serve\n    import fastapi\n")
    assert {"backend.server", "fastapi"} <= imported_names(source)


FASTAPI_ROUTERS = (
    "api_datasets", "api_docs", "api_meta", "api_runs", "api_sweeps", "compare", "dataset_pages",
    "deps", "evaluation", "login", "pages", "predict", "run_pages", "ws",
)  # fmt: skip


@pytest.mark.parametrize("name", sorted(outside_names("backend.flask_web")))
def test_the_flask_twin_imports_neither_fastapi_nor_its_routers(name: str) -> None:
    """The twin shares what lies below the routers, never the FastAPI layer itself."""
    names = imported_names(MODULES[name])
    assert not _top(names) & {"fastapi", "starlette", "uvicorn"}, name
    assert not {f"backend.web.{router}" for router in FASTAPI_ROUTERS} & names, name
