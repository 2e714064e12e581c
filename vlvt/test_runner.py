"""`python manage.py test [pytest arguments]` runs the pytest suite, exactly as `scripts/test` does.

The suite is written for pytest (fixtures, real servers, pytest-django's database); Django's own
runner would find no test in it and report success. This runner (settings.TEST_RUNNER) replaces
the `test` process with `python -m pytest ARGS`, so the output, the summary line and the exit
status are pytest's.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from django.core.management.base import CommandParser

# The `test` command's own options, at their defaults.
_DJANGO_DEFAULTS: dict[str, object] = {
    "verbosity": 1, "settings": None, "pythonpath": None, "traceback": False, "no_color": False,
    "force_color": False, "skip_checks": True, "interactive": False, "testrunner": None,
}  # fmt: skip


def _every_argument_is_pytests(args: list[str] | None = None, namespace: object = None) -> argparse.Namespace:
    # Django's parser would refuse pytest's options (-x, -k EXPR) or take them for its own (-v wants
    # a number): everything after `test` goes to pytest in its order, Django's options at defaults.
    return argparse.Namespace(args=list(sys.argv[2:] if args is None else args), **_DJANGO_DEFAULTS)


class PytestRunner:
    def __init__(self, **options: object) -> None:
        pass

    @classmethod
    def add_arguments(cls, parser: CommandParser) -> None:
        # On this parser only: the overloaded method is replaced by one that takes every argument.
        parser.parse_args = _every_argument_is_pytests  # type: ignore[method-assign, assignment]  # on purpose

    def run_tests(self, test_labels: list[str], **kwargs: object) -> NoReturn:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *test_labels])
