"""After Hours chat (docs/contract.md, "After Hours chat", D25 and D26).

selectors        reads: a match's state in one statement, the history page, read-receipt ids
services/        writes: messages (send, typing and read relays), conversion (the save vote),
                 safety (block, report), cleanup (the daily purge, in bounded batches)
events, push     what users hear: socket events after commit, the two save pushes
socket_handlers  the five `after_hours:*` client events (registered in ChatConfig.ready())
bridge           the per-process subscriber to `after_hours:events` relaying to local sockets
views, urls      REST at /after-hours/*, /api/after-hours/* and /api/v1/after-hours/*
tasks            the 03:00 UTC cleanup task
"""
