"""docs/contract.md, D9: a match between two users exists at most once, whatever the order of the pair.

The original's UNIQUE(user_id_1, user_id_2) is order-sensitive, so (A, B) and (B, A) could both
exist. This migration

1. merges existing duplicate pairs into the earliest match of the pair (by created_at, then id):
   messages, date proposals and After Hours conversions are moved to it, typing indicators of the
   duplicates are dropped, then the duplicate match rows are deleted (reported as a NOTICE);
2. adds the unique index `matches_unordered_pair_unique` on
   (LEAST(user_id_1, user_id_2), GREATEST(user_id_1, user_id_2)).

The original ordered constraint stays (it is implied by the new one, and existing
`ON CONFLICT (user_id_1, user_id_2)` statements keep working).
"""
import django.db.models.functions.comparison
from django.db import migrations, models

MERGE_DUPLICATE_PAIRS = """
CREATE TEMP TABLE vlvt_duplicate_matches AS
SELECT id AS dup_id, keep_id
  FROM (
    SELECT id,
           first_value(id) OVER w AS keep_id,
           row_number() OVER w AS rn
      FROM matches
    WINDOW w AS (PARTITION BY LEAST(user_id_1, user_id_2), GREATEST(user_id_1, user_id_2)
                 ORDER BY created_at NULLS LAST, id)
  ) ranked
 WHERE rn > 1;

UPDATE messages m SET match_id = d.keep_id FROM vlvt_duplicate_matches d WHERE m.match_id = d.dup_id;
UPDATE date_proposals p SET match_id = d.keep_id FROM vlvt_duplicate_matches d WHERE p.match_id = d.dup_id;
UPDATE after_hours_matches a SET converted_to_match_id = d.keep_id
  FROM vlvt_duplicate_matches d WHERE a.converted_to_match_id = d.dup_id;
DELETE FROM typing_indicators t USING vlvt_duplicate_matches d WHERE t.match_id = d.dup_id;

DO $$
DECLARE removed integer;
BEGIN
  DELETE FROM matches m USING vlvt_duplicate_matches d WHERE m.id = d.dup_id;
  GET DIAGNOSTICS removed = ROW_COUNT;
  IF removed > 0 THEN
    RAISE NOTICE 'matches: merged % duplicate (reversed) pair(s) into the earliest match', removed;
  END IF;
END $$;

DROP TABLE vlvt_duplicate_matches;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0002_fix_one_time_ticket_awards'),
        # The merge moves rows of chat tables (messages, date_proposals, typing_indicators).
        ('chat', '0001_initial'),
    ]

    operations = [
        migrations.RunSQL(MERGE_DUPLICATE_PAIRS, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='match',
            constraint=models.UniqueConstraint(django.db.models.functions.comparison.Least('user_1', 'user_2'), django.db.models.functions.comparison.Greatest('user_1', 'user_2'), name='matches_unordered_pair_unique'),
        ),
    ]
