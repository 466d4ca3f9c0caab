# Kundefaktura — one command to run, one to test.
#
#   make run     install what is missing, migrate, seed demo data, serve on http://127.0.0.1:8000
#   make test    the same bootstrap plus Debian's chromium, then pytest (PostgreSQL + Redis)
#
# Every step is idempotent and guarded by a stamp file under var/, so a second run starts in
# seconds. Nothing here needs a prior `source .venv/bin/activate`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON_SYSTEM ?= python3
VENV          := .venv
PY            := $(VENV)/bin/python
STAMPS        := var/.stamps
APT_PACKAGES  := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
                 fonts-dejavu-extra gettext
# docker-compose validates docker-compose.yml (no engine needed); postgresql-client's pg_dump and
# pg_restore run the backup test.
TEST_APT_PACKAGES := chromium poppler-utils docker-compose postgresql-client
# bench/load.py drives gunicorn with wrk (a second process on loopback); the bench installs nothing itself.
BENCH_APT_PACKAGES := wrk
HOST          ?= 127.0.0.1
PORT          ?= 8000
# pytest-xdist workers for `make test` (0 or 1 = one process).
TEST_WORKERS  ?= 2
PYTEST_ARGS   ?=
SUDO          := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PO_FILES      := $(wildcard locale/*/LC_MESSAGES/*.po */locale/*/LC_MESSAGES/*.po)

# Development defaults for commands that load Django outside the tests (`make run`, the worker):
# DEBUG on means the embedded defaults (SQLite under var/, eager Celery, mail files in var/mail).
# SITE_URL follows HOST/PORT, so the printed login address and the links in e-mails point at this server.
DEV_ENV := DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}

.PHONY: help bootstrap apt-packages test-deps run migrate seed test fuzz lint audit bench worker beat clean distclean

help:
	@echo "make run        bootstrap, migrate, seed demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test       bootstrap + chromium, then pytest (PostgreSQL and Redis on 127.0.0.1)"
	@echo "make bootstrap  Debian packages, .venv, pip install -e .[dev], compiled translations"
	@echo "make fuzz       the money state machine with a few thousand examples (HYPOTHESIS_PROFILE=fuzz)"
	@echo "make lint       ruff, and import-linter for the layer contracts (pyproject.toml)"
	@echo "make audit      bandit on our code, pip-audit on the installed packages"
	@echo "make bench      every bench/*.py"
	@echo "make worker     a Celery worker (needs CELERY_BROKER_URL)"
	@echo "make beat       Celery beat (needs CELERY_BROKER_URL)"
	@echo "make clean      generated files; make distclean also removes .venv and var/"

# --- Bootstrap ----------------------------------------------------------------------------------

bootstrap: apt-packages $(STAMPS)/pip $(STAMPS)/messages

# Install the Debian packages in $(1) that are missing; apt-get runs only when one is.
# dpkg-query rather than `dpkg -s`, which also succeeds for a removed package's leftover config.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

# Checked on every run (a few ms): a machine can lose packages while the work tree stays.
apt-packages:
	$(call apt_install,$(APT_PACKAGES))

$(PY):
	@echo ">> creating $(VENV) with $(PYTHON_SYSTEM)"
	$(PYTHON_SYSTEM) -m venv $(VENV)

# Re-run pip only when pyproject.toml changed (or the venv was recreated).
$(STAMPS)/pip: pyproject.toml | $(PY)
	@echo ">> pip install -e .[dev]"
	$(PY) -m pip install -q -e ".[dev]"
	@mkdir -p $(STAMPS) && touch $@

# The msgids are Norwegian bokmål already; the .po file exists so English can follow.
locale/nb/LC_MESSAGES/django.po: | $(STAMPS)/pip apt-packages
	@mkdir -p locale/nb/LC_MESSAGES
	$(DEV_ENV) $(PY) manage.py makemessages -l nb --ignore=.venv --ignore=var

$(STAMPS)/messages: locale/nb/LC_MESSAGES/django.po $(PO_FILES) $(STAMPS)/pip | apt-packages
	$(DEV_ENV) $(PY) manage.py compilemessages -l nb --ignore=.venv --ignore=var -v 0
	@mkdir -p $(STAMPS) && touch $@

# The browser tests drive Debian's chromium at /usr/bin/chromium (Playwright cannot download one).
test-deps: bootstrap
	$(call apt_install,$(TEST_APT_PACKAGES))

# --- Run ----------------------------------------------------------------------------------------

migrate: bootstrap
	@mkdir -p var/mail var/media var/staticfiles
	$(DEV_ENV) $(PY) manage.py migrate --noinput -v 1

seed: migrate
	$(DEV_ENV) $(PY) manage.py seed_demo

run: seed
	@echo ">> serving on http://$(HOST):$(PORT)/  (Ctrl-C stops)"
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# --- Tests --------------------------------------------------------------------------------------

# PostgreSQL and Redis on 127.0.0.1 by default; pytest-django creates test_<name> (per xdist
# worker) and drops it afterwards. .ci/run passes a fresh DATABASE_URL and Redis database.
test: test-deps
	@export DATABASE_URL="$${DATABASE_URL:-postgres://root@127.0.0.1:5432/kundefaktura}"; \
	if [ -z "$${TEST_REDIS_URL:-}" ] && [ -z "$${CELERY_BROKER_URL:-}" ]; then \
	  export TEST_REDIS_URL=redis://127.0.0.1:6379/14; fi; \
	mkdir -p var/test-artifacts; \
	workers=""; if [ "$(TEST_WORKERS)" -gt 1 ]; then workers="-n $(TEST_WORKERS)"; fi; \
	echo ">> pytest $$workers (DATABASE_URL=$$DATABASE_URL, TEST_REDIS_URL=$${TEST_REDIS_URL:-$${CELERY_BROKER_URL:-}})"; \
	$(PY) -m pytest $$workers $(PYTEST_ARGS)

# The money invariants (tests/billing/test_money_invariants.py) with the long hypothesis profile, one process.
fuzz: bootstrap
	@export DATABASE_URL="$${DATABASE_URL:-postgres://root@127.0.0.1:5432/kundefaktura}"; \
	echo ">> money state machine, HYPOTHESIS_PROFILE=fuzz (DATABASE_URL=$$DATABASE_URL)"; \
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -p no:randomly tests/billing/test_money_invariants.py $(PYTEST_ARGS)

lint: $(STAMPS)/pip
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# bandit: any finding fails (false positives are silenced line by line, listed in pyproject's
# [tool.bandit] comment). pip-audit: a known vulnerability fails; an unreachable vulnerability service
# only warns (AUDIT_STRICT=1 makes it fail) — see .ci/pip_audit.py and docs/security.md ("Static checks").
AUDIT_PACKAGES := kundefaktura billing offers portal integrations
audit: $(STAMPS)/pip
	$(VENV)/bin/bandit -c pyproject.toml -r $(AUDIT_PACKAGES) -q
	$(PY) .ci/pip_audit.py

# Each benchmark prints its figures and, as its last line, one JSON object; non-zero on a miss.
bench: bootstrap
	$(call apt_install,$(BENCH_APT_PACKAGES))
	@status=0; found=0; for f in bench/*.py; do [ -e "$$f" ] || continue; found=1; \
	  echo ">> $$f"; $(PY) "$$f" || status=1; done; \
	[ $$found = 1 ] || echo "no benchmarks in bench/"; exit $$status

# --- Celery -------------------------------------------------------------------------------------

define require_broker
	@[ -n "$${CELERY_BROKER_URL:-}" ] || { echo "Set CELERY_BROKER_URL, e.g. CELERY_BROKER_URL=redis://127.0.0.1:6379/0 make $@" >&2; exit 2; }
endef

worker: bootstrap
	$(require_broker)
	$(DEV_ENV) $(VENV)/bin/celery -A kundefaktura worker --loglevel=INFO

beat: bootstrap
	$(require_broker)
	@mkdir -p var
	$(DEV_ENV) $(VENV)/bin/celery -A kundefaktura beat --loglevel=INFO --schedule var/celerybeat-schedule

# --- Cleaning -----------------------------------------------------------------------------------

# Generated files only; the development database, media and mail under var/ stay.
clean:
	rm -rf $(STAMPS) var/staticfiles var/test-artifacts .ruff_cache .pytest_cache *.egg-info
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -type d -prune -exec rm -rf {} + \) -o \
	  \( -name '*.mo' -path '*/locale/*' -exec rm -f {} + \)

distclean: clean
	rm -rf $(VENV) var
