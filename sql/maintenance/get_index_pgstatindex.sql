-- Measured bloat of one btree index with pgstattuple ({schema}: the extension's schema): its size minus the pages its live leaf tuples would fill at the index's fillfactor.
SELECT s.index_size::bigint AS bytes,
       greatest(0, s.index_size - current_setting('block_size')::bigint
                   * (1 + s.internal_pages
                      + ceil(s.leaf_pages * coalesce(nullif(s.avg_leaf_density, 'NaN'), 0)
                             / %(fillfactor)s)))::bigint AS bloat_bytes
FROM {schema}.pgstatindex(%(oid)s::bigint::oid::regclass) AS s
