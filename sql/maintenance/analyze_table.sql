-- ANALYZE one table: refresh the planner's statistics ({table}: a schema-qualified name that pbl quotes).
ANALYZE {table}
