"""Rate limits of profile-service (docs/contract.md, "Rate limits"). One instance per original
limiter: routes sharing an instance share its bucket (generalLimiter is one 100-per-15-minutes
budget per IP across all its routes)."""

from __future__ import annotations

from vlvt.http.ratelimit import Limiter

general = Limiter(
    "general", 15 * 60, 100, "Too many requests from this IP, please try again after 15 minutes"
)
profile_creation = Limiter(
    "profile-creation", 60 * 60, 3, "Too many profile creation attempts, please try again later"
)
discovery = Limiter("discovery", 60, 60, "Too many discovery requests, please slow down")
profile_update = Limiter(
    "user-profile-update", 15 * 60, 20, "Too many profile updates, please try again later", per_user=True
)
sensitive_action = Limiter(
    "user-sensitive", 60 * 60, 5, "Too many sensitive action attempts, please try again later", per_user=True
)
photo_upload = Limiter(
    "user-photo-upload", 60 * 60, 10, "Too many photo uploads, please try again later", per_user=True
)
swipe = Limiter("user-swipe", 15 * 60, 100, "Too many swipe actions, please slow down", per_user=True)
