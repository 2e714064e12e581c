"""`manage.py adopt_database` on a database created by the original VLVT migrations.

Each test creates its own scratch database from tests/fixtures/vlvt_original_schema.sql, runs the
real command in a child process pointed at it (DATABASE_URL), and drops the database afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from profiles.adoption import compare, snapshot

ROOT = Path(__file__).resolve().parents[2]
DDL = (ROOT / "tests/fixtures/vlvt_original_schema.sql").read_text()
TABLES = [
    "users", "user_subscriptions", "profiles", "swipes", "matches", "blocks", "ticket_ledger", "verifications",
    "fcm_tokens", "after_hours_profiles", "after_hours_preferences", "after_hours_sessions", "after_hours_matches",
    "after_hours_declines", "device_fingerprints", "banned_photo_hashes", "messages", "read_receipts",
    "typing_indicators", "user_status", "date_proposals", "reports", "after_hours_messages",
]  # fmt: skip


def _server_conninfo(dbname: str) -> str:
    s = connection.settings_dict
    parts = {"host": s["HOST"] or "127.0.0.1", "port": s["PORT"] or 5432, "user": s["USER"], "dbname": dbname}
    if s["PASSWORD"]:
        parts["password"] = s["PASSWORD"]
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


@dataclass
class ScratchDatabase:
    name: str
    conninfo: str
    url: str

    def sql(self, statement: str, params=None) -> list[tuple]:
        with psycopg.connect(self.conninfo, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def adopt(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(
            os.environ, DATABASE_URL=self.url, DATABASE_POOL="false", DJANGO_SETTINGS_MODULE="vlvt.settings"
        )
        return subprocess.run(
            [sys.executable, "manage.py", "adopt_database", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def scratch_db() -> Iterator[ScratchDatabase]:
    """A new database holding the original VLVT schema; dropped after the test."""
    name = f"vlvt_adopt_{uuid.uuid4().hex[:12]}"
    admin = _server_conninfo("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    db = ScratchDatabase(
        name,
        _server_conninfo(name),
        f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}",
    )
    try:
        with psycopg.connect(db.conninfo, autocommit=True) as conn:
            conn.execute(DDL)
        yield db
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_original_data(db: ScratchDatabase) -> None:
    """Rows as the original services write them (no duplicates: nothing for the fixes to change)."""
    db.sql(
        """
        INSERT INTO users (id, provider, email, id_verified, after_hours_consent) VALUES
          ('google_1', 'google', 'a@example.com', true, true),
          ('apple_2', 'apple', NULL, false, false),
          ('email_3_abcdefg', 'email', 'c@example.com', false, true);
        UPDATE users SET referred_by = 'google_1' WHERE id = 'email_3_abcdefg';
        INSERT INTO profiles (user_id, name, age, bio, photos, interests, latitude, longitude, gender)
          VALUES ('google_1', 'Ann', 29, 'hi', ARRAY['p/1.jpg'], ARRAY['hiking'], 40.71280000, -74.00600000, 'Female'),
                 ('apple_2', 'Bob', 31, NULL, NULL, NULL, NULL, NULL, 'Male');
        INSERT INTO swipes (user_id, target_user_id, action) VALUES ('google_1', 'apple_2', 'like'),
                                                                    ('apple_2', 'google_1', 'like');
        INSERT INTO matches (id, user_id_1, user_id_2) VALUES ('match_11111111-1111-4111-8111-111111111111', 'google_1', 'apple_2');
        INSERT INTO messages (id, match_id, sender_id, text)
          VALUES ('msg_1', 'match_11111111-1111-4111-8111-111111111111', 'google_1', 'Hello!');
        INSERT INTO read_receipts (message_id, user_id) VALUES ('msg_1', 'apple_2');
        INSERT INTO ticket_ledger (user_id, amount, reason) VALUES ('google_1', 1, 'verification'),
                                                                   ('google_1', 1, 'first_match'),
                                                                   ('google_1', 2, 'date_completed'),
                                                                   ('google_1', 2, 'date_completed');
        INSERT INTO fcm_tokens (user_id, token, device_type) VALUES ('google_1', 'tok', 'ios');
        INSERT INTO user_subscriptions (user_id, is_active, product_id) VALUES ('google_1', true, 'premium');
        INSERT INTO after_hours_sessions (id, user_id, expires_at, latitude, longitude, fuzzed_latitude, fuzzed_longitude)
          VALUES ('00000000-0000-4000-8000-000000000001', 'google_1', now() + interval '1 hour', 40.7, -74.0, 40.71, -74.01);
        INSERT INTO after_hours_matches (id, session_id, user_id_1, user_id_2, expires_at, converted_to_match_id)
          VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'google_1',
                  'apple_2', now() + interval '10 minutes', 'match_11111111-1111-4111-8111-111111111111');
        INSERT INTO after_hours_messages (match_id, sender_id, text)
          VALUES ('00000000-0000-4000-8000-000000000002', 'apple_2', 'hey');
        INSERT INTO blocks (id, user_id, blocked_user_id) VALUES ('block_1', 'email_3_abcdefg', 'apple_2');
        INSERT INTO reports (id, reporter_id, reported_user_id, reason) VALUES ('report_1', 'google_1', 'email_3_abcdefg', 'spam');
        """
    )


def dump(db: ScratchDatabase) -> dict[str, list[tuple]]:
    """Every row of every VLVT table, in a stable order, as text."""
    out = {}
    for table in TABLES:
        out[table] = db.sql(f"SELECT t::text FROM {table} t ORDER BY t::text")  # noqa: S608
    return out


def fix_state(db: ScratchDatabase) -> dict[str, object]:
    return {
        "indexes": sorted(
            r[0]
            for r in db.sql(
                "SELECT indexname FROM pg_indexes WHERE indexname IN ('ticket_ledger_one_time_award_unique', "
                "'matches_unordered_pair_unique', 'messages_match_sender_temp_id_unique', "
                "'idx_messages_match_created_at')"
            )
        ),
        "converted_to_match_rule": db.sql(
            "SELECT confdeltype FROM pg_constraint WHERE conrelid = 'after_hours_matches'::regclass "
            "AND contype = 'f' AND confrelid = 'matches'::regclass"
        ),
        "temp_id": db.sql(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'messages'::regclass AND attname = 'temp_id'"
        ),
    }


def notes(out: str) -> list[str]:
    return [
        line.strip().removeprefix("note:").strip() for line in out.splitlines() if line.startswith("  note:")
    ]


def errors(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith("ERROR:")]


def recorded_migrations(db: ScratchDatabase) -> list[tuple]:
    return db.sql(
        "SELECT app, name FROM django_migrations WHERE app IN ('profiles', 'chat') ORDER BY app, name"
    )


ALL_VLVT_MIGRATIONS = [
    ("chat", "0001_initial"),
    ("chat", "0002_message_temp_id"),
    ("chat", "0003_message_history_index"),
    ("profiles", "0001_initial"),
    ("profiles", "0002_fix_one_time_ticket_awards"),
    ("profiles", "0003_fix_unordered_match_pairs"),
    ("profiles", "0004_fix_converted_to_match_set_null"),
]


@pytest.mark.django_db
def test_adopts_an_original_database_without_touching_its_data(scratch_db):
    seed_original_data(scratch_db)
    before = dump(scratch_db)
    assert fix_state(scratch_db) == {"indexes": [], "converted_to_match_rule": [("a",)], "temp_id": []}

    result = scratch_db.adopt()

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Found an existing VLVT schema (23 of 23 tables); comparing." in out
    assert "ERROR" not in out
    # The original's foreign keys added in 012 have names of their own: reported, accepted.
    assert "  note:  blocks: foreign key blocks_user_id_fkey exists as fk_blocks_user_id" in out
    # Spelled `WHERE is_active = true` by the original, `WHERE is_active` by Django: the same index.
    assert (
        "  note:  user_subscriptions: index idx_user_subscriptions_active exists as idx_user_subscriptions_active"
        not in out
    )
    assert "The schema matches the initial migrations (48 note(s))." in out
    assert "Applying profiles.0001_initial... FAKED" in out
    assert "Applying chat.0001_initial... FAKED" in out
    for app, name in ALL_VLVT_MIGRATIONS:
        if name != "0001_initial":
            assert f"Applying {app}.{name}... OK" in out

    after = dump(scratch_db)
    # Adoption adds messages.temp_id (NULL for every existing row) and changes no other value.
    assert after["messages"] == [(row[0][:-1] + ",)",) for row in before["messages"]]
    assert {t: rows for t, rows in after.items() if t != "messages"} == {
        t: rows for t, rows in before.items() if t != "messages"
    }
    assert scratch_db.sql("SELECT id, temp_id FROM messages") == [("msg_1", None)]
    assert fix_state(scratch_db) == {
        "indexes": [
            "idx_messages_match_created_at",
            "matches_unordered_pair_unique",
            "messages_match_sender_temp_id_unique",
            "ticket_ledger_one_time_award_unique",
        ],
        "converted_to_match_rule": [("n",)],
        "temp_id": [("character varying(64)",)],
    }
    assert recorded_migrations(scratch_db) == ALL_VLVT_MIGRATIONS
    # Tables and triggers the port does not model are left alone.
    assert scratch_db.sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_messages_trigger'") == [(1,)]

    # The adopted database now has the schema a fresh `migrate` creates (this test database),
    # apart from what the command noted: the original's names and its extra indexes.
    with connection.cursor() as cursor:
        fresh = snapshot(cursor, "public", TABLES)
    with psycopg.connect(scratch_db.conninfo) as conn, conn.cursor() as cursor:
        adopted = snapshot(cursor, "public", TABLES)
    report = compare(fresh, adopted, TABLES)
    assert report.errors == []
    assert sorted(report.warnings) == sorted(notes(out))

    # Running it again is a no-op.
    again = scratch_db.adopt()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "The database is already managed by these migrations." in again.stdout
    assert "No migrations to apply." in again.stdout
    assert dump(scratch_db) == after


@pytest.mark.django_db
def test_fix_migrations_repair_the_originals_duplicates(scratch_db):
    scratch_db.sql(
        """
        INSERT INTO users (id, provider) VALUES ('a', 'email'), ('b', 'email'), ('c', 'email');
        -- The order-sensitive constraint let both orders of a pair in.
        INSERT INTO matches (id, user_id_1, user_id_2, created_at) VALUES
          ('match_old', 'a', 'b', '2024-01-01T00:00:00Z'),
          ('match_new', 'b', 'a', '2024-02-01T00:00:00Z'),
          ('match_ac', 'a', 'c', '2024-01-01T00:00:00Z');
        INSERT INTO messages (id, match_id, sender_id, text, created_at) VALUES
          ('msg_1', 'match_old', 'a', 'one', '2024-01-02T00:00:00Z'),
          ('msg_2', 'match_new', 'b', 'two', '2024-02-02T00:00:00Z'),
          ('msg_3', 'match_ac', 'c', 'three', '2024-01-03T00:00:00Z');
        INSERT INTO date_proposals (match_id, proposer_id, place_name, proposed_date, proposed_time)
          VALUES ('match_new', 'b', 'Cafe', '2024-03-01', '19:00');
        INSERT INTO typing_indicators (match_id, user_id) VALUES ('match_old', 'a'), ('match_new', 'a');
        INSERT INTO after_hours_sessions (id, user_id, expires_at, latitude, longitude, fuzzed_latitude, fuzzed_longitude)
          VALUES ('00000000-0000-4000-8000-000000000001', 'b', now(), 1, 1, 1, 1);
        INSERT INTO after_hours_matches (session_id, user_id_1, user_id_2, expires_at, converted_to_match_id)
          VALUES ('00000000-0000-4000-8000-000000000001', 'b', 'a', now(), 'match_new');
        -- Without a unique constraint the one-time awards were paid twice.
        INSERT INTO ticket_ledger (user_id, amount, reason, reference_id, created_at) VALUES
          ('a', 1, 'verification', 'first', '2024-01-01T00:00:00Z'),
          ('a', 1, 'verification', 'second', '2024-01-01T00:00:01Z'),
          ('a', 1, 'first_match', 'first', '2024-01-01T00:00:00Z'),
          ('a', 1, 'first_match', 'second', '2024-01-01T00:00:02Z'),
          ('b', 1, 'verification', 'only', '2024-01-01T00:00:00Z'),
          ('a', 2, 'date_completed', 'x', '2024-01-01T00:00:00Z'),
          ('a', 2, 'date_completed', 'y', '2024-01-01T00:00:00Z');
        """
    )

    result = scratch_db.adopt()

    assert result.returncode == 0, result.stdout + result.stderr
    assert scratch_db.sql("SELECT id, user_id_1, user_id_2 FROM matches ORDER BY id") == [
        ("match_ac", "a", "c"),
        ("match_old", "a", "b"),
    ]
    assert scratch_db.sql("SELECT id, match_id, text FROM messages ORDER BY created_at") == [
        ("msg_1", "match_old", "one"),
        ("msg_3", "match_ac", "three"),
        ("msg_2", "match_old", "two"),
    ]
    assert scratch_db.sql("SELECT match_id FROM date_proposals") == [("match_old",)]
    assert scratch_db.sql("SELECT match_id, user_id FROM typing_indicators") == [("match_old", "a")]
    assert scratch_db.sql("SELECT converted_to_match_id FROM after_hours_matches") == [("match_old",)]
    assert scratch_db.sql(
        "SELECT user_id, reason, reference_id FROM ticket_ledger ORDER BY user_id, reason, reference_id"
    ) == [
        ("a", "date_completed", "x"),
        ("a", "date_completed", "y"),
        ("a", "first_match", "first"),
        ("a", "verification", "first"),
        ("b", "verification", "only"),
    ]
    # And from now on the database refuses them.
    with pytest.raises(psycopg.errors.UniqueViolation) as info:
        scratch_db.sql("INSERT INTO matches (id, user_id_1, user_id_2) VALUES ('match_again', 'c', 'a')")
    assert info.value.diag.constraint_name == "matches_unordered_pair_unique"
    with pytest.raises(psycopg.errors.UniqueViolation) as info:
        scratch_db.sql("INSERT INTO ticket_ledger (user_id, amount, reason) VALUES ('b', 1, 'verification')")
    assert info.value.diag.constraint_name == "ticket_ledger_one_time_award_unique"
    # Unmatching a converted pair no longer fails on converted_to_match_id.
    scratch_db.sql("DELETE FROM matches WHERE id = 'match_old'")
    assert scratch_db.sql("SELECT converted_to_match_id FROM after_hours_matches") == [(None,)]


@pytest.mark.django_db
def test_refuses_a_database_that_differs_and_changes_nothing(scratch_db):
    scratch_db.sql(
        """
        ALTER TABLE messages DROP COLUMN status;
        ALTER TABLE profiles ALTER COLUMN bio TYPE VARCHAR(500);
        ALTER TABLE user_status ALTER COLUMN socket_id SET NOT NULL;
        ALTER TABLE swipes DROP CONSTRAINT swipes_user_id_fkey;
        ALTER TABLE swipes ADD CONSTRAINT swipes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
        DROP INDEX idx_after_hours_sessions_active_user;
        ALTER TABLE fcm_tokens DROP CONSTRAINT fcm_tokens_device_type_check;
        DROP TABLE banned_photo_hashes;
        ALTER TABLE reports ADD COLUMN priority INTEGER NOT NULL;
        """
    )
    seed_tables = scratch_db.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")

    result = scratch_db.adopt()

    assert result.returncode == 2
    assert "Found an existing VLVT schema (22 of 23 tables); comparing." in result.stdout
    errors = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("ERROR:")]
    assert sorted(errors) == sorted(
        [
            "ERROR: banned_photo_hashes: table missing",
            "ERROR: messages.status: column missing (expected character varying(20) NULL)",
            # Dropping the column dropped its index and CHECK too.
            "ERROR: messages: index idx_messages_status missing: CREATE INDEX ON messages USING btree (status)",
            "ERROR: messages: CHECK check_message_status missing: CHECK (((status IS NULL) OR ((status)::text = ANY "
            "((ARRAY['sent'::character varying, 'delivered'::character varying, 'read'::character varying, "
            "'failed'::character varying])::text[]))))",
            "ERROR: profiles.bio: type is character varying(500), expected text",
            "ERROR: user_status.socket_id: is NOT NULL, expected NULL",
            "ERROR: swipes: foreign key swipes(user_id) -> users(id) is ON DELETE NO ACTION, "
            "expected ON DELETE CASCADE",
            "ERROR: after_hours_sessions: unique index idx_after_hours_sessions_active_user missing: "
            "CREATE UNIQUE INDEX ON after_hours_sessions USING btree (user_id) WHERE (ended_at IS NULL)",
            "ERROR: fcm_tokens: CHECK fcm_tokens_device_type_check missing: CHECK (((device_type)::text = ANY "
            "((ARRAY['ios'::character varying, 'android'::character varying, 'web'::character varying])::text[])))",
            "ERROR: reports.priority: extra NOT NULL column without a default (inserts from this project would fail)",
        ]
    )
    assert (
        "CommandError: Refusing to adopt the database: 10 difference(s) from the schema the initial migrations "
        "expect (listed above). Nothing was changed." in result.stderr
    )
    # Nothing was changed: no django_migrations table, no new tables, no scratch schema left.
    assert (
        scratch_db.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        == seed_tables
    )
    assert scratch_db.sql("SELECT to_regclass('django_migrations')") == [(None,)]
    assert scratch_db.sql("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'vlvt%'") == []


@pytest.mark.django_db
def test_check_only_compares(scratch_db):
    result = scratch_db.adopt("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-2:] == [
        "The schema matches the initial migrations (48 note(s)).",
        "--check given: not migrating.",
    ]
    assert scratch_db.sql("SELECT to_regclass('django_migrations')") == [(None,)]


@pytest.mark.django_db
def test_empty_database_gets_the_schema_created(scratch_db):
    scratch_db.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    result = scratch_db.adopt()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No VLVT tables found: creating the schema." in result.stdout
    assert "Applying profiles.0001_initial... OK" in result.stdout
    assert recorded_migrations(scratch_db) == ALL_VLVT_MIGRATIONS
    assert scratch_db.sql(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)", [TABLES]
    ) == [(23,)]


# Each case re-creates objects of the original schema with another spelling of the same thing
# (PostgreSQL's catalogue keeps the spelling); `absent` are notes that must not appear, `present`
# notes that must.
SPELLINGS = {
    "boolean predicate = true / <> false": (
        """
        DROP INDEX idx_user_subscriptions_active;
        CREATE INDEX idx_user_subscriptions_active ON user_subscriptions (user_id, is_active) WHERE is_active <> false;
        DROP INDEX idx_after_hours_matches_user_lookup;
        CREATE INDEX idx_after_hours_matches_user_lookup ON after_hours_matches (user_id_1)
            WHERE (declined_by IS NULL) = true;
        """,
        [],
        ["extra index idx_user_subscriptions_active:", "extra index idx_after_hours_matches_user_lookup:"],
    ),
    "IS NOT NULL": (
        """
        DROP INDEX idx_after_hours_sessions_active_user;
        CREATE UNIQUE INDEX idx_after_hours_sessions_active_user ON after_hours_sessions (user_id)
            WHERE NOT (ended_at IS NOT NULL);
        ALTER TABLE profiles DROP CONSTRAINT check_age_range;
        ALTER TABLE profiles ADD CONSTRAINT check_age_range
            CHECK (NOT (age IS NOT NULL) OR (age >= 18 AND age <= 120));
        """,
        [],
        ["extra index idx_after_hours_sessions_active_user:", "extra CHECK check_age_range:"],
    ),
    "casts": (
        """
        ALTER TABLE fcm_tokens DROP CONSTRAINT fcm_tokens_device_type_check;
        ALTER TABLE fcm_tokens ADD CONSTRAINT fcm_tokens_device_type_check
            CHECK (device_type::text = ANY (ARRAY['ios', 'android', 'web']::text[]));
        ALTER TABLE profiles DROP CONSTRAINT check_latitude;
        ALTER TABLE profiles ADD CONSTRAINT check_latitude
            CHECK (latitude IS NULL OR (latitude >= (-90)::numeric AND latitude <= CAST(90 AS numeric)));
        ALTER TABLE messages DROP CONSTRAINT check_message_status;
        ALTER TABLE messages ADD CONSTRAINT check_message_status
            CHECK (status IS NULL OR status::text IN ('sent'::varchar, 'delivered', 'read'::text, 'failed'));
        """,
        [],
        [
            "extra CHECK fcm_tokens_device_type_check:",
            "extra CHECK check_latitude:",
            "extra CHECK check_message_status:",
        ],
    ),
    "now() and CURRENT_TIMESTAMP": (
        """
        ALTER TABLE messages ALTER COLUMN created_at SET DEFAULT now();
        ALTER TABLE matches ALTER COLUMN created_at SET DEFAULT CURRENT_TIMESTAMP;
        ALTER TABLE swipes ALTER COLUMN created_at SET DEFAULT transaction_timestamp();
        """,
        [],
        ["messages.created_at", "matches.created_at", "swipes.created_at"],
    ),
    "varchar and character varying": (
        """
        ALTER TABLE reports ALTER COLUMN reason TYPE character varying(100);
        ALTER TABLE users ALTER COLUMN email TYPE varchar(255);
        ALTER TABLE profiles ALTER COLUMN age TYPE int4;
        ALTER TABLE after_hours_sessions ALTER COLUMN latitude TYPE decimal(10, 8);
        """,
        [],
        ["reports.reason", "users.email", "profiles.age", "after_hours_sessions.latitude"],
    ),
    "other constraint and index names": (
        """
        ALTER INDEX idx_after_hours_sessions_active_user RENAME TO one_open_session_per_user;
        ALTER TABLE swipes RENAME CONSTRAINT swipes_action_check TO swipe_action_is_like_or_pass;
        ALTER TABLE swipes RENAME CONSTRAINT swipes_user_id_target_user_id_key TO one_swipe_per_pair;
        ALTER TABLE matches RENAME CONSTRAINT matches_user_id_1_fkey TO match_first_user;
        """,
        [
            "after_hours_sessions: unique index idx_after_hours_sessions_active_user exists as one_open_session_per_user",
            "swipes: CHECK swipes_action_check exists as swipe_action_is_like_or_pass",
            "swipes: unique constraint swipes_user_id_target_user_id_key exists as one_swipe_per_pair",
            "matches: foreign key matches_user_id_1_fkey exists as match_first_user",
        ],
        [],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", SPELLINGS)
def test_adopts_another_spelling_of_the_same_schema(scratch_db, case):
    sql, present, absent = SPELLINGS[case]
    scratch_db.sql(sql)
    seed_original_data(scratch_db)
    before = dump(scratch_db)

    result = scratch_db.adopt()

    assert result.returncode == 0, result.stdout + result.stderr
    assert errors(result.stdout) == []
    for note in present:
        assert note in notes(result.stdout)
    for fragment in absent:
        assert [n for n in notes(result.stdout) if fragment in n] == []
    assert recorded_migrations(scratch_db) == ALL_VLVT_MIGRATIONS
    after = dump(scratch_db)
    # Only messages changed: the new temp_id column, NULL in every row.
    assert after["messages"] == [(row[0][:-1] + ",)",) for row in before["messages"]]
    assert {t: r for t, r in after.items() if t != "messages"} == {
        t: r for t, r in before.items() if t != "messages"
    }


# Real differences still refuse, next to the spellings above that adoption accepts.
DIFFERENCES = {
    "ALTER TABLE users DROP COLUMN kycaid_applicant_id": (
        "ERROR: users.kycaid_applicant_id: column missing (expected character varying(255) NULL)"
    ),
    "ALTER TABLE messages ALTER COLUMN text TYPE varchar(2000)": (
        "ERROR: messages.text: type is character varying(2000), expected text"
    ),
    "ALTER TABLE swipes DROP CONSTRAINT swipes_user_id_target_user_id_key": (
        "ERROR: swipes: unique constraint swipes_user_id_target_user_id_key missing: "
        "CREATE UNIQUE INDEX ON swipes USING btree (user_id, target_user_id)"
    ),
    # The other boolean.
    """
    DROP INDEX idx_user_subscriptions_active;
    CREATE INDEX idx_user_subscriptions_active ON user_subscriptions (user_id, is_active) WHERE is_active = false;
    """: (
        "ERROR: user_subscriptions: index idx_user_subscriptions_active missing: "
        "CREATE INDEX ON user_subscriptions USING btree (user_id, is_active) WHERE is_active"
    ),
    # A value left out, with casts.
    """
    ALTER TABLE fcm_tokens DROP CONSTRAINT fcm_tokens_device_type_check;
    ALTER TABLE fcm_tokens ADD CONSTRAINT fcm_tokens_device_type_check
        CHECK (device_type::text = ANY (ARRAY['ios', 'android']::text[]));
    """: (
        "ERROR: fcm_tokens: CHECK fcm_tokens_device_type_check missing: CHECK (((device_type)::text = ANY "
        "((ARRAY['ios'::character varying, 'android'::character varying, 'web'::character varying])::text[])))"
    ),
}


@pytest.mark.django_db
def test_refuses_real_differences_whatever_the_spelling(scratch_db):
    for sql in DIFFERENCES:
        scratch_db.sql(sql)
    seed_original_data(scratch_db)
    before = dump(scratch_db)

    result = scratch_db.adopt()

    assert result.returncode == 2, result.stdout + result.stderr
    assert sorted(errors(result.stdout)) == sorted(DIFFERENCES.values())
    assert scratch_db.sql("SELECT to_regclass('django_migrations')") == [(None,)]
    assert dump(scratch_db) == before
