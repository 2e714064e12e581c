"""The Celery broker transport (vlvt.server.broker): kombu's Redis transport, publishing through one
redis-py client per channel, on the real broker; other broker URLs keep kombu's transports."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import redis
from django.conf import settings

from vlvt.celery import app
from vlvt.server.broker import Channel

ROOT = Path(__file__).resolve().parents[2]


def test_messages_are_published_through_one_client_and_arrive_intact():
    queue = "vlvt-test-broker"
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(queue)
    try:
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            assert isinstance(channel, Channel)
            producer = connection.Producer(channel)
            producer.publish({"n": 1}, routing_key=queue, declare=[], serializer="json")
            first = channel._command_client
            producer.publish({"n": 2}, routing_key=queue, declare=[], serializer="json")
            assert first is not None
            assert channel._command_client is first
        bodies = [json.loads(raw)["body"] for raw in reversed(client.lrange(queue, 0, -1))]
        assert [json.loads(base64.b64decode(b)) for b in bodies] == [{"n": 1}, {"n": 2}]
    finally:
        client.delete(queue)


def test_the_transport_is_chosen_by_the_broker_url():
    def transport_for(url: str) -> str:
        code = "from django.conf import settings; print(settings.CELERY_BROKER_TRANSPORT)"
        env = {**os.environ, "CELERY_BROKER_URL": url, "DJANGO_SETTINGS_MODULE": "vlvt.settings"}
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.strip()

    assert transport_for("redis://127.0.0.1:6379/3") == "vlvt.server.broker:Transport"
    assert transport_for("rediss://cache.example:6380/0") == "None"
    assert transport_for("amqp://guest@rabbit//") == "None"
