"""Cheap checks of the repository as a whole."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def test_settings_load(settings):
    assert settings.ROOT_URLCONF == "vlvt.urls"


# Citations of design notes that live outside this repository: a newcomer cannot follow them.
# The project's own documents are docs/contract.md, docs/architecture.md and the rest of docs/.
_OUTSIDE_CITATION = re.compile(
    r"\.\./shared|shared/(?:reference|DECISIONS|DESIGN|STYLE|BENCHMARKS|testdata)"
    r"|DECISIONS(?:\.md|\s+\d)|DESIGN(?:\.md|:|\s+\")|reference\s+§|§\s*\d"
)


def _tracked_files(root: Path) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    return [root / name for name in listed.split("\0") if name]


def test_no_file_cites_notes_outside_the_repository():
    root = Path(__file__).resolve().parent.parent
    found = []
    for path in _tracked_files(root):
        if not path.is_file():  # a deletion not yet committed, or a symlink to a directory
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if _OUTSIDE_CITATION.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert found == [], "cite docs/contract.md or docs/architecture.md instead:\n" + "\n".join(found)
