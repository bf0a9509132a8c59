-- Migrations and their bookkeeping live in schema public, whatever the role's own search_path.
SELECT set_config('search_path', 'public', false)
