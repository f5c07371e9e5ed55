"""Shared pieces of the schema fuzzing tests (tests/security/test_fuzz_*.py).

schemathesis drives the application in-process through Django's WSGI handler, inside the test's
transaction, so every generated write is rolled back with the test and nothing crosses the machine.
"""

import copy
import re
from collections import Counter

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings

# Fixed so that CI fuzzes the same inputs every run (a failure there reproduces here).
SEED = 20261204
EXAMPLES = 5
# The checks of every fuzzed call. Left out on purpose: negative_data_rejection and
# positive_data_acceptance (our services refuse schema-valid input for business reasons, e.g. a
# grid code outside the caller's scope, and ninja accepts some inputs the schema calls invalid,
# e.g. "1.0" for an integer), and ignored_auth (test_fuzz_api.py checks authentication itself,
# with forged, expired and revoked tokens as well as none).
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")


def config(max_examples: int = EXAMPLES, mode: str = "all") -> schemathesis.Config:
    """Fuzzing phase only (the coverage phase alone makes hundreds of cases per operation), both
    valid and invalid inputs, a fixed seed."""
    checks = {name: {"enabled": name in CHECKS} for name in (
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
        "response_headers_conformance", "positive_data_acceptance", "negative_data_rejection", "use_after_free",
        "ensure_resource_availability", "missing_required_header", "ignored_auth", "unsupported_method")}
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False},
                   "fuzzing": {"enabled": True}},
        "generation": {"mode": mode, "max-examples": max_examples, "deterministic": True,
                       "with-security-parameters": False, "no-shrink": True},
        "checks": checks,
    })


def hypothesis_settings_for(max_examples: int = EXAMPLES):
    """Derandomized, no example database on disk, no deadline (the machine is shared and busy)."""
    return hypothesis_settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                               phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


class InTransaction:
    """Django's WSGI handler as the test client runs it: without closing the database connection at
    the start and end of each request, which would end the test's transaction (and its rollback)."""

    def __init__(self):
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = self.handler(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                result.close()
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def with_error_responses(document: dict, *, statuses: tuple[str, ...], error_schema: dict) -> dict:
    """The document with the refusals every operation can answer declared on each operation.

    The API's error contract is global (README: errors answer {"code", "message"} with a 4xx), so
    the generated document declares only the successes; declaring the refusals here lets
    status_code_conformance and response_schema_conformance check the refusals too (the shape of
    every 4xx body) instead of flagging each one as undocumented."""
    document = copy.deepcopy(document)
    for methods in document["paths"].values():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, {
                    "description": "拒绝",
                    "content": {"application/json": {"schema": error_schema}},
                })
    return document


def load(document: dict, *, app, max_examples: int = EXAMPLES, mode: str = "all"):
    schema = schemathesis.openapi.from_dict(document, config=config(max_examples, mode))
    schema.app = app
    return schema


PATH_PARAM = re.compile(r"\{([a-z_]+)\}")


def path_params(path: str) -> list[str]:
    return PATH_PARAM.findall(path)


# Generated cases per operation label and their answers, for the figures printed after each module.
CASES: Counter = Counter()
STATUSES: dict[str, Counter] = {}


def record(case, response) -> None:
    CASES[case.operation.label] += 1
    STATUSES.setdefault(case.operation.label, Counter())[response.status_code] += 1


def report(request, title: str, labels) -> None:
    """One line in the terminal summary: operations fuzzed and cases tried by this module."""
    labels = set(labels)
    tried = {label: n for label, n in CASES.items() if label in labels}
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None and tried:
        with capture.global_and_fixture_disabled():
            statuses = sum((STATUSES[label] for label in tried), Counter())
            reporter.write_line(f"\n{title}: {len(tried)} operations fuzzed, {sum(tried.values())} generated cases; "
                                f"answers {dict(sorted(statuses.items()))}")
