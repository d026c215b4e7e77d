# metrolab — the one place for tasks. `make run` and `make test` work on a fresh Debian/Ubuntu machine.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
VENDOR := platform/metrolab/web/static/vendor
METROLAB_TEST_PG ?= postgresql://postgres@127.0.0.1:5432/postgres
export METROLAB_TEST_PG

.PHONY: run test test-sqlite test-postgres setup system-deps python-deps assets lint bench migration clean

run: system-deps setup ## install everything, migrate ./var/metrolab.sqlite3, load the demo lab, serve :8000
	$(BIN)/metrolab demo
	$(BIN)/metrolab serve

test: system-deps setup ## the whole suite on SQLite and on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite:
	METROLAB_TEST_DB=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --junitxml=var/test-results/sqlite.xml $(PYTEST_ARGS)

test-postgres:
	METROLAB_TEST_DB=postgres $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --junitxml=var/test-results/postgres.xml $(PYTEST_ARGS)

system-deps:
	@./scripts/install_system_deps.sh

setup: python-deps assets .venv-uno/bin/unoserver

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q "uv==$(UV_VERSION)"

python-deps: $(UV)
	$(UV) sync --locked --python $(PYTHON) -q

assets:
	npm ci --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	mkdir -p $(VENDOR)/swagger-ui  # the API docs page (/api/docs)
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
		node_modules/swagger-ui-dist/LICENSE $(VENDOR)/swagger-ui/

.venv-uno/bin/unoserver:
	@if [ -x scripts/setup_unoserver.sh ]; then ./scripts/setup_unoserver.sh; fi

lint: python-deps ## style and types: ruff, ruff format, mypy, the designer's unit tests
	$(BIN)/ruff check platform tests bench
	$(BIN)/ruff format --check platform tests bench
	$(BIN)/mypy
	node --test designer/tests/

bench: setup ## every benchmark, each against its baseline in the same run (tables + bench/results/*.json)
	$(BIN)/python bench/http_load.py
	$(BIN)/python bench/records.py
	$(BIN)/python bench/approvals.py
	$(BIN)/python bench/certificates_issue.py --db postgres
	$(BIN)/python bench/certificates.py
	$(BIN)/python bench/designer.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/task_lists.py
	$(BIN)/python bench/render_queue.py

migration: ## make migration app=customers
	PICCOLO_CONF=metrolab.piccolo_conf METROLAB_DATA_DIR=var/migration-scratch $(BIN)/piccolo migrations new $(app) --auto

clean:
	rm -rf .venv .tools .venv-uno node_modules $(VENDOR) var/test-results
