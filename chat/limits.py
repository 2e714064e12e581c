"""HTTP rate limits of chat-service, stored in Redis so they hold across processes (docs/contract.md,
"Rate limits").

`general` is ONE bucket per client IP shared by every route that uses it, including the After Hours
chat routes (the original mounted them behind the same limiter instance). Its name differs from
profile-service's general limiter: the two services had separate stores, so a client's profile
traffic never ate into its chat budget, and the monolith keeps it that way.
"""

from __future__ import annotations

from vlvt.http.ratelimit import Limiter

general = Limiter(
    "chat-general", 15 * 60, 100, "Too many requests from this IP, please try again after 15 minutes"
)
match_create = Limiter(
    "user-match", 15 * 60, 15, "Too many match attempts, please try again later", per_user=True
)
message_send = Limiter("user-message", 60, 30, "Too many messages, please slow down", per_user=True)
report_create = Limiter(
    "user-report", 24 * 3600, 5, "Too many reports submitted, please try again tomorrow", per_user=True
)
block_create = Limiter(
    "user-block", 3600, 10, "Too many block actions, please try again later", per_user=True
)
sensitive_action = Limiter(
    "chat-user-sensitive",
    3600,
    5,
    "Too many sensitive action attempts, please try again later",
    per_user=True,
)
