"""Schemathesis against the management endpoints of home care (providers, offerings, caregivers, certificates,
catalogue, recurrences, receivables): whatever the input, never a 5xx. Same harness as tests/people's."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = 5
PATHS = r"^/api/v1/homecare/(providers$|providers/\{provider_id\}(/auto-dispatch|/offerings/\{item_code\})?$|caregivers|certificates|catalogue|recurrences|receivables)"


@pytest.mark.slow
def test_management_endpoints_never_answer_5xx(wsgi_app, personas, api_client, provider, offerings, caregiver):
    token = api_client(personas["county_officer"])["HTTP_AUTHORIZATION"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app).include(path_regex=PATHS)
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
    assert tested >= 20
    assert statuses[4] > 0, statuses
    assert failures == []
