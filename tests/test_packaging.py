"""The wheel carries sql/ so an installed pbl finds its migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_sql_and_entry_point(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pbl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    migrations = [n for n in names if n.startswith("pbl_db/sql/migrations/")]
    assert migrations, names
    on_disk = {p.name for p in (ROOT / "sql" / "migrations").iterdir() if p.is_file()}
    assert {Path(n).name for n in migrations} == on_disk
    assert "pbl_db/queries/try_migrate_lock.sql" in names
    assert "pbl_db/sql/maintenance/reindex_index_concurrently.sql" in names
    assert "pbl_db/sql/maintenance/tune_profile_spec.sql" in names
    assert "pbl_db/templates/report.html" in names
    assert "pbl = pbl_db.cli:run" in scripts
