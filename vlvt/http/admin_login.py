"""The admin login, throttled per account and per address.

After LOGIN_FAILURES failed logins within LOGIN_WINDOW for one user name, or from one client
address (`client_ip`: TRUSTED_PROXY_HOPS applies), every further attempt for that name or from
that address is refused, even with the right password, until the window that the first counted
failure opened has passed. Failures are counted in Redis by the project's limiter, so the budget
holds across processes; a successful login counts nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from vlvt.http.ratelimit import Limiter, address_bucket

LOGIN_FAILURES = 5
LOGIN_WINDOW = 15 * 60
THROTTLED = "Too many failed login attempts. Please try again later."

per_account = Limiter("admin-login-account", LOGIN_WINDOW, LOGIN_FAILURES, THROTTLED)
per_address = Limiter("admin-login-ip", LOGIN_WINDOW, LOGIN_FAILURES, THROTTLED)


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {**AdminAuthenticationForm.error_messages, "throttled": THROTTLED}

    def clean(self) -> dict[str, Any]:
        account = (self.data.get("username") or "").strip().casefold()
        address = address_bucket(self.request) if self.request is not None else "unknown"
        if per_account.exhausted(account) or per_address.exhausted(address):
            # Checked before the password is: a right password must not tell itself apart.
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:  # a wrong password, or an account that may not log in here
            per_account.count(account)
            per_address.count(address)
            raise
