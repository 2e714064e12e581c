"""Adopt an existing VLVT PostgreSQL database (or create the schema in an empty one).

    python manage.py adopt_database [--check]

* Empty database: runs `migrate`.
* Database already migrated by this project: runs `migrate` (pending migrations only).
* Database created by the original VLVT services: compares its tables, columns, types,
  nullability, primary keys, unique constraints, CHECKs, indexes and foreign keys (with their
  ON DELETE rules) against what the initial migrations create. Every difference is printed; on any
  error the command exits non-zero and changes nothing. When it matches it runs
  `migrate --fake-initial`: the initial migrations are recorded without running, the later
  migrations (the fix migrations of docs/database.md) run for real. `--check` stops after the comparison.
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from profiles.adoption import INITIAL_MIGRATIONS, check_database, expected_snapshot, live_snapshot


class Command(BaseCommand):
    help = "Check an existing VLVT database against the initial migrations, then migrate --fake-initial."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="compare only; do not migrate")

    def handle(self, *args, check: bool = False, verbosity: int = 1, **options):
        recorder = MigrationRecorder(connection)
        applied = set(recorder.applied_migrations()) if recorder.has_table() else set()
        if all(m in applied for m in INITIAL_MIGRATIONS):
            self.stdout.write("The database is already managed by these migrations.")
            return self._migrate(check, verbosity, fake_initial=False)

        expected = expected_snapshot()
        tables = expected[1]
        present = live_snapshot(tables).tables
        if not present:
            self.stdout.write("No VLVT tables found: creating the schema.")
            return self._migrate(check, verbosity, fake_initial=False)

        self.stdout.write(
            f"Found an existing VLVT schema ({len(present)} of {len(tables)} tables); comparing."
        )
        report, _tables = check_database(expected)
        for line in report.warnings:
            self.stdout.write(f"  note:  {line}")
        for line in report.errors:
            self.stdout.write(self.style.ERROR(f"  ERROR: {line}"))
        if not report.ok:
            raise CommandError(
                f"Refusing to adopt the database: {len(report.errors)} difference(s) from the schema the "
                "initial migrations expect (listed above). Nothing was changed.",
                returncode=2,
            )
        self.stdout.write(
            self.style.SUCCESS(f"The schema matches the initial migrations ({len(report.warnings)} note(s)).")
        )
        return self._migrate(check, verbosity, fake_initial=True)

    def _migrate(self, check: bool, verbosity: int, *, fake_initial: bool) -> None:
        if check:
            self.stdout.write("--check given: not migrating.")
            return
        if fake_initial:
            self.stdout.write("Running migrate --fake-initial (initial migrations faked, fixes applied).")
        # The raw stream, not our OutputWrapper: migrate wraps it itself ("... OK" on one line).
        call_command(
            "migrate",
            fake_initial=fake_initial,
            interactive=False,
            verbosity=verbosity,
            stdout=self.stdout._out,
        )
