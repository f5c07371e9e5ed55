"""Real-browser tests: pytest-playwright driving Debian's chromium (never `playwright install`).

Install the browser and the CJK fonts with `apt-get install -y chromium fonts-noto-cjk`; without
the fonts, Chinese renders as boxes in screenshots.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session", autouse=True)
def _require_chromium():
    """Skip the browser tests when chromium is missing, except in CI, where that is a failure.

    Session-scoped and autouse, so it runs before pytest-playwright tries to launch anything.
    """
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium and fonts-noto-cjk to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(message + " (required in CI)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            *browser_type_launch_args.get("args", []),
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
            "viewport": {"width": 1366, "height": 800}}


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """Where screenshots go: a temporary directory, or GRIDGOV_SCREENSHOT_DIR to keep them (CI artifacts)."""
    keep = os.environ.get("GRIDGOV_SCREENSHOT_DIR")
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path
