"""The Socket.IO-compatible realtime endpoint (`/socket.io/`) on Django Channels (docs/realtime.md).

protocol  Engine.IO v4 / Socket.IO v5 framing and handshake checks
auth      Origin check and the CONNECT token
consumer  the WebSocket consumer (heartbeat, namespace connect, events, acks, server events)
handlers  the client events and their acks (register more with `@handler`)
ratelimit per-user sliding windows in Redis
presence  per-user socket registry in Redis; status: the `user_status` and delivered writes
sweep     the periodic presence sweep after a crash (Celery); worker_loop: one event loop per worker
pump      one channel-layer reader per process; throttle: the cap on concurrent Redis work
http      the Engine.IO errors for HTTP requests to /socket.io/ (long-polling is refused)
conf      timings from the environment
"""
