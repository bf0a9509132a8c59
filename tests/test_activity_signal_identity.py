"""Review of issue 6: `pbl activity cancel|terminate PID` shows a session, asks, then signals.
Between the two the session may end and its pid go to another backend: the signal must reach
only the backend that was shown (same pid and backend_start)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from pbl_db import activity
from pbl_db.errors import RefusedError

pytestmark = pytest.mark.matrix


def test_signals_reach_only_the_backend_that_was_shown(
    conn: psycopg.Connection, db_url: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as victim:
        pid = victim.info.backend_pid
        shown = activity.session(conn, pid)
        assert shown["backend_start"] is not None
        other = shown["backend_start"] - timedelta(seconds=1)  # "a backend that had this pid"

        with pytest.raises(RefusedError, match="no longer the session shown"):
            activity.terminate(conn, pid, backend_start=other)
        with pytest.raises(RefusedError, match="no longer the session shown"):
            activity.cancel(conn, pid, backend_start=other)
        assert victim.execute("SELECT 1").fetchone() == (1,)  # untouched

        activity.terminate(conn, pid, backend_start=shown["backend_start"])
        with pytest.raises(psycopg.OperationalError):
            victim.execute("SELECT 1")
