# The two commands a newcomer needs: `make run` and `make test`.
# Without DATABASE_URL / REDIS_URL, embedded PostgreSQL and Redis start under .data/.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EMBEDDED := $(PY) -m helpdesk.embedded
TEST_DATA_DIR ?= .data/test
PYTEST_ARGS ?=

.PHONY: run test test-fast lint format bench bench-peer install messages compile-messages clean-data

run: $(STAMP)
	$(EMBEDDED) run

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	DJANGO_SETTINGS_MODULE=helpdesk.settings.test $(EMBEDDED) exec --data-dir $(TEST_DATA_DIR) -- \
		$(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=helpdesk.settings.test $(EMBEDDED) exec --data-dir $(TEST_DATA_DIR) -- \
		$(PY) -m tests.split $(PYTEST_ARGS)

# The same without the tests marked `slow` (those that start servers or processes: the embedded
# run, a Celery worker, a browser, fresh interpreters), for a quick check while working.
test-fast: PYTEST_ARGS += -m "not slow"
test-fast: test

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	DJANGO_SETTINGS_MODULE=helpdesk.settings.local $(EMBEDDED) exec --data-dir .data/bench -- \
		$(PY) -m bench $(BENCH_ARGS)

# Side by side with django-helpdesk (installed from PyPI into .data/peer/venv): the same data set in
# both, both served as deployed and loaded with wrk; writes the `peer` section of docs/benchmarks.md.
# A quick check: make bench-peer BENCH_PEER_ARGS="--peer-tickets 2000".
bench-peer: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	DJANGO_SETTINGS_MODULE=helpdesk.settings.local $(EMBEDDED) exec --data-dir .data/bench -- \
		$(PY) -m bench.peer $(BENCH_PEER_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Refresh the message catalogue after changing translatable strings (needs GNU gettext), then
# write the Russian wording of new or changed entries into locale/ru/LC_MESSAGES/django.po
# (the only place it lives) and run `make compile-messages`; `make test` fails while an entry
# is empty or fuzzy.
messages: $(STAMP)
	$(PY) manage.py makemessages -l ru --no-obsolete --ignore '.venv/*' --ignore '.data/*' --ignore 'bench/*'
	$(PY) -m helpdesk.i18n_check || true

compile-messages: $(STAMP)
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean-data:
	rm -rf .data
