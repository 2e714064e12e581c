"""docs/contract.md, D20: `send_message` with a tempId already used by the same sender in the same match
returns the original message instead of storing a duplicate.

Adds the nullable `messages.temp_id VARCHAR(64)` and the partial unique index
`messages_match_sender_temp_id_unique` on (match_id, sender_id, temp_id) WHERE temp_id IS NOT NULL.
Existing rows keep temp_id NULL; nothing is rewritten.
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0001_initial'),
        ('profiles', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='temp_id',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('temp_id__isnull', False)), fields=('match', 'sender', 'temp_id'), name='messages_match_sender_temp_id_unique'),
        ),
    ]
