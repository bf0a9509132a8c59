"""The migration engine behind `pbl migrate` (yoyo-migrations underneath)."""
