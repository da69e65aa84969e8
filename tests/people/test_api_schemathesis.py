"""Schemathesis against the elder endpoints of the OpenAPI document: whatever the input, never a 5xx.

The operations are driven with hypothesis directly (schemathesis's pytest plugin does not load under
this pytest version); each operation gets a few generated cases, small enough for the shared CI box. It runs in
both CI passes, SQLite and PostgreSQL (the wsgi_app fixture keeps the test's connection open).
"""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.people.helpers import register

EXAMPLES = 6


@pytest.mark.slow
def test_elder_endpoints_never_answer_5xx(wsgi_app, personas, api_client):
    register(personas["worker"], name="模糊测试", phone="13905789999")
    register(personas["other_county_officer"], name="模糊远方", township="331121001")
    token = api_client(personas["county_officer"])["HTTP_AUTHORIZATION"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app).include(path_regex=r"^/api/v1/elders")
    failures: list[str] = []
    statuses: Counter = Counter()
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        tested += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(headers={"Authorization": token})
            statuses[response.status_code // 100] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {case.path_parameters} {case.query} {case.body!r}"[
                        :500
                    ]
                )

        run()
    assert tested >= 15
    # The token works (not all 401) and both accepted and refused inputs were generated.
    assert statuses[2] > 0 and statuses[4] > 0, statuses
    assert failures == []
