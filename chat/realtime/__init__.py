"""The Socket.IO-compatible realtime endpoint (`/socket.io/`) on Django Channels (docs/realtime.md):
transport only. What the chat application does with it (the client events, presence transitions,
delivered-or-push) it registers in ChatConfig.ready(); nothing here imports the chat domain.

protocol  Engine.IO v4 / Socket.IO v5 framing and handshake checks
auth      Origin check and the CONNECT token
consumer  the WebSocket consumer (heartbeat, namespace connect, events, acks, server events)
handlers  the registry of client events (`@handler`) and the application's hooks
registry  this process's connected sockets by user (the After Hours bridge reaches them here)
groups    Channels group names and the layer messages that carry socket events
ratelimit per-user sliding windows in Redis
presence  per-user socket registry in Redis, the truth of who is online
pump      one channel-layer reader per process; throttle: the cap on concurrent Redis work
layer     the channel layer; worker_loop: one event loop per Celery worker
http      the Engine.IO errors for HTTP requests to /socket.io/ (long-polling is refused)
conf      timings from the environment
"""
