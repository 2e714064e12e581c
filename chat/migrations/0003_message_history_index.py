"""The history page (`GET /messages/:matchId`) reads the newest rows of one match:
`WHERE match_id = ? [AND created_at < ?] ORDER BY created_at DESC, id DESC LIMIT n`. With only the
original's `idx_messages_match_id`, PostgreSQL fetches every message of the match and sorts them;
a long conversation (500 messages) cost a millisecond of database time a page. This index on
(match_id, created_at, id) answers the page by reading `n` entries backwards, whatever the length
of the conversation.

Built CONCURRENTLY (so a non-atomic migration): on an existing database it does not block the
original services' writes during a cut-over. Nothing is rewritten.
"""
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('chat', '0002_message_temp_id'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='message',
            index=models.Index(fields=['match', 'created_at', 'id'], name='idx_messages_match_created_at'),
        ),
    ]
