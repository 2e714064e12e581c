"""The reports queue in the Django admin, for staff users.

Moderators filter reports by status, reason and kind (After Hours reports carry the reason prefix
`after_hours:`), and record a decision (reviewed, resolved, dismissed) with notes, one report from
its page or several at once from the list; the reviewing staff member and the time are recorded by
`report_review`. Reports are evidence: they are never added or deleted here.

Message text is private: the admin shows it only on a report's page, for the conversations between
the reporter and the reported user (their match and their After Hours matches). No other page
lists messages.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from chat.models import AfterHoursMessage, Message, Report
from chat.selectors import blocked_between, match_between
from chat.services.moderation import REVIEW_STATUSES, report_review
from profiles.admin import user_link
from profiles.models import AfterHoursMatch

AFTER_HOURS_PREFIX = "after_hours:"
# Enough to judge a report; older lines of a long conversation stay out of the page.
CONVERSATION_LIMIT = 200

DECISIONS = [(status, status.capitalize()) for status in REVIEW_STATUSES]


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("after_hours", "After Hours"), ("main", "Main app")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "after_hours":
            return queryset.filter(reason__startswith=AFTER_HOURS_PREFIX)
        if self.value() == "main":
            return queryset.exclude(reason__startswith=AFTER_HOURS_PREFIX)
        return queryset


class ReportReviewForm(forms.ModelForm):
    """A report's page edits only the decision and its notes; everything else is evidence."""

    status = forms.ChoiceField(label="Decision", choices=[("", "---------"), *DECISIONS])
    resolution_notes = forms.CharField(
        label="Resolution notes", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    class Meta:
        model = Report
        fields = ("status", "resolution_notes")


class ReviewNotesForm(forms.Form):
    notes = forms.CharField(
        label="Resolution notes", required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80})
    )


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    form = ReportReviewForm
    list_display = (
        "created_at",
        "status",
        "kind",
        "reason_display",
        "reporter_display",
        "reported_display",
        "reviewed_by",
        "reviewed_at",
    )
    list_display_links = ("created_at",)
    list_filter = ("status", KindFilter, "reason", "created_at")
    search_fields = ("=id", "=reporter__id", "=reported_user__id", "details")
    # The queue: pending reports first, newest first within each group.
    ordering = (  # type: ignore[assignment]  # Django takes expressions here; the stubs allow field names only
        Case(When(status="pending", then=Value(0)), default=Value(1), output_field=IntegerField()).asc(),
        "-created_at",
    )
    actions = ("mark_reviewed", "mark_resolved", "mark_dismissed")
    # A page of selected reports must fit in one form post (DATA_UPLOAD_MAX_NUMBER_FIELDS = 100).
    list_per_page = 50
    readonly_fields = (
        "id",
        "kind",
        "reason_display",
        "reporter_display",
        "reported_display",
        "details",
        "created_at",
        "current_status",
        "reviewed_by",
        "reviewed_at",
        "blocks",
        "conversation",
    )
    fieldsets = (
        (
            "Report",
            {
                "fields": (
                    "id",
                    "created_at",
                    "kind",
                    "reason_display",
                    "reporter_display",
                    "reported_display",
                    "details",
                    "blocks",
                )
            },
        ),
        (
            "Review",
            {"fields": ("current_status", "reviewed_by", "reviewed_at", "status", "resolution_notes")},
        ),
        ("Conversation between the two users", {"fields": ("conversation",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports come from app users

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- recording a decision ---------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Report, form: forms.ModelForm, change: bool) -> None:
        report_review(
            report_ids=[obj.pk],
            status=form.cleaned_data["status"],
            notes=form.cleaned_data["resolution_notes"],
            reviewer=request.user.get_username(),
        )

    def _review(self, request: HttpRequest, queryset: QuerySet, status: str) -> HttpResponse | None:
        """Ask for the notes on an intermediate page, then record the decision on every report."""
        if "apply" in request.POST:
            form = ReviewNotesForm(request.POST)
            if form.is_valid():
                changed = report_review(
                    report_ids=queryset.values_list("pk", flat=True),
                    status=status,
                    notes=form.cleaned_data["notes"],
                    reviewer=request.user.get_username(),
                )
                self.message_user(request, f"{changed} report(s) marked {status}.", messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Mark {queryset.count()} report(s) {status}",
            "opts": self.model._meta,
            "reports": queryset,
            "status": status,
            "action": request.POST.get("action", ""),
            "form": ReviewNotesForm(),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/chat/report/review_reports.html", context)

    @admin.action(description="Mark selected reports reviewed", permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, "reviewed")

    @admin.action(description="Mark selected reports resolved", permissions=["change"])
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, "resolved")

    @admin.action(description="Mark selected reports dismissed", permissions=["change"])
    def mark_dismissed(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._review(request, queryset, "dismissed")

    # --- what a moderator sees -----------------------------------------------------------------

    @admin.display(description="Kind")
    def kind(self, obj: Report) -> str:
        return "After Hours" if obj.reason.startswith(AFTER_HOURS_PREFIX) else "Main app"

    @admin.display(description="Reason", ordering="reason")
    def reason_display(self, obj: Report) -> str:
        return obj.reason.removeprefix(AFTER_HOURS_PREFIX)

    @admin.display(description="Reporter", ordering="reporter")
    def reporter_display(self, obj: Report) -> str:
        return user_link(obj.reporter_id)

    @admin.display(description="Reported user", ordering="reported_user")
    def reported_display(self, obj: Report) -> str:
        return user_link(obj.reported_user_id)

    @admin.display(description="Current status")
    def current_status(self, obj: Report) -> str:
        return obj.status or "pending"

    @admin.display(description="Blocks")
    def blocks(self, obj: Report) -> str:
        if blocked_between(user_a=obj.reporter_id, user_b=obj.reported_user_id):
            return "The two users have blocked each other (one way or both)."
        return "No block between the two users."

    @admin.display(description="Messages")
    def conversation(self, obj: Report) -> str:
        sections = [self._main_conversation(obj), *self._after_hours_conversations(obj)]
        sections = [s for s in sections if s]
        return (
            format_html_join("", "{}", ((s,) for s in sections))
            if sections
            else "No conversation between the two users."
        )

    def _main_conversation(self, obj: Report) -> str:
        match = match_between(user_a=obj.reporter_id, user_b=obj.reported_user_id)
        if match is None:
            return ""
        rows = Message.objects.filter(match_id=match.pk).order_by("-created_at", "-id")[:CONVERSATION_LIMIT]
        return _transcript(f"Match {match.pk}", rows.values_list("created_at", "sender_id", "text"), obj)

    def _after_hours_conversations(self, obj: Report) -> list[str]:
        pair = Q(user_1_id=obj.reporter_id, user_2_id=obj.reported_user_id) | Q(
            user_1_id=obj.reported_user_id, user_2_id=obj.reporter_id
        )
        out = []
        for match_id in (
            AfterHoursMatch.objects.filter(pair).order_by("-created_at").values_list("pk", flat=True)[:5]
        ):
            rows = AfterHoursMessage.objects.filter(match_id=match_id).order_by("-created_at", "-id")[
                :CONVERSATION_LIMIT
            ]
            out.append(
                _transcript(
                    f"After Hours match {match_id}", rows.values_list("created_at", "sender_id", "text"), obj
                )
            )
        return out


def _transcript(title: str, newest_first: QuerySet, report: Report) -> str:
    """One conversation, oldest line first, each line with its time and which of the two wrote it."""

    def who(sender_id: str) -> str:
        return "reporter" if sender_id == report.reporter_id else "reported user"

    def when(created_at: Any) -> str:
        return created_at.strftime("%Y-%m-%d %H:%M:%S UTC") if created_at else "-"

    lines = format_html_join(
        "",
        '<tr><td style="white-space:nowrap">{}</td><td>{}</td><td class="message-text">{}</td></tr>',
        (
            (when(created_at), who(sender_id), text)
            for created_at, sender_id, text in reversed(list(newest_first))
        ),
    )
    body = lines or format_html("<tr><td colspan=3>{}</td></tr>", "No messages stored.")
    return format_html("<h4>{}</h4><table><tbody>{}</tbody></table>", title, body)
