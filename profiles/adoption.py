"""Compare a live database with the schema the initial migrations create (for adopt_database).

The expected schema is not a hand-written list: the initial migrations of `profiles` and `chat`
are applied into a scratch schema inside a transaction that is rolled back (PostgreSQL DDL is
transactional), and both schemas are read with the same catalogue queries. Whatever the
migrations say is therefore exactly what gets compared, and nothing is left behind.

Types are compared as PostgreSQL formats them (`varchar(255)` and `character varying(255)` are
one type). Index predicates and CHECK expressions are compared as PostgreSQL's planner simplifies
them (`canonical_expression`): the original SQL wrote `WHERE is_active = true` where Django writes
`WHERE is_active`, and `'x'::varchar::text` where Django leaves the cast to the parser; the catalogue
keeps each spelling, the planner reduces both to the same expression. Real differences (another
column, operator or constant) still differ after simplification.

Differences that would make `migrate --fake-initial` lie (a missing table or column, another type
or nullability, a missing primary key, unique constraint, CHECK, index or foreign key, another
ON DELETE rule) are errors. Differences that do not change behaviour (constraint or index names,
default spelled differently, extra indexes, extra nullable columns, extra tables) are warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

INITIAL_MIGRATIONS = [("profiles", "0001_initial"), ("chat", "0001_initial")]
SCRATCH_SCHEMA = "vlvt_adopt_expected"

_FK_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


@dataclass
class Column:
    type: str
    not_null: bool
    default: str | None


@dataclass
class Index:
    name: str
    definition: str  # normalised: no index name, no schema (shown in messages)
    unique: bool
    primary: bool
    constraint: bool  # backs a PRIMARY KEY / UNIQUE constraint rather than a plain index
    key: str = ""  # the definition with its predicate as the planner simplifies it (compared)


@dataclass
class Check:
    name: str
    definition: str  # pg_get_constraintdef (shown in messages)


@dataclass
class Snapshot:
    tables: set[str] = field(default_factory=set)
    columns: dict[str, dict[str, Column]] = field(default_factory=dict)
    indexes: dict[str, list[Index]] = field(default_factory=dict)
    checks: dict[str, dict[str, Check]] = field(default_factory=dict)  # table -> {canonical: check}
    # table -> {(columns, referenced table, referenced columns): (ON DELETE rule, name)}
    foreign_keys: dict[str, dict[tuple, tuple[str, str]]] = field(default_factory=dict)


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


_INDEX_HEAD = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?(?:\S+\.)?(\S+) ")
_NOW_SPELLINGS = re.compile(
    r"^(now\(\)|CURRENT_TIMESTAMP|statement_timestamp\(\)|transaction_timestamp\(\))$"
)


def _normalise_index(definition: str) -> str:
    return _INDEX_HEAD.sub(lambda m: f"CREATE {m.group(1) or ''}INDEX ON {m.group(2)} ", definition)


def _normalise_default(default: str | None, schema: str) -> str | None:
    if default is None:
        return None
    default = default.replace(f"'{schema}.", "'")
    # DEFAULT NOW() in the original, STATEMENT_TIMESTAMP() from Django's Now(): both "insert time".
    return "now()" if _NOW_SPELLINGS.match(default) else default


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def canonical_expression(cursor, schema: str, table: str, expression: str) -> str:
    """A boolean expression over `table`'s columns as the planner simplifies it.

    EXPLAIN VERBOSE prints a query's output list after constant folding and boolean simplification
    (`x = true` -> `x`, `NOT (x IS NULL)` -> `x IS NOT NULL`, constant casts and arrays folded into
    one constant). It is planned, never run; the expression is in the select list rather than a
    WHERE clause so that no index can absorb it.
    """
    cursor.execute(
        f"EXPLAIN (VERBOSE, COSTS OFF) SELECT ({expression}) FROM ONLY {_quote(schema)}.{_quote(table)}"
    )
    for (line,) in cursor.fetchall():
        line = line.strip()
        if line.startswith("Output: "):
            return line.removeprefix("Output: ")
    raise RuntimeError(f"no output line in the plan of {expression!r} on {table}")


def _index_key(cursor, schema: str, table: str, definition: str, predicate: str | None) -> str:
    if predicate is None:
        return definition
    # pg_get_indexdef ends with " WHERE " and the predicate as pg_get_expr deparses it.
    head = definition.removesuffix(f" WHERE {predicate}")
    return f"{head} WHERE {canonical_expression(cursor, schema, table, predicate)}"


def snapshot(cursor, schema: str, tables: list[str]) -> Snapshot:
    snap = Snapshot()
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)
        """,
        [schema, tables],
    )
    snap.tables = {r[0] for r in cursor.fetchall()}
    cursor.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind IN ('r', 'p')
           AND a.attnum > 0 AND NOT a.attisdropped
        """,
        [schema, tables],
    )
    for table, name, type_, not_null, default in cursor.fetchall():
        snap.columns.setdefault(table, {})[name] = Column(
            type_, not_null, _normalise_default(default, schema)
        )
    cursor.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid), x.indisunique, x.indisprimary,
               EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u')),
               pg_get_expr(x.indpred, x.indrelid)
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = %s AND t.relname = ANY(%s)
        """,
        [schema, tables],
    )
    for table, name, definition, unique, primary, constraint, predicate in cursor.fetchall():
        normalised = _normalise_index(definition)
        key = _index_key(cursor, schema, table, normalised, predicate)
        snap.indexes.setdefault(table, []).append(Index(name, normalised, unique, primary, constraint, key))
    cursor.execute(
        """
        SELECT t.relname, k.conname, pg_get_constraintdef(k.oid), pg_get_expr(k.conbin, k.conrelid),
               k.convalidated
          FROM pg_constraint k
          JOIN pg_class t ON t.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = %s AND t.relname = ANY(%s) AND k.contype = 'c'
        """,
        [schema, tables],
    )
    for table, name, definition, expression, validated in cursor.fetchall():
        key = canonical_expression(cursor, schema, table, expression) + ("" if validated else " NOT VALID")
        snap.checks.setdefault(table, {})[key] = Check(name, definition)
    cursor.execute(
        """
        SELECT t.relname, k.conname, r.relname, k.confdeltype,
               ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
                       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
               ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
                       JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o)
          FROM pg_constraint k
          JOIN pg_class t ON t.oid = k.conrelid
          JOIN pg_class r ON r.oid = k.confrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = %s AND t.relname = ANY(%s) AND k.contype = 'f'
        """,
        [schema, tables],
    )
    for table, name, target, rule, columns, target_columns in cursor.fetchall():
        fk_key = (tuple(columns), target, tuple(target_columns))
        snap.foreign_keys.setdefault(table, {})[fk_key] = (_FK_RULES[rule], name)
    return snap


class _Rollback(Exception):
    pass


def expected_snapshot() -> tuple[Snapshot, list[str]]:
    """Apply the initial migrations into a scratch schema, read it, roll everything back."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(INITIAL_MIGRATIONS, clean_start=True)
    tables: list[str] = []
    result: Snapshot | None = None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {SCRATCH_SCHEMA}")
                cursor.execute(f"SET LOCAL search_path TO {SCRATCH_SCHEMA}")
            # Private: the project state with no migration applied, as `migrate` builds it.
            state = executor._create_project_state(with_applied_migrations=False)  # type: ignore[attr-defined]  # not in the stubs
            for migration, _backwards in plan:
                with connection.schema_editor(atomic=False) as editor:
                    state = migration.apply(state, editor)
            tables = sorted(
                model_state.options["db_table"]
                for (app, _name), model_state in state.models.items()
                if app in {a for a, _ in INITIAL_MIGRATIONS}
            )
            with connection.cursor() as cursor:
                result = snapshot(cursor, SCRATCH_SCHEMA, tables)
            raise _Rollback
    except _Rollback:
        pass
    assert result is not None
    return result, tables


def live_snapshot(tables: list[str]) -> Snapshot:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        return snapshot(cursor, schema, tables)


def compare(expected: Snapshot, live: Snapshot, tables: list[str]) -> Report:
    report = Report()
    err, warn = report.errors.append, report.warnings.append
    for table in tables:
        if table not in live.tables:
            err(f"{table}: table missing")
            continue
        exp_cols, live_cols = expected.columns.get(table, {}), live.columns.get(table, {})
        for name, col in exp_cols.items():
            got = live_cols.get(name)
            nullability = "NOT NULL" if col.not_null else "NULL"
            if got is None:
                err(f"{table}.{name}: column missing (expected {col.type} {nullability})")
                continue
            if got.type != col.type:
                err(f"{table}.{name}: type is {got.type}, expected {col.type}")
            if got.not_null != col.not_null:
                err(f"{table}.{name}: is {'NOT NULL' if got.not_null else 'NULL'}, expected {nullability}")
            if got.default != col.default:
                warn(f"{table}.{name}: default is {got.default or 'none'}, expected {col.default or 'none'}")
        for name, col in live_cols.items():
            if name in exp_cols:
                continue
            if col.not_null and col.default is None and table != "users":
                err(
                    f"{table}.{name}: extra NOT NULL column without a default (inserts from this project would fail)"
                )
            else:
                warn(f"{table}.{name}: extra column ({col.type}), left alone")

        live_indexes = {i.key: i for i in live.indexes.get(table, [])}
        exp_keys = set()
        for index in expected.indexes.get(table, []):
            exp_keys.add(index.key)
            got_index = live_indexes.get(index.key)
            kind = (
                "primary key"
                if index.primary
                else "unique constraint"
                if index.constraint
                else "unique index"
                if index.unique
                else "index"
            )
            if got_index is None:
                err(f"{table}: {kind} {index.name} missing: {index.definition}")
                continue
            if got_index.name != index.name:
                warn(f"{table}: {kind} {index.name} exists as {got_index.name}")
            if got_index.constraint != index.constraint and not index.primary:
                warn(
                    f"{table}: {index.name} is a {'constraint' if got_index.constraint else 'plain unique index'} "
                    f"here, the migrations create a {'constraint' if index.constraint else 'plain unique index'}"
                )
        for key, index in live_indexes.items():
            if key not in exp_keys:
                warn(f"{table}: extra index {index.name}: {index.definition}")

        live_checks = live.checks.get(table, {})
        for key, check in expected.checks.get(table, {}).items():
            if key not in live_checks:
                err(f"{table}: CHECK {check.name} missing: {check.definition}")
            elif live_checks[key].name != check.name:
                warn(f"{table}: CHECK {check.name} exists as {live_checks[key].name}")
        for key, check in live_checks.items():
            if key not in expected.checks.get(table, {}):
                warn(f"{table}: extra CHECK {check.name}: {check.definition}")

        live_fks = live.foreign_keys.get(table, {})
        for fk_key, (rule, name) in expected.foreign_keys.get(table, {}).items():
            columns, target, target_columns = fk_key
            label = f"{table}({', '.join(columns)}) -> {target}({', '.join(target_columns)})"
            if fk_key not in live_fks:
                err(f"{table}: foreign key {label} ON DELETE {rule} missing")
                continue
            got_rule, got_name = live_fks[fk_key]
            if got_rule != rule:
                err(f"{table}: foreign key {label} is ON DELETE {got_rule}, expected ON DELETE {rule}")
            if got_name != name:
                warn(f"{table}: foreign key {name} exists as {got_name}")
        for fk_key, (rule, name) in live_fks.items():
            if fk_key not in expected.foreign_keys.get(table, {}):
                warn(
                    f"{table}: extra foreign key {name} ({', '.join(fk_key[0])}) -> {fk_key[1]} ON DELETE {rule}"
                )
    return report


def check_database(expected: tuple[Snapshot, list[str]] | None = None) -> tuple[Report, list[str]]:
    """Compare the database of the default connection with the initial migrations.

    `expected` is what expected_snapshot() returned, when the caller has it already (building it
    applies the initial migrations, seconds of work).
    """
    expected_schema, tables = expected or expected_snapshot()
    return compare(expected_schema, live_snapshot(tables), tables), tables
