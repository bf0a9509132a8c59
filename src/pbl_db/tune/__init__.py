"""pbl tune: pgtune-style recommendations, ALTER SYSTEM apply with a history, and revert.

recommend: the formulas and the spec's profile (pure); system: everything that talks to a server.
"""

from __future__ import annotations

from pbl_db.tune.system import (
    Outcome,
    Report,
    Request,
    SettingRow,
    Step,
    apply,
    history,
    revert,
    show,
)

__all__ = [
    "Outcome",
    "Report",
    "Request",
    "SettingRow",
    "Step",
    "apply",
    "history",
    "revert",
    "show",
]
