"""Celery's configuration (vlvt.celery): every `CELERY_*` Django setting, under Celery's own name,
read from a plain mapping rather than through Django's settings object on each look-up."""

from __future__ import annotations

from django.conf import settings

from vlvt.celery import CelerySettings, app


def test_every_celery_setting_reaches_celerys_configuration_under_its_own_name():
    names = [name for name in dir(settings) if name.startswith("CELERY_")]
    assert "CELERY_BROKER_TRANSPORT_OPTIONS" in names
    assert "CELERY_TASK_ACKS_LATE" in names
    for name in names:
        assert app.conf[name.removeprefix("CELERY_").lower()] == getattr(settings, name), name
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf["timezone"] == "UTC"


def test_a_setting_celery_does_not_know_of_falls_back_to_celerys_default():
    assert not hasattr(settings, "CELERY_TASK_DEFAULT_QUEUE")
    assert app.conf.task_default_queue == "celery"
    assert app.conf.task_always_eager is False


def test_the_mapping_holds_exactly_the_celery_settings_read_once():
    source = CelerySettings()
    assert "_values" not in vars(source)  # nothing read before Celery asks
    keys = set(source)
    assert keys == {name for name in dir(settings) if name.startswith("CELERY_")}
    assert len(source) == len(keys)
    assert source["CELERY_TIMEZONE"] == "UTC"
    assert "DATABASES" not in source and "CELERY_NO_SUCH_SETTING" not in source
    assert source._values is source._values  # read once


def test_an_empty_source_is_still_loaded():
    # Celery skips a falsy configuration source; this one is filled only on its first read.
    assert bool(CelerySettings()) is True
