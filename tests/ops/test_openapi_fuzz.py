"""Property-based fuzzing of every documented operation (schemathesis) against a real server.

`daphne vlvt.asgi:application` serves the test database. For each operation of `/openapi.json`,
schemathesis generates requests from the description, valid ones (positive) and ones that break
it (negative: wrong types, missing fields, out-of-range values); each is sent twice, with the
token of an existing member (who passes the After Hours gate) and with an invalid token. Every
response must not be a server error (5xx) and must match the description: a documented status
code, the documented content type, a body valid against the documented schema.

Bounded for a 2-core machine: a fixed number of examples per operation and mode, derandomized
(the same requests on every run, so a failure reproduces), no shrinking. Rate limits are off on
the server so that the answers exercise the routes rather than the limiter.
"""
from __future__ import annotations

import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
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
from vlvt.auth import mint_token
from vlvt.openapi import document

EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
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


@pytest.mark.parametrize("tag", TAGS)
def test_every_documented_operation_survives_fuzzing(tag, server, member):
    schema = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in schema.get_all_operations()]
    selected = [op for op in operations if (op.tags or ["other"])[0] == tag]
    assert selected, tag
    failures: list[str] = []
    with requests.Session() as session:
        for operation in selected:
            failures += fuzz(operation, server.base_url, session, [member, INVALID_TOKEN])
    assert not failures, "\n\n".join(failures)
