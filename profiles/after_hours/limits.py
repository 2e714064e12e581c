"""Rate limits of the After Hours routes (docs/contract.md, D2: the original had none), per user in Redis.

`general` is one budget per user across every After Hours route; clients poll the current match
and the session, so it is generous. Photo uploads (image processing, storage) get their own.
"""

from __future__ import annotations

from vlvt.http.ratelimit import Limiter

general = Limiter("after-hours", 60, 120, "Too many After Hours requests, please slow down", per_user=True)
photo_upload = Limiter(
    "after-hours-photo-upload", 60 * 60, 10, "Too many photo uploads, please try again later", per_user=True
)
