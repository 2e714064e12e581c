"""Property-based fuzzing of every documented operation (schemathesis) against a real server.

`daphne vlvt.asgi:application` serves the test database. For each operation of `/openapi.json`,
schemathesis generates requests from the description, valid ones (positive) and ones that break
it (negative: wrong types, missing fields, out-of-range values); each is sent twice, with the
token of an existing member (who passes the After Hours gate) and with an invalid token. Every
response must not be a server error (5xx) and must match the description: a documented status
code, the documented content type, a body valid against the documented schema.

A third, hostile run takes valid requests of every operation with a JSON body or query
parameters and puts into one place of each what a schema-driven generator never makes but an
attacker sends: a string with a lone UTF-16 surrogate, a value nested hundreds of levels deep, a
number beyond the double range (bodies), a 400-digit number (query strings). Each must be answered
as documented (a 400), never a 500.

Bounded for a 2-core machine: a fixed number of examples per operation and mode, derandomized
(the same requests on every run, so a failure reproduces), no shrinking. Rate limits are off on
the server so that the answers exercise the routes rather than the limiter.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.after_hours.conftest import make_member
from tests.chat.rest_support import make_match
from tests.support.servers import start_daphne
from vlvt.http.auth import mint_token
from vlvt.http.openapi import document

EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
HOSTILE_EXAMPLES = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TAGS = sorted({op["tags"][0] for ops in document()["paths"].values() for op in ops.values()})
MEMBER = "fuzz_member"
INVALID_TOKEN = {"Authorization": "Bearer not-a-valid-token"}


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    daphne = start_daphne(
        RATE_LIMITS_ENABLED="false",
        ADMIN_API_KEY=f"fuzz-admin-{uuid.uuid4().hex}",  # configured, as in production (unset: 503)
        LOG_LEVEL="WARNING",
        MEDIA_ROOT=str(tmp_path_factory.mktemp("fuzz-media")),
        R2_ACCOUNT_ID="",
        # Redis pub/sub ignores database numbers: a channel of our own keeps other runs' bridges out.
        AFTER_HOURS_EVENTS_CHANNEL=f"after_hours:events:fuzz:{uuid.uuid4().hex}",
    )
    yield daphne
    daphne.stop()


@pytest.fixture
def member(transactional_db) -> dict[str, str]:
    """A member who passes every gate, with a partner and a match (committed: the server reads it)."""
    make_member(MEMBER)
    make_member("fuzz_partner")
    make_match(MEMBER, "fuzz_partner")
    return {"Authorization": f"Bearer {mint_token(MEMBER)}"}


def fuzz(operation, base_url: str, session: requests.Session, variants: list[dict[str, str]]) -> list[str]:
    failures: list[str] = []
    for mode, examples in EXAMPLES.items():

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            for headers in variants:
                response = case.call(base_url=base_url, session=session, headers=headers)
                case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            continue  # negative mode on an operation without any input: nothing to break
        except (Exception, BaseExceptionGroup) as exc:  # one report per operation and mode, then the next one
            failures.append(f"{operation.label} ({mode.value}):\n{exc}")
    return failures


# -- hostile values ----------------------------------------------------------------------------------
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


HOSTILE_VALUES = st.one_of(
    st.builds(
        lambda a, s, b: a + s + b, st.text(max_size=3), st.sampled_from(LONE_SURROGATES), st.text(max_size=3)
    ),
    st.integers(min_value=33, max_value=600).map(nested),
    st.builds(lambda digits, sign: sign * int("9" * digits), st.integers(309, 450), st.sampled_from([1, -1])),
)
HUGE_QUERY_NUMBERS = st.builds(
    lambda digits, sign: sign + "9" * digits, st.integers(309, 450), st.sampled_from(["", "-"])
)


def places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value in a JSON document, the document itself first."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from places(item, (*path, index))


def put(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    document = copy.deepcopy(document)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


def hostile_schema():
    """The API description whose valid requests get one hostile value each (body or query)."""
    schema = schemathesis.openapi.from_dict(document())

    @schema.hook
    def flatmap_body(context, body):
        # A body field first (the whole body only when it has none): routes read fields.
        inner = [path for path in places(body) if path] or [()]
        return st.tuples(st.sampled_from(inner), HOSTILE_VALUES).map(lambda pv: put(body, *pv))

    @schema.hook
    def flatmap_query(context, query):
        if not query:
            return st.just(query)
        return st.tuples(st.sampled_from(sorted(query)), HUGE_QUERY_NUMBERS).map(
            lambda kv: {**query, kv[0]: kv[1]}
        )

    return schema


def takes_input(operation) -> bool:
    definition = operation.definition.raw
    body = definition.get("requestBody", {}).get("content", {})
    return "application/json" in body or any(p.get("in") == "query" for p in definition.get("parameters", []))


def fuzz_hostile(operation, base_url: str, session: requests.Session, headers: dict[str, str]) -> list[str]:
    @settings(
        max_examples=HOSTILE_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def run(case) -> None:
        response = case.call(base_url=base_url, session=session, headers=headers)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:
        return [f"{operation.label} (hostile):\n{exc}"]
    return []


@pytest.mark.parametrize("tag", TAGS)
def test_every_documented_operation_survives_fuzzing(tag, server, member):
    schema = schemathesis.openapi.from_dict(document())
    # Every operation of our own document is valid: an Err here fails the test.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # see above
    selected = [op for op in operations if (op.tags or ["other"])[0] == tag]
    assert selected, tag
    failures: list[str] = []
    with requests.Session() as session:
        for operation in selected:
            failures += fuzz(operation, server.base_url, session, [member, INVALID_TOKEN])
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("tag", TAGS)
def test_every_operation_with_input_survives_hostile_values(tag, server, member):
    operations = [result.ok() for result in hostile_schema().get_all_operations()]
    selected = [op for op in operations if (op.tags or ["other"])[0] == tag and takes_input(op)]
    failures: list[str] = []
    with requests.Session() as session:
        for operation in selected:
            failures += fuzz_hostile(operation, server.base_url, session, member)
    assert not failures, "\n\n".join(failures)
