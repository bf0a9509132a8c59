# The README's two commands are `make run` and `make test`; everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MIGRATIONS := sql/migrations
# squawk rules pbl does not apply (docs/migrate.md says why):
#   require-lock-timeout, require-statement-timeout: pbl migrate sets both for every migration
#   prefer-text-field: the spec fixes varchar lengths; widening one later is catalog-only
#   prefer-bigint-over-int: spec INTEGER columns hold bounded values (scores, counters), not ids
SQUAWK_EXCLUDE := require-lock-timeout,require-statement-timeout,prefer-text-field,prefer-bigint-over-int
# rollbacks drop what their migration made: that is their job
SQUAWK_ROLLBACK_EXCLUDE := $(SQUAWK_EXCLUDE),ban-drop-table,ban-drop-column,ban-drop-database,ban-drop-not-null,ban-drop-function,ban-drop-constraint,ban-drop-view

# The server-version matrix: the tests marked `matrix` once per supported major, each on its own
# throwaway server (tests/support/pg_dist.py finds or fetches it), MATRIX_JOBS majors at a time.
PG_MAJORS   ?= 13 14 15 16 17 18
MATRIX_JOBS ?= 2

.PHONY: install install-dev run test test-matrix lint lint-sql bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[embedded]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[embedded,dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(BIN)/pbl local start
	$(BIN)/pbl migrate
	$(BIN)/pbl migrate status
	$(BIN)/pbl seed
	$(BIN)/pbl health
	$(BIN)/pbl slow-queries --top 5

test: lint
	$(BIN)/pytest
	$(MAKE) --no-print-directory test-matrix

test-matrix: $(VENV)/.installed-dev
	@$(MAKE) --no-print-directory -k -j$(MATRIX_JOBS) -O $(addprefix test-pg,$(PG_MAJORS))

test-pg%: $(VENV)/.installed-dev
	PBL_TEST_PG=$* $(BIN)/pytest -m matrix -p no:cacheprovider

lint: $(VENV)/.installed-dev lint-sql
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# squawk: transactional migrations are linted as running inside a transaction
lint-sql: $(VENV)/.installed-dev
	@set -e; for f in $(MIGRATIONS)/*.sql; do \
	  [ -e "$$f" ] || continue; \
	  case "$$f" in *.rollback.sql) exclude="--exclude=$(SQUAWK_ROLLBACK_EXCLUDE)";; *) exclude="--exclude=$(SQUAWK_EXCLUDE)";; esac; \
	  if head -n 5 "$$f" | grep -qi '^-- *transactional: *false'; then tx=""; else tx="--assume-in-transaction"; fi; \
	  $(BIN)/squawk --pg-version=13.0 $$tx $$exclude "$$f"; \
	done; echo "squawk: $(MIGRATIONS) clean"

bench: $(VENV)/.installed-dev
	@set -e; for f in bench/*.py; do [ -e "$$f" ] || continue; $(BIN)/python "$$f"; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build
