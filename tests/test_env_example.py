"""`.env.example` lists every environment variable the project reads, and nothing else.

The names are found mechanically: every call of an environment reader (vlvt.env's env_str, env_int,
env_float, env_bool, env_choice; os.environ.get, os.getenv, os.environ[...]) in the project's modules, read
from their syntax trees, plus the variables scripts/run itself reads (`${NAME:-default}`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vlvt", "profiles", "chat")
READERS = {"env_str", "env_int", "env_float", "env_bool", "env_choice", "getenv"}
# Readers whose name argument is a variable, and the names that variable takes.
# (vlvt/env.py's own reads are the readers themselves: their callers name the variables.)
NAMED_ELSEWHERE: dict[str, set[str]] = {"vlvt/env.py": set()}


def _reads(tree: ast.AST) -> tuple[set[str], list[int]]:
    """Names read with a literal argument, and the lines of reads whose argument is not a literal."""
    names: set[str] = set()
    dynamic: list[int] = []
    for node in ast.walk(tree):
        argument = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            on_environ = isinstance(func, ast.Attribute) and ast.unparse(func.value) == "os.environ"
            if name in READERS or (on_environ and name == "get"):
                argument = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            argument = node.slice
        if argument is None:
            continue
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            names.add(argument.value)
        else:
            assert isinstance(node, ast.Call | ast.Subscript)
            dynamic.append(node.lineno)
    return names, dynamic


def variables_read() -> set[str]:
    names: set[str] = set()
    unexplained = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            found, dynamic = _reads(ast.parse(path.read_text(), relative))
            names |= found
            if dynamic:
                if relative not in NAMED_ELSEWHERE:
                    unexplained.append(f"{relative}:{dynamic}")
                names |= NAMED_ELSEWHERE.get(relative, set())
    assert unexplained == [], "environment reads by a computed name: list their names in NAMED_ELSEWHERE"
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", (ROOT / "scripts/run").read_text()))
    return names


def variables_listed() -> set[str]:
    """`NAME=value` lines, and `# NAME=` for those documented but left unset (aliases, computed
    defaults)."""
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, re.M))


def test_only_vlvt_env_reads_the_environment():
    """Configuration is read one way: vlvt/env.py's readers, called from vlvt/settings.py; every
    other module asks Django settings."""
    readers = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found, dynamic = _reads(ast.parse(path.read_text(), relative))
            if (found or dynamic) and "/migrations/" not in relative:
                readers.add(relative)
    assert readers == {"vlvt/env.py", "vlvt/settings.py"}


def test_the_reader_finds_what_the_settings_read():
    found = variables_read()
    assert {
        "DATABASE_URL",
        "SHUTDOWN_TIMEOUT",
        "SOCKET_PING_INTERVAL_MS",
        "AFTER_HOURS_MINUTE_SECONDS",
        "PORT",
    } <= found


def test_env_example_lists_every_variable_read_and_no_other():
    read, listed = variables_read(), variables_listed()
    assert sorted(read - listed) == [], "missing from .env.example"
    assert sorted(listed - read) == [], "listed in .env.example but read nowhere"
