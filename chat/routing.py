"""WebSocket routes: the Socket.IO-compatible endpoint (Engine.IO over WebSocket only)."""
from django.urls import path

from chat.realtime.consumer import SocketIOConsumer

websocket_urlpatterns = [
    path("socket.io/", SocketIOConsumer.as_asgi()),
]
