"""The VLVT schema shared with the original services (tables, columns and types as the original).

Conventions (read before writing queries):

* Table and column names are the original's (`db_table`, `db_column`). A foreign key field is named
  after its column without `_id`: column `user_id_1` -> field `user_1`, so `match.user_1_id` is the
  raw id and filters can use `user_1_id=...` without a join.
* Defaults live in the database (`db_default`) so rows inserted by other services (auth-service,
  the original Node services during a migration) get the same values as rows inserted here.
* Foreign keys: `db_constraint=False` plus `on_delete=DO_NOTHING`. The real constraints, with the
  original ON DELETE rules (CASCADE / SET NULL), are created by RunSQL in the initial migrations,
  because Django 5.2 cannot express a database-level ON DELETE and auth-service deletes users with
  plain SQL. The database therefore does the cascading for everybody; a Python-level CASCADE would
  only duplicate it (and load every related row into memory first).
* Index names are at most 30 characters (a Django limit); `adopt_database` compares indexes of an
  existing database by definition, not by name.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models import Q
from django.db.models.functions import Greatest, Least, Now

from profiles.fields import SerialAutoField, TextForeignKey, VarCharField, db_owned_fk


def new_match_id() -> str:
    return f"match_{uuid.uuid4()}"


def new_block_id() -> str:
    return f"block_{uuid.uuid4()}"


class User(models.Model):
    """`users`, owned by auth-service in production; written here only in development and tests."""

    id = VarCharField(primary_key=True, max_length=255)
    provider = models.CharField(max_length=50)
    email = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())
    referred_by = db_owned_fk("self", "referred_by", null=True, related_name="referrals")
    id_verified = models.BooleanField(null=True, db_default=False)
    id_verified_at = models.DateTimeField(null=True, blank=True)
    kycaid_applicant_id = models.CharField(max_length=255, null=True, blank=True)
    after_hours_consent = models.BooleanField(null=True, db_default=False)
    after_hours_consent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "users"
        indexes = [
            models.Index(fields=["email"], name="idx_users_email"),
            models.Index(fields=["referred_by"], name="idx_users_referred_by"),
        ]

    def __str__(self) -> str:
        return self.id


class UserSubscription(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    user = db_owned_fk(User, "user_id", related_name="subscriptions", cls=TextForeignKey)
    is_active = models.BooleanField(db_default=False)
    product_id = models.TextField(null=True, blank=True)
    purchase_date = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # NULL = lifetime
    revenuecat_subscriber_id = models.TextField(null=True, blank=True)
    revenuecat_original_transaction_id = models.TextField(null=True, blank=True)
    platform = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "user_subscriptions"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "revenuecat_original_transaction_id"],
                name="user_subscriptions_user_id_revenuecat_original_transaction__key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "is_active"],
                name="idx_user_subscriptions_active",
                condition=Q(is_active=True),
            ),
        ]


class Profile(models.Model):
    user = db_owned_fk(User, "user_id", related_name="profile", cls=models.OneToOneField, primary_key=True)
    name = models.CharField(max_length=255, null=True, blank=True)
    age = models.IntegerField(null=True, blank=True)
    bio = models.TextField(null=True, blank=True)
    photos = ArrayField(models.TextField(), null=True, blank=True)
    interests = ArrayField(models.TextField(), null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())
    latitude = models.DecimalField(max_digits=10, decimal_places=8, null=True, blank=True)
    longitude = models.DecimalField(max_digits=11, decimal_places=8, null=True, blank=True)
    location_updated_at = models.DateTimeField(null=True, blank=True)
    is_verified = models.BooleanField(null=True, db_default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    gender = models.CharField(max_length=50, null=True, blank=True)  # Male, Female, Non-Binary
    sexual_preference = models.CharField(max_length=50, null=True, blank=True)
    intent = models.CharField(max_length=50, null=True, blank=True)

    class Meta:
        db_table = "profiles"
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="check_latitude",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="check_longitude",
            ),
            models.CheckConstraint(
                condition=Q(age__isnull=True) | Q(age__gte=18, age__lte=120), name="check_age_range"
            ),
        ]
        indexes = [
            models.Index(fields=["age"], name="idx_profiles_age"),
            models.Index(fields=["gender"], name="idx_profiles_gender"),
            models.Index(fields=["sexual_preference"], name="idx_profiles_sexual_preference"),
            models.Index(fields=["intent"], name="idx_profiles_intent"),
        ]


class Swipe(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    user = db_owned_fk(User, "user_id", related_name="swipes", cls=TextForeignKey)
    target_user = db_owned_fk(User, "target_user_id", cls=TextForeignKey)
    action = models.TextField()  # 'like' | 'pass'
    created_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "swipes"
        constraints = [
            models.UniqueConstraint(fields=["user", "target_user"], name="swipes_user_id_target_user_id_key"),
            models.CheckConstraint(condition=Q(action__in=["like", "pass"]), name="swipes_action_check"),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], name="idx_swipes_user_created"),
            models.Index(fields=["action"], name="idx_swipes_action"),
        ]


class Match(models.Model):
    """A classic match. Pair order is not meaningful; migration 0003 makes the pair unique either way."""

    id = VarCharField(primary_key=True, max_length=255, default=new_match_id)
    user_1 = db_owned_fk(User, "user_id_1")
    user_2 = db_owned_fk(User, "user_id_2")
    created_at = models.DateTimeField(null=True, db_default=Now())
    source = models.CharField(max_length=50, null=True, db_default="swipe")  # 'swipe' | 'after_hours'

    class Meta:
        db_table = "matches"
        constraints = [
            # The original's order-sensitive constraint, kept for ON CONFLICT (user_id_1, user_id_2).
            models.UniqueConstraint(fields=["user_1", "user_2"], name="matches_user_id_1_user_id_2_key"),
            # Migration 0003 (docs/contract.md, D9): one match per unordered pair.
            models.UniqueConstraint(
                Least("user_1", "user_2"), Greatest("user_1", "user_2"), name="matches_unordered_pair_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["user_1"], name="idx_matches_user_id_1"),
            models.Index(fields=["user_2"], name="idx_matches_user_id_2"),
            models.Index(fields=["created_at"], name="idx_matches_created_at"),
            models.Index(fields=["source"], name="idx_matches_source"),
        ]


class Block(models.Model):
    id = VarCharField(primary_key=True, max_length=255, default=new_block_id)
    user = db_owned_fk(User, "user_id", related_name="blocks")
    blocked_user = db_owned_fk(User, "blocked_user_id")
    reason = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "blocks"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "blocked_user"], name="blocks_user_id_blocked_user_id_key"
            ),
        ]
        indexes = [
            models.Index(fields=["user"], name="idx_blocks_user_id"),
            models.Index(fields=["blocked_user"], name="idx_blocks_blocked_user_id"),
        ]


class TicketLedger(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    user = db_owned_fk(User, "user_id", related_name="ticket_entries")
    amount = models.IntegerField()
    reason = models.CharField(max_length=50)  # verification, first_match, date_completed, referral_bonus...
    reference_id = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "ticket_ledger"
        constraints = [
            # Migration 0002 (docs/contract.md, D10): one-time awards cannot be paid twice, even under races.
            models.UniqueConstraint(
                fields=["user", "reason"],
                condition=Q(reason__in=["verification", "first_match"]),
                name="ticket_ledger_one_time_award_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["user"], name="idx_ticket_ledger_user_id"),
            models.Index(fields=["reason"], name="idx_ticket_ledger_reason"),
        ]


class Verification(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    user = db_owned_fk(User, "user_id", related_name="verifications")
    selfie_key = models.CharField(max_length=255)
    reference_photo_key = models.CharField(max_length=255, null=True, blank=True)
    gesture_prompt = models.CharField(max_length=50)
    similarity_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    rekognition_response = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, null=True, db_default="pending")
    rejection_reason = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "verifications"
        indexes = [
            models.Index(fields=["user"], name="idx_verifications_user_id"),
            models.Index(fields=["status"], name="idx_verifications_status"),
        ]


class FcmToken(models.Model):
    id = SerialAutoField(primary_key=True)
    user = db_owned_fk(User, "user_id", related_name="fcm_tokens")
    token = models.TextField()
    device_type = models.CharField(max_length=20, null=True, blank=True)  # ios | android | web
    device_id = models.CharField(max_length=255, null=True, blank=True)
    is_active = models.BooleanField(null=True, db_default=True)
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())
    last_used_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "fcm_tokens"
        constraints = [
            models.UniqueConstraint(fields=["user", "token"], name="fcm_tokens_user_id_token_key"),
            models.CheckConstraint(
                condition=Q(device_type__in=["ios", "android", "web"]), name="fcm_tokens_device_type_check"
            ),
        ]
        indexes = [
            models.Index(fields=["user"], name="idx_fcm_tokens_user_id"),
            models.Index(fields=["is_active"], name="idx_fcm_tokens_is_active"),
        ]


class AfterHoursProfile(models.Model):
    user = db_owned_fk(
        User, "user_id", related_name="after_hours_profile", cls=models.OneToOneField, primary_key=True
    )
    photo_url = models.TextField()  # '' until a photo is uploaded, then the storage key
    description = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())
    photo_hash = models.CharField(max_length=16, null=True, blank=True)

    class Meta:
        db_table = "after_hours_profiles"


class AfterHoursPreferences(models.Model):
    user = db_owned_fk(
        User, "user_id", related_name="after_hours_preferences", cls=models.OneToOneField, primary_key=True
    )
    seeking_gender = models.CharField(max_length=50, db_default="Any")
    max_distance_km = models.IntegerField(null=True, db_default=10)
    interests = ArrayField(models.TextField(), null=True, blank=True)  # unused by the services
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())
    min_age = models.IntegerField(null=True, db_default=18)
    max_age = models.IntegerField(null=True, db_default=99)
    sexual_orientation = models.CharField(max_length=50, null=True, blank=True)

    class Meta:
        db_table = "after_hours_preferences"


class AfterHoursSession(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    user = db_owned_fk(User, "user_id", related_name="after_hours_sessions")
    started_at = models.DateTimeField(null=True, db_default=Now())
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)  # NULL = active
    latitude = models.DecimalField(max_digits=10, decimal_places=8)
    longitude = models.DecimalField(max_digits=11, decimal_places=8)
    fuzzed_latitude = models.DecimalField(max_digits=10, decimal_places=8)
    fuzzed_longitude = models.DecimalField(max_digits=11, decimal_places=8)
    created_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "after_hours_sessions"
        constraints = [
            # One open session per user; a concurrent start hits this and gets 409.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(ended_at__isnull=True),
                name="idx_after_hours_sessions_active_user",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], name="idx_ah_sessions_expires", condition=Q(ended_at__isnull=True)
            ),
            models.Index(
                fields=["fuzzed_latitude", "fuzzed_longitude"],
                name="idx_ah_sessions_location",
                condition=Q(ended_at__isnull=True),
            ),
        ]


class AfterHoursMatch(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    session = db_owned_fk(AfterHoursSession, "session_id", related_name="matches")
    user_1 = db_owned_fk(User, "user_id_1")
    user_2 = db_owned_fk(User, "user_id_2")
    created_at = models.DateTimeField(null=True, db_default=Now())
    expires_at = models.DateTimeField()
    user1_save_vote = models.BooleanField(null=True, db_default=False)
    user2_save_vote = models.BooleanField(null=True, db_default=False)
    # Original: no ON DELETE action; migration 0004 makes it SET NULL (docs/contract.md, D25).
    converted_to_match = db_owned_fk(Match, "converted_to_match_id", null=True)
    declined_by = db_owned_fk(User, "declined_by", null=True)  # NULL = active; SET NULL when that user goes
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "after_hours_matches"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "user_1", "user_2"],
                name="after_hours_matches_session_id_user_id_1_user_id_2_key",
            ),
        ]
        indexes = [
            models.Index(fields=["session"], name="idx_ah_matches_session"),
            models.Index(fields=["user_1", "user_2"], name="idx_ah_matches_users"),
            models.Index(fields=["expires_at"], name="idx_ah_matches_expires"),
            models.Index(
                fields=["user_1", "user_2"],
                name="idx_ah_matches_active",
                condition=Q(declined_by__isnull=True),
            ),
            models.Index(
                fields=["user_1"], name="idx_ah_matches_active_user1", condition=Q(declined_by__isnull=True)
            ),
            models.Index(
                fields=["user_2"], name="idx_ah_matches_active_user2", condition=Q(declined_by__isnull=True)
            ),
        ]


class AfterHoursDecline(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    session = db_owned_fk(AfterHoursSession, "session_id")
    user = db_owned_fk(User, "user_id")
    declined_user = db_owned_fk(User, "declined_user_id")
    created_at = models.DateTimeField(null=True, db_default=Now())
    decline_count = models.IntegerField(null=True, db_default=1)
    first_declined_at = models.DateTimeField(null=True, db_default=Now())
    last_session_id = models.UUIDField(null=True, blank=True)  # not a foreign key in the original

    class Meta:
        db_table = "after_hours_declines"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "declined_user"], name="after_hours_declines_user_pair_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["session"], name="idx_ah_declines_session"),
            models.Index(fields=["user", "declined_user", "decline_count"], name="idx_ah_declines_count"),
        ]


class DeviceFingerprint(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    user = db_owned_fk(User, "user_id")
    session = db_owned_fk(AfterHoursSession, "session_id", null=True)  # SET NULL when the session goes
    device_id = models.CharField(max_length=255, null=True, blank=True)
    device_model = models.CharField(max_length=100, null=True, blank=True)
    platform = models.CharField(max_length=20, null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "device_fingerprints"
        indexes = [
            models.Index(fields=["user"], name="idx_device_fp_user_id"),
            models.Index(fields=["device_id"], name="idx_device_fp_device_id"),
        ]


class BannedPhotoHash(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    photo_hash = models.CharField(max_length=16)
    user_id = models.CharField(max_length=255, null=True, blank=True)  # not a foreign key: bans outlive users
    reason = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "banned_photo_hashes"
        indexes = [models.Index(fields=["photo_hash"], name="idx_banned_photo_hashes_hash")]
