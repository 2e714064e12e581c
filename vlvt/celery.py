"""The Celery app: `celery -A vlvt worker`, `celery -A vlvt beat` (or `worker -B`)."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vlvt.settings")

app = Celery("vlvt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic schedule, in one place. Each entry says when it runs.
app.conf.beat_schedule = {}

import vlvt.shutdown.celery  # noqa: E402,F401  (connects shutdown to Celery's hooks; no OS handler)
