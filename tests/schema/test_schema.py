"""The migrated schema, read back from the PostgreSQL catalogue, is the VLVT schema of the
original services' migrations (docs/database.md) plus the fix migrations.

The expectations below are written from the original schema, not generated from the models."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

V255 = "character varying(255)"
TSTZ = "timestamp with time zone"
TEXT, UUID, BOOL, INT = "text", "uuid", "boolean", "integer"
NOW = "statement_timestamp()"  # Django's Now(); the original's NOW(): the insert time
GEN_UUID = "gen_random_uuid()"
LAT, LNG = "numeric(10,8)", "numeric(11,8)"

# table -> column -> (type, NOT NULL, database default)
COLUMNS: dict[str, dict[str, tuple[str, bool, str | None]]] = {
    "users": {
        "id": (V255, True, None),
        "provider": ("character varying(50)", True, None),
        "email": (V255, False, None),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
        "referred_by": (V255, False, None),
        "id_verified": (BOOL, False, "false"),
        "id_verified_at": (TSTZ, False, None),
        "kycaid_applicant_id": (V255, False, None),
        "after_hours_consent": (BOOL, False, "false"),
        "after_hours_consent_at": (TSTZ, False, None),
    },
    "user_subscriptions": {
        "id": (UUID, True, GEN_UUID),
        "user_id": (TEXT, True, None),
        "is_active": (BOOL, True, "false"),
        "product_id": (TEXT, False, None),
        "purchase_date": (TSTZ, False, None),
        "expires_at": (TSTZ, False, None),
        "revenuecat_subscriber_id": (TEXT, False, None),
        "revenuecat_original_transaction_id": (TEXT, False, None),
        "platform": (TEXT, False, None),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
    },
    "profiles": {
        "user_id": (V255, True, None),
        "name": (V255, False, None),
        "age": (INT, False, None),
        "bio": (TEXT, False, None),
        "photos": ("text[]", False, None),
        "interests": ("text[]", False, None),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
        "latitude": (LAT, False, None),
        "longitude": (LNG, False, None),
        "location_updated_at": (TSTZ, False, None),
        "is_verified": (BOOL, False, "false"),
        "verified_at": (TSTZ, False, None),
        "gender": ("character varying(50)", False, None),
        "sexual_preference": ("character varying(50)", False, None),
        "intent": ("character varying(50)", False, None),
    },
    "swipes": {
        "id": (UUID, True, GEN_UUID),
        "user_id": (TEXT, True, None),
        "target_user_id": (TEXT, True, None),
        "action": (TEXT, True, None),
        "created_at": (TSTZ, False, NOW),
    },
    "matches": {
        "id": (V255, True, None),
        "user_id_1": (V255, True, None),
        "user_id_2": (V255, True, None),
        "created_at": (TSTZ, False, NOW),
        "source": ("character varying(50)", False, "'swipe'::character varying"),
    },
    "blocks": {
        "id": (V255, True, None),
        "user_id": (V255, True, None),
        "blocked_user_id": (V255, True, None),
        "reason": (TEXT, False, None),
        "created_at": (TSTZ, False, NOW),
    },
    "ticket_ledger": {
        "id": (UUID, True, GEN_UUID),
        "user_id": (V255, True, None),
        "amount": (INT, True, None),
        "reason": ("character varying(50)", True, None),
        "reference_id": (V255, False, None),
        "created_at": (TSTZ, False, NOW),
    },
    "verifications": {
        "id": (UUID, True, GEN_UUID),
        "user_id": (V255, True, None),
        "selfie_key": (V255, True, None),
        "reference_photo_key": (V255, False, None),
        "gesture_prompt": ("character varying(50)", True, None),
        "similarity_score": ("numeric(5,2)", False, None),
        "rekognition_response": ("jsonb", False, None),
        "status": ("character varying(20)", False, "'pending'::character varying"),
        "rejection_reason": (TEXT, False, None),
        "created_at": (TSTZ, False, NOW),
        "processed_at": (TSTZ, False, None),
    },
    "fcm_tokens": {
        "id": (INT, True, "nextval('fcm_tokens_id_seq'::regclass)"),  # SERIAL
        "user_id": (V255, True, None),
        "token": (TEXT, True, None),
        "device_type": ("character varying(20)", False, None),
        "device_id": (V255, False, None),
        "is_active": (BOOL, False, "true"),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
        "last_used_at": (TSTZ, False, NOW),
    },
    "after_hours_profiles": {
        "user_id": (V255, True, None),
        "photo_url": (TEXT, True, None),
        "description": (TEXT, False, None),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
        "photo_hash": ("character varying(16)", False, None),
    },
    "after_hours_preferences": {
        "user_id": (V255, True, None),
        "seeking_gender": ("character varying(50)", True, "'Any'::character varying"),
        "max_distance_km": (INT, False, "10"),
        "interests": ("text[]", False, None),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
        "min_age": (INT, False, "18"),
        "max_age": (INT, False, "99"),
        "sexual_orientation": ("character varying(50)", False, None),
    },
    "after_hours_sessions": {
        "id": (UUID, True, GEN_UUID),
        "user_id": (V255, True, None),
        "started_at": (TSTZ, False, NOW),
        "expires_at": (TSTZ, True, None),
        "ended_at": (TSTZ, False, None),
        "latitude": (LAT, True, None),
        "longitude": (LNG, True, None),
        "fuzzed_latitude": (LAT, True, None),
        "fuzzed_longitude": (LNG, True, None),
        "created_at": (TSTZ, False, NOW),
    },
    "after_hours_matches": {
        "id": (UUID, True, GEN_UUID),
        "session_id": (UUID, True, None),
        "user_id_1": (V255, True, None),
        "user_id_2": (V255, True, None),
        "created_at": (TSTZ, False, NOW),
        "expires_at": (TSTZ, True, None),
        "user1_save_vote": (BOOL, False, "false"),
        "user2_save_vote": (BOOL, False, "false"),
        "converted_to_match_id": (V255, False, None),
        "declined_by": (V255, False, None),
        "declined_at": (TSTZ, False, None),
    },
    "after_hours_declines": {
        "id": (UUID, True, GEN_UUID),
        "session_id": (UUID, True, None),
        "user_id": (V255, True, None),
        "declined_user_id": (V255, True, None),
        "created_at": (TSTZ, False, NOW),
        "decline_count": (INT, False, "1"),
        "first_declined_at": (TSTZ, False, NOW),
        "last_session_id": (UUID, False, None),
    },
    "device_fingerprints": {
        "id": (UUID, True, GEN_UUID),
        "user_id": (V255, True, None),
        "session_id": (UUID, False, None),
        "device_id": (V255, False, None),
        "device_model": ("character varying(100)", False, None),
        "platform": ("character varying(20)", False, None),
        "created_at": (TSTZ, False, NOW),
    },
    "banned_photo_hashes": {
        "id": (UUID, True, GEN_UUID),
        "photo_hash": ("character varying(16)", True, None),
        "user_id": (V255, False, None),
        "reason": (TEXT, False, None),
        "created_at": (TSTZ, False, NOW),
    },
    "messages": {
        "id": (V255, True, None),
        "match_id": (V255, True, None),
        "sender_id": (V255, True, None),
        "text": (TEXT, True, None),
        "created_at": (TSTZ, False, NOW),
        "status": ("character varying(20)", False, "'sent'::character varying"),
        "delivered_at": (TSTZ, False, None),
        "read_at": (TSTZ, False, None),
        "temp_id": ("character varying(64)", False, None),  # chat 0002 (docs/contract.md, D20)
    },
    "read_receipts": {
        "message_id": (V255, True, None),
        "user_id": (V255, True, None),
        "read_at": (TSTZ, False, NOW),
    },
    "typing_indicators": {
        "match_id": (V255, True, None),
        "user_id": (V255, True, None),
        "is_typing": (BOOL, False, "false"),
        "started_at": (TSTZ, False, NOW),
    },
    "user_status": {
        "user_id": (V255, True, None),
        "is_online": (BOOL, False, "false"),
        "last_seen_at": (TSTZ, False, NOW),
        "socket_id": (V255, False, None),
        "updated_at": (TSTZ, False, NOW),
    },
    "date_proposals": {
        "id": (UUID, True, GEN_UUID),
        "match_id": (V255, True, None),
        "proposer_id": (V255, True, None),
        "place_id": (V255, False, None),
        "place_name": (V255, True, None),
        "place_address": ("character varying(500)", False, None),
        "place_lat": (LAT, False, None),
        "place_lng": (LNG, False, None),
        "proposed_date": ("date", True, None),
        "proposed_time": ("time without time zone", True, None),
        "note": (TEXT, False, None),
        "status": ("character varying(20)", False, "'pending'::character varying"),
        "responded_at": (TSTZ, False, None),
        "completed_at": (TSTZ, False, None),
        "proposer_confirmed": (BOOL, False, "false"),
        "recipient_confirmed": (BOOL, False, "false"),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
    },
    "reports": {
        "id": (V255, True, None),
        "reporter_id": (V255, True, None),
        "reported_user_id": (V255, True, None),
        "reason": ("character varying(100)", True, None),
        "details": (TEXT, False, None),
        "status": ("character varying(50)", False, "'pending'::character varying"),
        "created_at": (TSTZ, False, NOW),
        "updated_at": (TSTZ, False, NOW),
        "reviewed_by": (V255, False, None),
        "reviewed_at": (TSTZ, False, None),
        "resolution_notes": (TEXT, False, None),
    },
    "after_hours_messages": {
        "id": (UUID, True, GEN_UUID),
        "match_id": (UUID, True, None),
        "sender_id": (V255, True, None),
        "text": (TEXT, True, None),
        "created_at": (TSTZ, False, NOW),
    },
}
TABLES = sorted(COLUMNS)

PRIMARY_KEYS = {
    "users": ["id"],
    "user_subscriptions": ["id"],
    "profiles": ["user_id"],
    "swipes": ["id"],
    "matches": ["id"],
    "blocks": ["id"],
    "ticket_ledger": ["id"],
    "verifications": ["id"],
    "fcm_tokens": ["id"],
    "after_hours_profiles": ["user_id"],
    "after_hours_preferences": ["user_id"],
    "after_hours_sessions": ["id"],
    "after_hours_matches": ["id"],
    "after_hours_declines": ["id"],
    "device_fingerprints": ["id"],
    "banned_photo_hashes": ["id"],
    "messages": ["id"],
    "read_receipts": ["message_id", "user_id"],
    "typing_indicators": ["match_id", "user_id"],
    "user_status": ["user_id"],
    "date_proposals": ["id"],
    "reports": ["id"],
    "after_hours_messages": ["id"],
}

# (table, column) -> (referenced table, ON DELETE): a CASCADE, n SET NULL, a NO ACTION
FOREIGN_KEYS = {
    ("users", "referred_by"): ("users", "n"),
    ("user_subscriptions", "user_id"): ("users", "c"),
    ("profiles", "user_id"): ("users", "c"),
    ("swipes", "user_id"): ("users", "c"),
    ("swipes", "target_user_id"): ("users", "c"),
    ("matches", "user_id_1"): ("users", "c"),
    ("matches", "user_id_2"): ("users", "c"),
    ("blocks", "user_id"): ("users", "c"),
    ("blocks", "blocked_user_id"): ("users", "c"),
    ("ticket_ledger", "user_id"): ("users", "c"),
    ("verifications", "user_id"): ("users", "c"),
    ("fcm_tokens", "user_id"): ("users", "c"),
    ("after_hours_profiles", "user_id"): ("users", "c"),
    ("after_hours_preferences", "user_id"): ("users", "c"),
    ("after_hours_sessions", "user_id"): ("users", "c"),
    ("after_hours_matches", "session_id"): ("after_hours_sessions", "c"),
    ("after_hours_matches", "user_id_1"): ("users", "c"),
    ("after_hours_matches", "user_id_2"): ("users", "c"),
    ("after_hours_matches", "converted_to_match_id"): ("matches", "n"),  # profiles 0004 (contract D25)
    ("after_hours_matches", "declined_by"): ("users", "n"),
    ("after_hours_declines", "session_id"): ("after_hours_sessions", "c"),
    ("after_hours_declines", "user_id"): ("users", "c"),
    ("after_hours_declines", "declined_user_id"): ("users", "c"),
    ("device_fingerprints", "user_id"): ("users", "c"),
    ("device_fingerprints", "session_id"): ("after_hours_sessions", "n"),
    ("messages", "match_id"): ("matches", "c"),
    ("messages", "sender_id"): ("users", "c"),
    ("read_receipts", "message_id"): ("messages", "c"),
    ("read_receipts", "user_id"): ("users", "c"),
    ("typing_indicators", "match_id"): ("matches", "c"),
    ("typing_indicators", "user_id"): ("users", "c"),
    ("user_status", "user_id"): ("users", "c"),
    ("date_proposals", "match_id"): ("matches", "c"),
    ("date_proposals", "proposer_id"): ("users", "c"),
    ("reports", "reporter_id"): ("users", "c"),
    ("reports", "reported_user_id"): ("users", "c"),
    ("after_hours_messages", "match_id"): ("after_hours_matches", "c"),
    ("after_hours_messages", "sender_id"): ("users", "c"),
}

CHECKS = {
    ("profiles", "check_latitude"): (
        "CHECK (((latitude IS NULL) OR ((latitude >= ('-90'::integer)::numeric) AND (latitude <= (90)::numeric))))"
    ),
    ("profiles", "check_longitude"): (
        "CHECK (((longitude IS NULL) OR ((longitude >= ('-180'::integer)::numeric) "
        "AND (longitude <= (180)::numeric))))"
    ),
    ("profiles", "check_age_range"): "CHECK (((age IS NULL) OR ((age >= 18) AND (age <= 120))))",
    ("swipes", "swipes_action_check"): "CHECK ((action = ANY (ARRAY['like'::text, 'pass'::text])))",
    ("messages", "check_message_status"): (
        "CHECK (((status IS NULL) OR ((status)::text = ANY ((ARRAY['sent'::character varying, "
        "'delivered'::character varying, 'read'::character varying, 'failed'::character varying])::text[]))))"
    ),
    ("reports", "check_report_status"): (
        "CHECK (((status)::text = ANY ((ARRAY['pending'::character varying, 'reviewed'::character varying, "
        "'resolved'::character varying, 'dismissed'::character varying])::text[])))"
    ),
    ("fcm_tokens", "fcm_tokens_device_type_check"): (
        "CHECK (((device_type)::text = ANY ((ARRAY['ios'::character varying, 'android'::character varying, "
        "'web'::character varying])::text[])))"
    ),
}

# Every unique index that is not a primary key: name -> definition (pg_indexes.indexdef).
UNIQUE_INDEXES = {
    "user_subscriptions_user_id_revenuecat_original_transaction__key": (
        "CREATE UNIQUE INDEX user_subscriptions_user_id_revenuecat_original_transaction__key "
        "ON public.user_subscriptions USING btree (user_id, revenuecat_original_transaction_id)"
    ),
    "swipes_user_id_target_user_id_key": (
        "CREATE UNIQUE INDEX swipes_user_id_target_user_id_key ON public.swipes USING btree (user_id, target_user_id)"
    ),
    "matches_user_id_1_user_id_2_key": (
        "CREATE UNIQUE INDEX matches_user_id_1_user_id_2_key ON public.matches USING btree (user_id_1, user_id_2)"
    ),
    "matches_unordered_pair_unique": (
        "CREATE UNIQUE INDEX matches_unordered_pair_unique ON public.matches "
        "USING btree (LEAST(user_id_1, user_id_2), GREATEST(user_id_1, user_id_2))"
    ),
    "blocks_user_id_blocked_user_id_key": (
        "CREATE UNIQUE INDEX blocks_user_id_blocked_user_id_key ON public.blocks USING btree (user_id, blocked_user_id)"
    ),
    "ticket_ledger_one_time_award_unique": (
        "CREATE UNIQUE INDEX ticket_ledger_one_time_award_unique ON public.ticket_ledger USING btree (user_id, reason) "
        "WHERE ((reason)::text = ANY ((ARRAY['verification'::character varying, "
        "'first_match'::character varying])::text[]))"
    ),
    "fcm_tokens_user_id_token_key": (
        "CREATE UNIQUE INDEX fcm_tokens_user_id_token_key ON public.fcm_tokens USING btree (user_id, token)"
    ),
    "idx_after_hours_sessions_active_user": (
        "CREATE UNIQUE INDEX idx_after_hours_sessions_active_user ON public.after_hours_sessions "
        "USING btree (user_id) WHERE (ended_at IS NULL)"
    ),
    "after_hours_matches_session_id_user_id_1_user_id_2_key": (
        "CREATE UNIQUE INDEX after_hours_matches_session_id_user_id_1_user_id_2_key ON public.after_hours_matches "
        "USING btree (session_id, user_id_1, user_id_2)"
    ),
    "after_hours_declines_user_pair_unique": (
        "CREATE UNIQUE INDEX after_hours_declines_user_pair_unique ON public.after_hours_declines "
        "USING btree (user_id, declined_user_id)"
    ),
    "messages_match_sender_temp_id_unique": (
        "CREATE UNIQUE INDEX messages_match_sender_temp_id_unique ON public.messages "
        "USING btree (match_id, sender_id, temp_id) WHERE (temp_id IS NOT NULL)"
    ),
}

PARTIAL_INDEXES = {
    "idx_after_hours_sessions_active_user": UNIQUE_INDEXES["idx_after_hours_sessions_active_user"],
    "idx_ah_sessions_expires": (
        "CREATE INDEX idx_ah_sessions_expires ON public.after_hours_sessions USING btree (expires_at) "
        "WHERE (ended_at IS NULL)"
    ),
    "idx_ah_sessions_location": (
        "CREATE INDEX idx_ah_sessions_location ON public.after_hours_sessions "
        "USING btree (fuzzed_latitude, fuzzed_longitude) WHERE (ended_at IS NULL)"
    ),
    "idx_ah_matches_active": (
        "CREATE INDEX idx_ah_matches_active ON public.after_hours_matches USING btree (user_id_1, user_id_2) "
        "WHERE (declined_by IS NULL)"
    ),
    "idx_ah_matches_active_user1": (
        "CREATE INDEX idx_ah_matches_active_user1 ON public.after_hours_matches USING btree (user_id_1) "
        "WHERE (declined_by IS NULL)"
    ),
    "idx_ah_matches_active_user2": (
        "CREATE INDEX idx_ah_matches_active_user2 ON public.after_hours_matches USING btree (user_id_2) "
        "WHERE (declined_by IS NULL)"
    ),
    "idx_user_subscriptions_active": (
        "CREATE INDEX idx_user_subscriptions_active ON public.user_subscriptions USING btree (user_id, is_active) "
        "WHERE is_active"
    ),
    "ticket_ledger_one_time_award_unique": UNIQUE_INDEXES["ticket_ledger_one_time_award_unique"],
    "messages_match_sender_temp_id_unique": UNIQUE_INDEXES["messages_match_sender_temp_id_unique"],
}

# Plain (non-unique, non-partial) indexes of the original schema: table -> sorted column lists.
PLAIN_INDEXES = {
    "users": [["email"], ["referred_by"]],
    "profiles": [["age"], ["gender"], ["intent"], ["sexual_preference"]],
    "swipes": [["action"], ["user_id", "created_at"]],
    "matches": [["created_at"], ["source"], ["user_id_1"], ["user_id_2"]],
    "blocks": [["blocked_user_id"], ["user_id"]],
    "ticket_ledger": [["reason"], ["user_id"]],
    "verifications": [["status"], ["user_id"]],
    "fcm_tokens": [["is_active"], ["user_id"]],
    "after_hours_matches": [["expires_at"], ["session_id"], ["user_id_1", "user_id_2"]],
    "after_hours_declines": [["session_id"], ["user_id", "declined_user_id", "decline_count"]],
    "device_fingerprints": [["device_id"], ["user_id"]],
    "banned_photo_hashes": [["photo_hash"]],
    "messages": [
        ["created_at"],
        ["delivered_at"],
        ["match_id"],
        ["match_id", "created_at", "id"],  # ours: the history page (chat.0003)
        ["read_at"],
        ["sender_id"],
        ["status"],
    ],  # fmt: skip
    "read_receipts": [["message_id"], ["user_id"]],
    "user_status": [["is_online"], ["last_seen_at"]],
    "date_proposals": [["match_id"], ["proposed_date"], ["proposer_id"], ["status"]],
    "reports": [["reported_user_id"], ["reporter_id"], ["status"]],
    "after_hours_messages": [["created_at"], ["match_id"]],
}


def rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_tables_columns_types_nullability_and_defaults():
    found = rows(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname = ANY(%s)
           AND a.attnum > 0 AND NOT a.attisdropped
        """,
        [TABLES],
    )
    actual: dict[str, dict[str, tuple]] = {}
    for table, column, type_, not_null, default in found:
        actual.setdefault(table, {})[column] = (type_, not_null, default)
    assert actual == COLUMNS


def test_primary_keys():
    found = rows(
        """
        SELECT t.relname, array_agg(a.attname ORDER BY k.ord)
          FROM pg_constraint c
          JOIN pg_class t ON t.oid = c.conrelid
          CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
         WHERE c.contype = 'p' AND t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
         GROUP BY t.relname
        """,
        [TABLES],
    )
    assert dict(found) == PRIMARY_KEYS


def test_foreign_keys_and_their_on_delete_rules():
    found = rows(
        """
        SELECT t.relname, a.attname, r.relname, ra.attname, c.confdeltype, array_length(c.conkey, 1)
          FROM pg_constraint c
          JOIN pg_class t ON t.oid = c.conrelid
          JOIN pg_class r ON r.oid = c.confrelid
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
         WHERE c.contype = 'f' AND t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
        """,
        [TABLES],
    )
    assert all(ref_column == "id" and n == 1 for *_, ref_column, _rule, n in found)
    assert {(t, col): (ref, rule) for t, col, ref, _rc, rule, _n in found} == FOREIGN_KEYS
    assert len(found) == len(FOREIGN_KEYS)


def test_check_constraints():
    found = rows(
        """
        SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
          FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
         WHERE c.contype = 'c' AND t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
        """,
        [TABLES],
    )
    assert {(t, name): definition for t, name, definition in found} == CHECKS


def test_unique_constraints_and_unique_indexes():
    found = rows(
        """
        SELECT i.indexname, i.indexdef
          FROM pg_indexes i
          JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = 'public'::regnamespace
          JOIN pg_index x ON x.indexrelid = c.oid
         WHERE i.schemaname = 'public' AND i.tablename = ANY(%s) AND x.indisunique AND NOT x.indisprimary
        """,
        [TABLES],
    )
    assert dict(found) == UNIQUE_INDEXES


def test_partial_indexes():
    found = rows(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
        "AND indexdef LIKE '%% WHERE %%'",
        [TABLES],
    )
    assert dict(found) == PARTIAL_INDEXES


def test_plain_indexes_and_no_extra_indexes():
    found = rows(
        """
        SELECT t.relname, array_agg(a.attname ORDER BY k.ord)
          FROM pg_index x
          JOIN pg_class t ON t.oid = x.indrelid
          CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
         WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
           AND NOT x.indisunique AND x.indpred IS NULL
         GROUP BY x.indexrelid, t.relname
        """,
        [TABLES],
    )
    actual: dict[str, list[list[str]]] = {}
    for table, columns in found:
        actual.setdefault(table, []).append(columns)
    assert {t: sorted(v) for t, v in actual.items()} == PLAIN_INDEXES
    # Django's varchar_pattern_ops "_like" indexes are not created (the original has none).
    assert (
        rows(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s) AND indexname LIKE '%%like'", [TABLES]
        )
        == []
    )


def test_fcm_tokens_id_is_a_serial():
    assert rows("SELECT pg_get_serial_sequence('fcm_tokens', 'id')") == [("public.fcm_tokens_id_seq",)]
    assert rows(
        "SELECT attidentity FROM pg_attribute WHERE attrelid = 'fcm_tokens'::regclass AND attname = 'id'"
    ) == [("",)]
