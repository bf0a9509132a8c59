-- Encrypted values of one field per key id ({value} is the token expression of the field).
SELECT split_part({value}, ':', 3) AS key_id, count(*) AS values
FROM {table}
WHERE {value} IS NOT NULL
GROUP BY 1
ORDER BY 1
