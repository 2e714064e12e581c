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


_CITED_DOC = re.compile(r"docs/(contract|architecture)\.md`?,?\s*((?:\"[^\"]+\"|D\d+|,|and|\s)+)")


def test_citations_of_the_contract_and_architecture_resolve():
    """A section title cited from the contract or the architecture document is one of its headings,
    and a cited D-number is one of the contract's numbered differences."""
    root = Path(__file__).resolve().parent.parent
    docs = {name: (root / "docs" / f"{name}.md").read_text() for name in ("contract", "architecture")}
    headings = {name: set(re.findall(r"^#+ (.+?)\s*$", text, re.M)) for name, text in docs.items()}
    differences = set(re.findall(r"^- \*\*(D\d+)\.", docs["contract"], re.M))
    broken = []
    for path in _tracked_files(root):
        if path.suffix not in {".py", ".md", ".sql", ".toml", ".txt"} or not path.is_file():
            continue
        # Comments and docstrings wrap: a title may continue on the next line after `#` or indentation.
        text = re.sub(r"\s*\n\s*(?:#\s*|--\s*)?", " ", path.read_text())
        for doc, cited in _CITED_DOC.findall(text):
            for title in re.findall(r"\"([^\"]+)\"", cited):
                if title not in headings[doc] and title != "<title>":
                    broken.append(f"{path.relative_to(root)}: docs/{doc}.md has no section {title!r}")
            for number in re.findall(r"D\d+", re.sub(r"\"[^\"]*\"", "", cited)):
                if number not in differences:
                    broken.append(f"{path.relative_to(root)}: docs/contract.md has no {number}")
    assert broken == []


def test_the_readme_lists_every_document():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    documents = sorted(f"docs/{path.name}" for path in (root / "docs").glob("*.md"))
    assert [document for document in documents if document not in readme] == []
