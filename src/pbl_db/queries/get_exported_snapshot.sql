-- The snapshot of this transaction, for pbl audit verify's workers to import.
SELECT pg_export_snapshot()
