"""Crash safety (`make test-resilience`): collected only when GRIDGOV_RESILIENCE=1, so a plain
`make test` (pytest over gridgov/ and tests/) skips this directory. The suite needs root or the
`postgres` OS user and PostgreSQL's server binaries: it runs a cluster of its own."""

import os


def pytest_ignore_collect(collection_path, config):
    if os.environ.get("GRIDGOV_RESILIENCE") != "1":
        return True
    return None
