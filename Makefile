# Two commands on a fresh machine: `make run` and `make test`. `make help` lists the rest.
PY      := .venv/bin/python
VENV    := .venv/.installed
DEVVENV := .venv/.installed-dev
FLASK   := .venv/bin/flask --app app
PORT    ?= 5000

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint format babel translations migrate migration bench lock worker clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip uv

$(VENV): pyproject.toml | $(PY)
	.venv/bin/uv pip install -q --python $(PY) -e '.[cad]'
	@touch $@

$(DEVVENV): pyproject.toml | $(PY)
	.venv/bin/uv pip install -q --python $(PY) -e '.[dev,cad]'
	@touch $@ $(VENV)

translations: | $(PY)  ## compile translations/*.po into .mo (the .mo files are built, not committed)
	@$(PY) -m babel.messages.frontend compile -d translations

run: $(VENV) translations  ## install, migrate SQLite in instance/, serve http://127.0.0.1:5000 with the WeChat simulator
	$(FLASK) db upgrade
	@echo "-------------------------------------------------------------------------------"
	@echo " Xometry Asia: http://127.0.0.1:$(PORT)"
	@echo " Mail is not sent: every message is written to $(CURDIR)/instance/outbox/*.eml"
	@echo " WeChat sign-in uses the built-in simulator at http://127.0.0.1:$(PORT)/__wechat__/"
	@echo " SMS codes are printed here and written to $(CURDIR)/instance/outbox/sms.log"
	@echo "-------------------------------------------------------------------------------"
	$(FLASK) run --host 127.0.0.1 --port $(PORT) --with-threads

test: $(DEVVENV) translations  ## lint, then the whole suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(DEVVENV)  ## ruff check and format check, bandit
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/bandit -q -c pyproject.toml -r xometry_site

format: $(DEVVENV)  ## fix what ruff can fix
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

babel: $(DEVVENV)  ## extract messages, update zh_CN, compile
	.venv/bin/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o translations/messages.pot .
	.venv/bin/pybabel update -i translations/messages.pot -d translations -l zh_CN --no-fuzzy-matching --ignore-obsolete
	.venv/bin/pybabel compile -d translations

migrate: $(VENV)  ## apply migrations to the configured database
	$(FLASK) db upgrade

migration: $(VENV)  ## autogenerate a migration: make migration m="what changed"
	$(FLASK) db migrate -m "$(m)"

worker: $(VENV)  ## run an RQ worker (needs REDIS_URL)
	$(FLASK) worker

bench: $(DEVVENV)  ## run every benchmark and print ratios against in-run baselines
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:  ## remove the virtualenv and caches (keeps instance/)
	rm -rf .venv .pytest_cache .ruff_cache
