-- The next batch of rows to re-encrypt, by id (keyset), as COPY output.
COPY (
    SELECT id, tenant_id, {columns}
    FROM {table}
    WHERE id > {after} AND ({needs})
    ORDER BY id
    LIMIT {limit}
) TO STDOUT
