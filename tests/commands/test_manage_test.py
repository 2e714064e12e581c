"""`python manage.py test` runs the pytest suite and reports what pytest reports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage_test(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "test", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def summary(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_manage_py_test_runs_pytest_with_its_arguments():
    result = manage_test("tests/test_smoke.py", "-k", "settings_load", "-rA")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED tests/test_smoke.py::test_settings_load" in result.stdout
    assert re.fullmatch(r"1 passed, \d+ deselected in [\d.]+s", summary(result.stdout)), result.stdout


def test_manage_py_test_fails_when_a_test_fails(tmp_path):
    (tmp_path / "test_sample.py").write_text(
        "def test_ok():\n    pass\n\n\ndef test_broken():\n    assert 1 == 2\n"
    )
    result = manage_test(str(tmp_path / "test_sample.py"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.fullmatch(r"=+ 1 failed, 1 passed in [\d.]+s =+", summary(result.stdout)), result.stdout
    assert "FAILED " in result.stdout and "test_sample.py::test_broken" in result.stdout
