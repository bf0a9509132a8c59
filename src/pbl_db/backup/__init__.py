"""Logical backups: pg_dump/pg_restore with manifests, checksums, encryption and retention."""
