"""Property-based fuzzing of every operation in the API's OpenAPI document (schemathesis): requests generated
from the schemas, valid and invalid, with and without a token of an org admin who is also a volunteer. The only
property: no 5xx. Every answer is either a success or a 4xx with a JSON body naming the problem."""
from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode

from volunteer_registry.accounts.services import create_api_token
from volunteer_registry.extensions import db

#: examples per operation and phase (bounded: the whole API in well under a minute)
EXAMPLES = 25


@pytest.fixture
def api_schema(app, make):
    admin = make.user("fuzz-admin@example.org")
    org = make.org(admin_user=admin)
    make.volunteer(admin)
    make.activity(org)
    _token, plaintext = create_api_token(admin, "fuzz")
    db.session.commit()
    app.config["FUZZ_TOKEN"] = plaintext
    app.config["RATELIMIT_ENABLED"] = False
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


SETTINGS = hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                              suppress_health_check=list(hypothesis.HealthCheck))


def check(case, response) -> None:
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and body.get("error", {}).get("code"), (case.method, case.formatted_path, body)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("signed", [True, False], ids=["token", "anonymous"])
def test_no_api_operation_answers_5xx(app, api_schema, mode, signed):
    headers = {"Authorization": f"Bearer {app.config['FUZZ_TOKEN']}"} if signed else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20  # every operation of the document, not a few
    fuzzed, calls = 0, []
    for operation in operations:
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        @SETTINGS
        def fuzz(case):
            response = case.call(headers=headers)
            calls.append(response.status_code)
            check(case, response)
        try:
            fuzz()
        except hypothesis.errors.Unsatisfiable:
            # an operation without parameters or body cannot be called against its schema: nothing to break
            assert mode == GenerationMode.NEGATIVE, operation.label
            continue
        fuzzed += 1
    print(f"{mode} {'with a token' if signed else 'anonymous'}: {fuzzed} of {len(operations)} operations, "
          f"{len(calls)} requests, statuses {sorted(set(calls))}")
    assert fuzzed >= (len(operations) if mode == GenerationMode.POSITIVE else 10)
