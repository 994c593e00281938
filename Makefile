# Yeongye: `make run` (demo on SQLite, in-process tasks) and `make test` (whole suite on PostgreSQL + Redis, then the
# SQLite lane).
SHELL := /bin/bash
# Django 6 needs Python >= 3.12: take the first interpreter that is (pyenv's builds included; its shims may refuse).
PYTHON ?= $(shell for p in $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null) python3.14 python3.13 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/yeongye
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist processes for `make test` (each has its own test database and Redis database, see conftest.py);
# TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= auto

.PHONY: run test test-sqlite lint fmt venv browser migrate services bench chaos clean messages

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 is required (Django 6); install it or pass PYTHON=/path/to/python3.12"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(BIN)/.installed node_modules/.package-lock.json

# Front-end packages (Chart.js, htmx) from the committed package-lock.json, served through staticfiles.
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

# Debian's Chromium for the browser tests (Playwright's own download cannot work here), and what the
# referral slip's PDF needs.
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)
	@# WeasyPrint (the referral slip) needs Pango and a Korean font.
	@dpkg -s fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 >/dev/null)

# Zero-setup demo: SQLite file, in-process tasks unless CELERY_BROKER_URL is set.
run: venv
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo
	@if [ -n "$$CELERY_BROKER_URL" ]; then \
		DJANGO_DEBUG=1 PORT=$(PORT) HOST=$(HOST) $(BIN)/honcho -f Procfile.dev start; \
	else \
		echo "Serving on http://$(HOST):$(PORT)/ (tasks run in-process; set CELERY_BROKER_URL for a worker and beat; mail is written to var/mail/)"; \
		DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT); \
	fi

# Whole suite against PostgreSQL and Redis (start them with `make services` or .ci/run), then the SQLite lane.
test: venv browser
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -n $(TEST_WORKERS) -m "not worker" $(PYTEST_ARGS)
	@# The tests that start Celery workers and stop Redis servers run one at a time: on two cores, next to
	@# another xdist process, a worker reconnecting after an outage could starve past the tests' deadlines.
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -m worker $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-sqlite

# The SQLite lane: the tests marked `sqlite` (every code path that branches on the database vendor, and the demo's
# own loop) against an in-memory SQLite database, as `make run` uses SQLite. conftest.py deselects the rest.
test-sqlite: venv
	DATABASE_URL=sqlite:///:memory: $(BIN)/pytest -n $(TEST_WORKERS) -m sqlite $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_DEBUG=1 $(BIN)/mypy .
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Start this machine's own PostgreSQL and Redis when they are down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "services did not come up"; exit 1
	@# The replica test (core/tests/test_replica.py) takes a base backup over a local replication connection.
	@hba=$$(psql -h 127.0.0.1 -U postgres -Atc "SHOW hba_file"); \
	  grep -qE '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$$hba" || \
	  { echo "host replication all 127.0.0.1/32 trust" >> "$$hba" && psql -h 127.0.0.1 -U postgres -qAtc "SELECT pg_reload_conf()" >/dev/null; } || \
	  echo "could not allow local replication connections in $$hba: the replica test will say so"

bench: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/run.py $(BENCH_ARGS)

# Faults under load (bench/chaos.py, docs/operations.md): worker SIGKILL, Redis restart, PostgreSQL
# connections dropped; prints requests, 5xx, lost and double-routed referrals (exit 1 unless all are 0).
chaos: venv services
	$(PY) bench/chaos.py $(CHAOS_ARGS)

# Korean catalog: the .po file is the one home of every translation. Extract new msgids, then write
# their Korean msgstr into locale/ko/LC_MESSAGES/django.po by hand; msgfmt refuses bad placeholders.
messages: venv
	DJANGO_DEBUG=1 $(PY) manage.py makemessages -l ko --no-obsolete --ignore='.venv/*' --ignore='bench/*' --ignore='staticfiles/*' --ignore='node_modules/*'
	msgfmt --check-format -o locale/ko/LC_MESSAGES/django.mo locale/ko/LC_MESSAGES/django.po

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles

print-python:
	@echo $(PYTHON)
