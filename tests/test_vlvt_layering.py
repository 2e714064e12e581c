"""The wiring package's layers, read from the modules' syntax trees (every import, at any depth):

- vlvt/server/ (the process under Daphne) imports no app module and nothing of vlvt/http;
- vlvt/ apart from server/, http/, urls.py and asgi.py imports no app module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("chat", "profiles")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def _offenders(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in paths
        for name in _imports(path)
        if _within(name, forbidden)
    )


def test_the_server_package_imports_no_app_and_nothing_of_the_http_layer():
    paths = sorted((ROOT / "vlvt/server").rglob("*.py"))

    assert paths and _offenders(paths, (*APPS, "vlvt.http")) == []


def test_the_wiring_outside_server_http_urls_and_asgi_imports_no_app():
    vlvt = ROOT / "vlvt"
    paths = [
        path
        for path in sorted(vlvt.rglob("*.py"))
        if path.relative_to(vlvt).parts[0] not in {"server", "http", "urls.py", "asgi.py"}
    ]

    assert paths and _offenders(paths, APPS) == []
