"""The package layout, read from the source with `ast` (docs/architecture.md, "Packages").

The graph has one node per module of `vlvt`, `chat` and `profiles` and an edge for each
module-level import of another of them (`from a import b` counts as importing `a.b` when that is
a module; an import under `if TYPE_CHECKING:` is not an import). A module's package is the package
that contains it (`chat.realtime.consumer` -> `chat.realtime`; a package's `__init__` is the
package itself).

Imports of third-party integrations inside functions (boto3, firebase_admin, httpx, ...: not
installed everywhere) are not part of the graph; imports of project modules inside functions are,
and each one needs an entry in FUNCTION_IMPORTS saying which cycle makes it necessary.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vlvt", "chat", "profiles")
APPS = ("chat", "profiles")

# (importing module, imported module or "*"): why it cannot be at module level.
FUNCTION_IMPORTS: dict[tuple[str, str], str] = {
    ("chat.apps", "*"): "Django: apps.py loads before the app registry; ready() wires the app",
    ("chat.push", "chat.tasks"): "Celery cycle: chat.tasks builds the push with chat.push",
    ("profiles.push", "profiles.tasks"): "Celery cycle: profiles.tasks sends with profiles.push",
    ("profiles.after_hours.tasks", "profiles.after_hours.services.matching"): (
        "Celery cycle: the After Hours services enqueue these tasks"
    ),
    ("profiles.after_hours.tasks", "profiles.after_hours.services.matches"): (
        "Celery cycle: the After Hours services enqueue these tasks"
    ),
    ("profiles.after_hours.tasks", "profiles.after_hours.services.sessions"): (
        "Celery cycle: the After Hours services enqueue these tasks"
    ),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _sources()


def _package(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, in_function: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement, and whether it sits inside a function."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _imports(ast.Module(body=node.orelse, type_ignores=[]), in_function=in_function)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _imports(node, in_function=inner)


def _targets(module: str, node: ast.stmt) -> set[str]:
    """The project modules an import statement imports."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        assert isinstance(node, ast.ImportFrom)
        base = node.module or ""
        if node.level:
            anchor = _package(module).split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
        ]
    found = set()
    for name in names:
        while name and name not in MODULES:  # `import a.b.c` of a package's attribute
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def _edges() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Module-level edges and function-level edges."""
    top: dict[str, set[str]] = {m: set() for m in MODULES}
    inner: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for node, in_function in _imports(ast.parse(path.read_text(), str(path))):
            (inner if in_function else top)[module] |= _targets(module, node)
    return top, inner


TOP, INNER = _edges()


def _components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components (Tarjan), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def _function_import_violations(module: str) -> list[str]:
    return [
        f"{module} imports {target} inside a function"
        for target in sorted(INNER[module])
        if (module, target) not in FUNCTION_IMPORTS and (module, "*") not in FUNCTION_IMPORTS
    ]


def _app_import_violations(module: str) -> list[str]:
    """vlvt/ is wiring: only its server entry points may import the apps."""
    wiring = ("vlvt.urls", "vlvt.asgi")
    if module in wiring or module.startswith(("vlvt.http", "vlvt.server")) or not module.startswith("vlvt"):
        return []
    return [f"{module} imports {t}" for t in sorted(TOP[module] | INNER[module]) if t.split(".")[0] in APPS]


def _server_violations(module: str) -> list[str]:
    """vlvt/server/ knows no app and nothing of the HTTP layer."""
    if not module.startswith("vlvt.server"):
        return []
    return [
        f"{module} imports {t}"
        for t in sorted(TOP[module] | INNER[module])
        if t.split(".")[0] in APPS or t.startswith("vlvt.http")
    ]


def _violations(module: str) -> list[str]:
    return _function_import_violations(module) + _app_import_violations(module) + _server_violations(module)


def test_the_graph_sees_the_apps():
    assert {"chat.realtime.consumer", "profiles.models", "vlvt.settings"} <= set(MODULES)
    assert "chat.models" in TOP["chat.selectors"]


def test_no_import_cycle_spans_two_packages():
    mixed = [
        sorted(component)
        for component in _components(TOP)
        if len({_package(module) for module in component}) > 1
    ]
    assert mixed == []


def test_every_allowlisted_function_import_exists():
    stale = [
        (module, target)
        for module, target in FUNCTION_IMPORTS
        if not (INNER.get(module) if target == "*" else target in INNER.get(module, set()))
    ]
    assert stale == []


def test_imports_inside_functions_only_where_allowlisted_and_vlvt_is_wiring():
    found = [v for module in MODULES for v in _violations(module)]
    assert found == []
