"""docs/contract.md, D10: one-time ticket awards (`verification`, `first_match`) cannot be paid twice.

The original has no unique constraint on ticket_ledger (user_id, reason), so two concurrent
requests could both award the same one-time bonus. This migration

1. deletes duplicate one-time awards already in the table, keeping each user's earliest row per
   reason (the number of rows removed is reported as a NOTICE), and
2. adds the partial unique index `ticket_ledger_one_time_award_unique` on (user_id, reason)
   WHERE reason IN ('verification', 'first_match'); award code inserts with ON CONFLICT DO NOTHING.

Other reasons (date_completed, referral_bonus, ...) may repeat and are untouched.
"""
from django.db import migrations, models

REMOVE_DUPLICATE_AWARDS = """
DO $$
DECLARE removed integer;
BEGIN
  DELETE FROM ticket_ledger t
   USING (
     SELECT id, row_number() OVER (PARTITION BY user_id, reason ORDER BY created_at NULLS LAST, id) AS rn
       FROM ticket_ledger
      WHERE reason IN ('verification', 'first_match')
   ) d
   WHERE t.id = d.id AND d.rn > 1;
  GET DIAGNOSTICS removed = ROW_COUNT;
  IF removed > 0 THEN
    RAISE NOTICE 'ticket_ledger: removed % duplicate one-time award row(s)', removed;
  END IF;
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0001_initial'),
    ]

    operations = [
        migrations.RunSQL(REMOVE_DUPLICATE_AWARDS, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='ticketledger',
            constraint=models.UniqueConstraint(condition=models.Q(('reason__in', ['verification', 'first_match'])), fields=('user', 'reason'), name='ticket_ledger_one_time_award_unique'),
        ),
    ]
