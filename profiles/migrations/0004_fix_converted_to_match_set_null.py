"""docs/contract.md, D25: `after_hours_matches.converted_to_match_id` no longer blocks deleting a match.

The original foreign key has no ON DELETE action, so unmatching a pair whose match came from an
After Hours conversion failed. It becomes ON DELETE SET NULL. The existing constraint is found by
its column (its name may differ on databases created by the original migrations).
"""
from django.db import migrations


def _recreate(rule):
    return f"""
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT c.conname
      FROM pg_constraint c
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
     WHERE c.contype = 'f'
       AND c.conrelid = 'after_hours_matches'::regclass
       AND a.attname = 'converted_to_match_id'
  LOOP
    EXECUTE format('ALTER TABLE after_hours_matches DROP CONSTRAINT %I', r.conname);
  END LOOP;
END $$;
ALTER TABLE after_hours_matches
  ADD CONSTRAINT after_hours_matches_converted_to_match_id_fkey
  FOREIGN KEY (converted_to_match_id) REFERENCES matches (id) ON DELETE {rule};
"""


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0003_fix_unordered_match_pairs'),
    ]

    operations = [
        migrations.RunSQL(_recreate("SET NULL"), reverse_sql=_recreate("NO ACTION")),
    ]
