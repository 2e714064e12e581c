"""Print a JWT for a user id, as auth-service would issue it (development and benchmarks).

python manage.py mint_token google_123 [--expires-in 3600] [--provider google] [--email a@b.c]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from vlvt.http.auth import mint_token


class Command(BaseCommand):
    help = "Print an access token (HS256, JWT_SECRET) whose userId claim is the given user id."

    def add_arguments(self, parser):
        parser.add_argument("user_id")
        parser.add_argument(
            "--expires-in", type=int, default=15 * 60, help="lifetime in seconds (default 900)"
        )
        parser.add_argument("--provider", default="email")
        parser.add_argument("--email", default=None)

    def handle(self, *args, user_id: str, expires_in: int, provider: str, email: str | None, **options):
        if not user_id.strip():
            raise CommandError("user_id must not be empty")
        if expires_in <= 0:
            raise CommandError("--expires-in must be a positive number of seconds")
        self.stdout.write(mint_token(user_id, expires_in=expires_in, provider=provider, email=email))
