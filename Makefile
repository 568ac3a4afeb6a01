# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes (pytest-xdist): one per core. Tests go out one at a time in pytest-django's
# order, so each process still runs every test that commits after all those that roll back.
TEST_WORKERS ?= 2

.PHONY: run test install install-dev migrate demo lint format messages clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo_data
	$(PY) manage.py load_collections_demo
	$(PY) manage.py run_end_of_day

## make run: install, migrate, load demo data, start the web server and the task cluster
run: demo
	HOST=$(HOST) PORT=$(PORT) bin/dev-server

## make test: install dev dependencies, lint, run the whole suite (DATABASE_URL picks the DB)
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist load

lint: install-dev
	$(VENV)/bin/ruff check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make messages: refresh the translation catalogue and compile it (needs GNU gettext)
messages: install
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --no-obsolete
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
