# PartnerHub: `make run` to try it, `make test` to check it. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1:8000

.PHONY: install run test test-sqlite test-postgres lint openapi clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)
	scripts/ensure-pdf-libs.sh

run: install
	$(BIN)/partnerhub migrate --noinput
	$(BIN)/partnerhub collectstatic --noinput -v0
	$(BIN)/partnerhub demo
	PARTNERHUB_BASE_URL="$${PARTNERHUB_BASE_URL:-http://$(HOST)}" $(BIN)/partnerhub serve --bind $(HOST) --with-worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/partnerhub makemigrations --check --dry-run

test: install lint test-sqlite test-postgres bench-smoke

test-sqlite: install
	@echo "== test suite on SQLite (browser tests included: Debian chromium, installed when missing)"
	scripts/ensure-chromium.sh
	scripts/ensure-pdf-libs.sh
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -n 2 --durations=25

# The browser tests run on SQLite only (tests/browser/conftest.py says why).
test-postgres: install
	@echo "== test suite on PostgreSQL (browser tests: see test-sqlite)"
	HYPOTHESIS_PROFILE=ci scripts/with-postgres.sh $(BIN)/pytest -n 2 --ignore=tests/browser --durations=25

# Benchmarks (benchmarks/*.py, see docs/benchmarks.md): each at a tiny scale on SQLite and
# PostgreSQL as a smoke test (part of `make test`), or at full size with `make bench`.
.PHONY: bench bench-smoke
BENCHMARKS := $(filter-out benchmarks/__init__.py benchmarks/common.py benchmarks/%_data.py,$(wildcard benchmarks/*.py))

bench-smoke: install
	@echo "== benchmarks at --scale 0.001 on SQLite and PostgreSQL (smoke test)"
	@set -e; for b in $(BENCHMARKS); do echo "$$b on SQLite"; \
	  $(BIN)/python $$b --scale 0.001 --quiet >/dev/null; done
	@scripts/with-postgres.sh sh -c 'set -e; for b in $(BENCHMARKS); do echo "$$b on PostgreSQL"; \
	  $(BIN)/python $$b --scale 0.001 --quiet --database postgres >/dev/null; done'

bench: install
	@set -e; for b in $(BENCHMARKS); do $(BIN)/python $$b; \
	  scripts/with-postgres.sh $(BIN)/python $$b --database postgres; done

# Rewrite docs/openapi.json after an intended API change (a test fails while they differ).
openapi: install
	$(BIN)/partnerhub export_openapi docs/openapi.json

clean:
	rm -rf $(VENV) partnerhub.sqlite3* staticfiles
