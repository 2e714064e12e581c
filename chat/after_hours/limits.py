"""Rate limits of the After Hours chat routes (docs/contract.md, D2), per user in Redis.

The original put these routes behind the one per-IP general limiter; a per-user budget holds
across processes and behind carrier NAT. Block and report also count against the same per-user
budgets as `POST /blocks` and `POST /reports` (one bucket each: 10 blocks an hour, 5 reports a day).
"""

from __future__ import annotations

from chat import limits as chat_limits
from vlvt.http.ratelimit import Limiter

general = Limiter("after-hours-chat", 60, 60, "Too many requests, please slow down", per_user=True)
block = chat_limits.block_create
report = chat_limits.report_create
