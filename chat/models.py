"""Chat tables of the VLVT schema. Conventions as in profiles/models.py (read its docstring)."""

from __future__ import annotations

import uuid

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from profiles.fields import VarCharField, db_owned_fk
from profiles.models import AfterHoursMatch, Match, User


def new_message_id() -> str:
    return f"msg_{uuid.uuid4()}"


def new_report_id() -> str:
    return f"report_{uuid.uuid4()}"


class Message(models.Model):
    id = VarCharField(primary_key=True, max_length=255, default=new_message_id)
    match = db_owned_fk(Match, "match_id", related_name="messages")
    sender = db_owned_fk(User, "sender_id")
    text = models.TextField()
    created_at = models.DateTimeField(null=True, db_default=Now())
    status = models.CharField(max_length=20, null=True, db_default="sent")  # sent|delivered|read|failed
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Migration 0002 (docs/contract.md, D20): the client's tempId, so a resend returns the stored message.
    temp_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "messages"
        constraints = [
            models.UniqueConstraint(
                fields=["match", "sender", "temp_id"],
                condition=Q(temp_id__isnull=False),
                name="messages_match_sender_temp_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__isnull=True) | Q(status__in=["sent", "delivered", "read", "failed"]),
                name="check_message_status",
            ),
        ]
        indexes = [
            models.Index(fields=["match"], name="idx_messages_match_id"),
            models.Index(fields=["sender"], name="idx_messages_sender_id"),
            models.Index(fields=["created_at"], name="idx_messages_created_at"),
            models.Index(fields=["status"], name="idx_messages_status"),
            models.Index(fields=["delivered_at"], name="idx_messages_delivered_at"),
            models.Index(fields=["read_at"], name="idx_messages_read_at"),
            # Migration 0003: the history page, newest first, without sorting the whole match.
            models.Index(fields=["match", "created_at", "id"], name="idx_messages_match_created_at"),
        ]


class ReadReceipt(models.Model):
    pk = models.CompositePrimaryKey("message_id", "user_id")
    message = db_owned_fk(Message, "message_id")
    user = db_owned_fk(User, "user_id")
    read_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "read_receipts"
        indexes = [
            models.Index(fields=["user"], name="idx_read_receipts_user_id"),
            models.Index(fields=["message"], name="idx_read_receipts_message_id"),
        ]


class TypingIndicator(models.Model):
    pk = models.CompositePrimaryKey("match_id", "user_id")
    match = db_owned_fk(Match, "match_id")
    user = db_owned_fk(User, "user_id")
    is_typing = models.BooleanField(null=True, db_default=False)
    started_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "typing_indicators"


class UserStatus(models.Model):
    user = db_owned_fk(User, "user_id", related_name="status", cls=models.OneToOneField, primary_key=True)
    is_online = models.BooleanField(null=True, db_default=False)
    last_seen_at = models.DateTimeField(null=True, db_default=Now())
    socket_id = models.CharField(max_length=255, null=True, blank=True)
    updated_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "user_status"
        indexes = [
            models.Index(fields=["is_online"], name="idx_user_status_is_online"),
            models.Index(fields=["last_seen_at"], name="idx_user_status_last_seen_at"),
        ]


class DateProposal(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    match = db_owned_fk(Match, "match_id", related_name="date_proposals")
    proposer = db_owned_fk(User, "proposer_id")
    place_id = models.CharField(max_length=255, null=True, blank=True)
    place_name = models.CharField(max_length=255)
    place_address = models.CharField(max_length=500, null=True, blank=True)
    place_lat = models.DecimalField(max_digits=10, decimal_places=8, null=True, blank=True)
    place_lng = models.DecimalField(max_digits=11, decimal_places=8, null=True, blank=True)
    proposed_date = models.DateField()
    proposed_time = models.TimeField()
    note = models.TextField(null=True, blank=True)
    # pending | accepted | declined | completed | cancelled (no CHECK in the original)
    status = models.CharField(max_length=20, null=True, db_default="pending")
    responded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    proposer_confirmed = models.BooleanField(null=True, db_default=False)
    recipient_confirmed = models.BooleanField(null=True, db_default=False)
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "date_proposals"
        indexes = [
            models.Index(fields=["match"], name="idx_date_proposals_match_id"),
            models.Index(fields=["proposer"], name="idx_date_proposals_proposer_id"),
            models.Index(fields=["status"], name="idx_date_proposals_status"),
            models.Index(fields=["proposed_date"], name="idx_date_proposals_date"),
        ]


class Report(models.Model):
    id = VarCharField(primary_key=True, max_length=255, default=new_report_id)
    reporter = db_owned_fk(User, "reporter_id")
    reported_user = db_owned_fk(User, "reported_user_id")
    reason = models.CharField(max_length=100)
    details = models.TextField(null=True, blank=True)
    status = models.CharField(max_length=50, null=True, db_default="pending")
    created_at = models.DateTimeField(null=True, db_default=Now())
    updated_at = models.DateTimeField(null=True, db_default=Now())
    reviewed_by = models.CharField(max_length=255, null=True, blank=True)  # not a foreign key
    reviewed_at = models.DateTimeField(null=True, blank=True)
    resolution_notes = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "reports"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "reviewed", "resolved", "dismissed"]),
                name="check_report_status",
            ),
        ]
        indexes = [
            models.Index(fields=["reporter"], name="idx_reports_reporter_id"),
            models.Index(fields=["reported_user"], name="idx_reports_reported_user_id"),
            models.Index(fields=["status"], name="idx_reports_status"),
        ]


class AfterHoursMessage(models.Model):
    id = models.UUIDField(primary_key=True, db_default=RandomUUID())
    match = db_owned_fk(AfterHoursMatch, "match_id", related_name="messages")
    sender = db_owned_fk(User, "sender_id")
    text = models.TextField()
    created_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        db_table = "after_hours_messages"
        indexes = [
            models.Index(fields=["match"], name="idx_ah_messages_match_id"),
            models.Index(fields=["created_at"], name="idx_ah_messages_created_at"),
        ]
