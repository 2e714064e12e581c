"""Moderation in the Django admin (staff logins are Django's `auth_user`; the app's users are the
`users` table that auth-service owns).

What staff can do here: look up app users with their profile, photos and verification state,
look at blocks and at After Hours sessions and matches, and ban After Hours photos by perceptual
hash. Everything except the banned hashes is read-only: the app's rows are changed by the app (its
services keep storage, events and counters consistent), not by hand. Reports are in chat/admin.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.timezone import now

from profiles import images, storage
from profiles.models import (
    AfterHoursMatch,
    AfterHoursProfile,
    AfterHoursSession,
    BannedPhotoHash,
    Block,
    Profile,
    User,
    Verification,
)
from profiles.services.moderation import banned_photo_hash_add, normalise_hash, photo_hash_of_upload

admin.site.site_header = "VLVT moderation"
admin.site.site_title = "VLVT moderation"
admin.site.index_title = "Moderation"


def user_link(user_id: str | None) -> str:
    """An app user's id, linked to their page in the admin."""
    if not user_id:
        return "-"
    # quote(): the admin's own escaping of ids in URLs (an `_` would otherwise be read as an escape).
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:profiles_user_change", args=[quote(user_id)]), user_id
    )


class ReadOnlyAdminMixin:
    """Rows the app (or auth-service) writes: staff look, they do not edit or delete them here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _photo_tags(values: list[str] | None) -> str:
    """Stored photos as small images; a URL a user typed in is shown as text, never loaded (it
    would tell an outside host that a moderator is looking)."""
    keys = [v for v in values or [] if v and not storage.is_passthrough(v)]
    others = [v for v in values or [] if v and storage.is_passthrough(v)]
    tags = format_html_join(
        "",
        '<img src="{}" alt="photo" style="height:120px;margin:0 6px 6px 0">',
        ((storage.resolve_url(k),) for k in keys),
    )
    listed = format_html_join("", "<div>{}</div>", ((v,) for v in others))
    return format_html("{}{}", tags, listed) if keys or others else "-"


class ProfileInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Profile
    can_delete = False
    fields = (
        "name",
        "age",
        "gender",
        "sexual_preference",
        "intent",
        "bio",
        "interests",
        "photo_previews",
        "is_verified",
        "verified_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="Photos")
    def photo_previews(self, obj: Profile) -> str:
        return _photo_tags(obj.photos)


class VerificationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Verification
    fk_name = "user"
    fields = (
        "status",
        "gesture_prompt",
        "similarity_score",
        "rejection_reason",
        "created_at",
        "processed_at",
    )
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0


@admin.register(User)
class AppUserAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "profile_name", "email", "provider", "id_verified", "photo_verified", "created_at")
    list_filter = ("provider", "id_verified", "profile__is_verified", "after_hours_consent")
    search_fields = ("=id", "email", "profile__name")
    list_select_related = ("profile",)
    ordering = ("-created_at", "id")
    show_full_result_count = False  # COUNT(*) of `users` on every page is wasted work
    fields = (
        "id",
        "provider",
        "email",
        "created_at",
        "updated_at",
        "id_verified",
        "id_verified_at",
        "after_hours_consent",
        "after_hours_consent_at",
        "referred_by",
        "moderation",
    )
    readonly_fields = fields
    inlines = (ProfileInline, VerificationInline)

    @admin.display(description="Name", ordering="profile__name")
    def profile_name(self, obj: User) -> str:
        profile = getattr(obj, "profile", None)
        return (profile.name or "-") if profile else "(no profile)"

    @admin.display(description="Photo verified", boolean=True)
    def photo_verified(self, obj: User) -> bool | None:
        profile = getattr(obj, "profile", None)
        return bool(profile.is_verified) if profile else None

    @admin.display(description="Moderation")
    def moderation(self, obj: User) -> str:
        reports = reverse("admin:chat_report_changelist")
        blocks = reverse("admin:profiles_block_changelist")
        links = [
            (reports, "reported_user", "reports about this user"),
            (reports, "reporter", "reports by this user"),
            (blocks, "blocked_user", "blocked by others"),
            (blocks, "user", "blocks made"),
        ]
        return format_html_join(
            " · ",
            '<a href="{}?{}">{}</a>',
            ((url, urlencode({field: obj.pk}), label) for url, field, label in links),
        )


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "user_display",
        "status",
        "gesture_prompt",
        "similarity_score",
        "created_at",
        "processed_at",
    )
    list_filter = ("status", "gesture_prompt")
    search_fields = ("=user__id",)
    ordering = ("-created_at",)
    exclude = ("rekognition_response",)  # the raw AWS answer: nothing a moderator decides on

    @admin.display(description="User", ordering="user")
    def user_display(self, obj: Verification) -> str:
        return user_link(obj.user_id)


@admin.register(Block)
class BlockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "user_display", "blocked_display", "reason")
    list_filter = ("created_at",)
    search_fields = ("=user__id", "=blocked_user__id", "reason")
    ordering = ("-created_at", "id")

    @admin.display(description="Blocked by", ordering="user")
    def user_display(self, obj: Block) -> str:
        return user_link(obj.user_id)

    @admin.display(description="Blocked user", ordering="blocked_user")
    def blocked_display(self, obj: Block) -> str:
        return user_link(obj.blocked_user_id)


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("ended", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "open":
            return queryset.filter(ended_at__isnull=True)
        if self.value() == "ended":
            return queryset.filter(ended_at__isnull=False)
        return queryset


@admin.register(AfterHoursSession)
class AfterHoursSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "user_display", "started_at", "expires_at", "ended_at", "is_open")
    list_filter = (SessionStateFilter, "started_at")
    search_fields = ("=id", "=user__id")
    ordering = ("-started_at",)
    # The exact location stays out of the admin: the fuzzed one is what other users could learn.
    exclude = ("latitude", "longitude")

    @admin.display(description="User", ordering="user")
    def user_display(self, obj: AfterHoursSession) -> str:
        return user_link(obj.user_id)

    @admin.display(description="Open", boolean=True)
    def is_open(self, obj: AfterHoursSession) -> bool:
        return obj.ended_at is None


class MatchStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("active", "Active"),
            ("ended", "Ended (declined or expired)"),
            ("saved", "Saved (converted)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(declined_by__isnull=True, declined_at__isnull=True, expires_at__gt=now())
        if self.value() == "ended":
            return queryset.exclude(declined_by__isnull=True, declined_at__isnull=True, expires_at__gt=now())
        if self.value() == "saved":
            return queryset.filter(converted_to_match__isnull=False)
        return queryset


@admin.register(AfterHoursMatch)
class AfterHoursMatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "user_1_display",
        "user_2_display",
        "created_at",
        "expires_at",
        "user1_save_vote",
        "user2_save_vote",
        "declined_by",
        "declined_at",
        "converted_to_match",
    )
    list_filter = (MatchStateFilter, "created_at")
    search_fields = ("=id", "=user_1__id", "=user_2__id", "=session__id")
    ordering = ("-created_at",)

    @admin.display(description="User 1", ordering="user_1")
    def user_1_display(self, obj: AfterHoursMatch) -> str:
        return user_link(obj.user_1_id)

    @admin.display(description="User 2", ordering="user_2")
    def user_2_display(self, obj: AfterHoursMatch) -> str:
        return user_link(obj.user_2_id)


@admin.register(AfterHoursProfile)
class AfterHoursProfileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user_display", "photo_hash", "updated_at")
    search_fields = ("=user__id", "=photo_hash")
    ordering = ("-updated_at",)
    fields = ("user", "photo_preview", "photo_hash", "description", "created_at", "updated_at")
    readonly_fields = fields
    actions = ("ban_photos",)
    list_per_page = 50  # a page of selected rows must fit in one form post (DATA_UPLOAD_MAX_NUMBER_FIELDS)

    @admin.display(description="User", ordering="user")
    def user_display(self, obj: AfterHoursProfile) -> str:
        return user_link(obj.user_id)

    @admin.display(description="Photo")
    def photo_preview(self, obj: AfterHoursProfile) -> str:
        return _photo_tags([obj.photo_url])

    @admin.action(description="Ban the photos of the selected After Hours profiles", permissions=["ban"])
    def ban_photos(self, request: HttpRequest, queryset: QuerySet) -> None:
        banned = 0
        for profile in queryset.exclude(photo_hash__isnull=True).exclude(photo_hash=""):
            banned_photo_hash_add(
                photo_hash=profile.photo_hash,
                user_id=profile.user_id,
                reason=f"Banned from the admin by {request.user.get_username()}",
            )
            banned += 1
        self.message_user(request, f"{banned} photo hash(es) banned.", messages.SUCCESS)

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("profiles.add_bannedphotohash")


class BannedPhotoHashForm(forms.ModelForm):
    """A hash typed in, or a photo whose hash is computed as an After Hours upload would get it."""

    photo = forms.FileField(
        required=False, help_text="An image (JPEG, PNG, WebP); its perceptual hash is computed and banned."
    )
    photo_hash = forms.CharField(
        required=False,
        max_length=16,
        help_text="Or the 16 hexadecimal digits of a hash, e.g. from an After Hours profile.",
    )

    class Meta:
        model = BannedPhotoHash
        fields = ("photo", "photo_hash", "user_id", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # ModelForm.clean returns cleaned_data
        photo, typed = data.get("photo"), (data.get("photo_hash") or "").strip()
        if bool(photo) == bool(typed):
            raise forms.ValidationError("Give either a photo or a hash (one of the two).")
        try:
            data["photo_hash"] = photo_hash_of_upload(photo.read()) if photo else normalise_hash(typed)
        except images.ImageRejected as exc:
            self.add_error("photo", exc.message)
        except ValueError as exc:
            self.add_error("photo_hash", str(exc))
        return data


@admin.register(BannedPhotoHash)
class BannedPhotoHashAdmin(admin.ModelAdmin):
    form = BannedPhotoHashForm
    list_display = ("photo_hash", "user_display", "reason", "created_at")
    search_fields = ("=photo_hash", "=user_id", "reason")
    ordering = ("-created_at",)

    def get_fields(self, request: HttpRequest, obj: BannedPhotoHash | None = None) -> tuple[str, ...]:
        return (
            ("photo_hash", "user_id", "reason", "created_at")
            if obj is not None
            else ("photo", "photo_hash", "user_id", "reason")
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a ban is added or lifted (deleted), never edited into another one

    def save_model(
        self, request: HttpRequest, obj: BannedPhotoHash, form: forms.ModelForm, change: bool
    ) -> None:
        created = banned_photo_hash_add(
            photo_hash=form.cleaned_data["photo_hash"],
            user_id=form.cleaned_data.get("user_id"),
            reason=form.cleaned_data.get("reason"),
        )
        obj.pk, obj.photo_hash = created.pk, created.photo_hash

    @admin.display(description="User", ordering="user_id")
    def user_display(self, obj: BannedPhotoHash) -> str:
        return user_link(obj.user_id)  # the user may be gone: bans outlive users
