from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plug the chat application into its realtime transport: the client events (registered by
        their modules' `@handler`), the presence and delivery hooks, the After Hours bridge's start
        on a process's sockets, and the channel layer's fallback for an unpublished message."""
        # Imported here, not at the top: apps.py is loaded before the app registry is ready.
        from chat import events, presence, socket_handlers
        from chat.after_hours import bridge
        from chat.after_hours import socket_handlers as after_hours_socket_handlers  # noqa: F401
        from chat.realtime import registry
        from chat.realtime.handlers import HOOKS
        from chat.realtime.layer import ChannelLayer

        HOOKS.presence_changed = presence.presence_changed
        HOOKS.messages_sent = socket_handlers.messages_sent
        if bridge.ensure_started not in registry.on_connect:
            registry.on_connect.append(bridge.ensure_started)
        ChannelLayer.undelivered = staticmethod(events.undelivered_to_push)
        ChannelLayer.queued = staticmethod(events.publication_queued)
        ChannelLayer.retried = staticmethod(events.publication_retried)
