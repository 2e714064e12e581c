from django.db import models


class TaskOutbox(models.Model):
    """A task the broker did not take, waiting to be published (vlvt.outbox)."""

    task_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    # Publish options, made absolute (a countdown becomes an eta): queue, priority, eta, expires.
    options = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "task_outbox"
