# Guichet — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO := DJANGO_SETTINGS_MODULE=guichet.settings.demo

.PHONY: demo test lint fmt messages install install-dev compile-messages check-deploy

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Guichet needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime compile-messages
install-dev: $(VENV)/.dev compile-messages

compile-messages: | $(VENV)/bin/python
	$(PY) scripts/compile_messages.py

## Installs, migrates a SQLite database, loads demo data, runs the web server and a worker.
demo: install
	$(DEMO) $(PY) manage.py migrate --no-input
	$(DEMO) $(PY) manage.py createcachetable
	$(DEMO) $(PY) manage.py load_demo
	$(DEMO) PORT=$(PORT) $(PY) scripts/run_demo.py

## Installs and runs the whole suite (PostgreSQL when DATABASE_URL points at it, SQLite otherwise).
test: install-dev lint
	@if command -v npm >/dev/null; then npm install --silent --no-audit --no-fund; \
	else echo "npm not found: the accessibility checks of the browser tests will be skipped"; fi
	$(PY) -m pytest -n 2 --dist loadgroup

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DJANGO_SETTINGS_MODULE=guichet.settings.test $(PY) manage.py makemigrations --check --dry-run

fmt: $(VENV)/.dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## Extracts translatable strings into the four catalogues (needs GNU gettext).
messages: $(VENV)/.dev
	cd guichet && DJANGO_SETTINGS_MODULE=guichet.settings.test ../$(PY) ../manage.py makemessages \
		-l fr -l nl -l en -l de --no-obsolete --ignore "*/tests/*"
	$(PY) scripts/fill_source_catalogue.py
	$(PY) scripts/compile_messages.py

## Production settings must pass Django's deployment checks.
check-deploy: install
	DJANGO_SECRET_KEY=$$(openssl rand -hex 40) DJANGO_ALLOWED_HOSTS=guichet.example \
		GUICHET_SMS_HTTP_URL=https://sms.example/send GUICHET_SMS_HTTP_TOKEN=x \
		GUICHET_PAYMENT_GATEWAY=acme_payments.gateway.AcmeGateway GUICHET_PAYMENT_NOTIFICATION_SECRET=x \
		$(PY) manage.py check --deploy --fail-level WARNING
