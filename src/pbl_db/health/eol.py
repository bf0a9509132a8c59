"""PostgreSQL majors' end-of-life dates: the one table the version check reads.

Source: the PostgreSQL Global Development Group's versioning policy,
https://www.postgresql.org/support/versioning/ (each major is supported for five years from its
first release; the final minor release comes out on or shortly after these dates). Update this
table when a new major is released.
"""

from __future__ import annotations

from datetime import date

SOURCE = "https://www.postgresql.org/support/versioning/"

END_OF_LIFE: dict[int, date] = {
    12: date(2024, 11, 21),
    13: date(2025, 11, 13),
    14: date(2026, 11, 12),
    15: date(2027, 11, 11),
    16: date(2028, 11, 9),
    17: date(2029, 11, 8),
    18: date(2030, 11, 14),
}


def next_supported(major: int, today: date) -> int | None:
    """The lowest major newer than `major` still supported on `today` (None: none known)."""
    newer = [m for m, eol in END_OF_LIFE.items() if m > major and eol > today]
    return min(newer) if newer else None
