"""Waiting for the server to reach a state (synchronisation, not a timing assertion)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

WAIT_SECONDS = 60


def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll until check() is truthy (synchronisation with the server, not a timing test)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
