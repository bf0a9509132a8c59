-- Rows holding at least one encrypted value not under the active key.
SELECT count(*) FROM {table} WHERE {needs}
