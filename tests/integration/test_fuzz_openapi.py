"""Schemathesis against the app's own OpenAPI schema on a real server: no response is a
server error, and every response matches the schema. ``make fuzz`` runs more examples."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

EXAMPLES = int(os.environ.get("FOODVISION_FUZZ_EXAMPLES", "15"))
# Every check but "schema-valid data is accepted": a run's dataset must exist and a model
# must have been trained, which no schema can say, so such requests are rightly 404/422.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


@pytest.fixture(scope="module")
def operations(server):
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    return {op.ok().label: op.ok() for op in schema.get_all_operations()}


def test_schema_lists_every_api_route(operations):
    assert {
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /api/datasets",
        "GET /api/architectures",
        "GET /api/models",
        "POST /api/runs",
        "GET /api/runs",
        "GET /api/runs/{run_id}",
        "POST /api/runs/{run_id}/cancel",
        "POST /api/runs/{run_id}/stop",
        "POST /api/sweeps",
        "GET /api/sweeps/{sweep_id}",
        "DELETE /api/runs/{run_id}",
        "POST /api/predict",
        "POST /api/datasets",
        "GET /api/datasets/{name}",
        "POST /api/datasets/{name}/images",
        "POST /api/datasets/{name}/archive",
        "POST /api/datasets/{name}/classes",
        "DELETE /api/datasets/{name}/classes/{label}",
        "DELETE /api/datasets/{name}/images/{image_id}",
        "GET /api/datasets/{name}/images/{image_id}/thumbnail",
        "DELETE /api/datasets/{name}",
    } <= set(operations)


def test_api_never_errors_and_matches_its_schema(operations, server):
    for label, operation in sorted(operations.items()):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except Exception as exc:
            raise AssertionError(f"{label}: {exc}") from exc
        finally:
            server.cancel_all()
