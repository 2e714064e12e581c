"""What the type checker cannot hold by itself: every silenced error says which one and why.

`scripts/lint` runs ruff and mypy (pyproject.toml, [tool.mypy]); mypy rejects an ignore without an
error code and one that silences nothing. The reason after it is for the reader, so it is held here.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# An ignore names one or more error codes in brackets, then a second comment gives the reason.
_IGNORE = re.compile(r"#\s*type:\s*ignore\b")
_WITH_REASON = re.compile(r"#\s*type:\s*ignore\[[a-z0-9-]+(?:,\s*[a-z0-9-]+)*\]\s+#\s*\S")


def _python_sources() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "*.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def _ignores(path: Path) -> list[tuple[int, str]]:
    """(line, comment) of every comment in the file that silences the type checker."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [
        (token.start[0], token.string)
        for token in tokens
        if token.type == tokenize.COMMENT and _IGNORE.search(token.string)
    ]


def test_every_type_ignore_names_its_error_codes_and_a_reason():
    bare = [
        f"{path.relative_to(ROOT)}:{line}: {comment}"
        for path in _python_sources()
        for line, comment in _ignores(path)
        if not _WITH_REASON.search(comment)
    ]
    assert bare == []


def test_the_check_finds_a_bare_ignore(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "a = 1  # type: ignore\n"
        "b = 2  # type: ignore[assignment]\n"
        "c = 3  # type: ignore[assignment]  # the stubs say None\n"
        'd = "# type: ignore"\n'
    )
    found = [(line, bool(_WITH_REASON.search(comment))) for line, comment in _ignores(sample)]
    assert found == [(1, False), (2, False), (3, True)]


def test_no_link_to_a_local_environment_is_tracked():
    """A worktree links .venv and tests/js/node_modules to another checkout's; committed, the link
    replaces the real directory wherever the commit is checked out."""
    listed = subprocess.run(
        ["git", "ls-files", "--", ".venv", "tests/js/node_modules"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    assert listed == ""
