# Two commands on a fresh machine: `make run` and `make test`. `make help` lists the rest.
PY      := .venv/bin/python
VENV    := .venv/.installed
DEVVENV := .venv/.installed-dev
FLASK   := .venv/bin/flask --app app
PORT    ?= 5000
UV      := .venv/bin/uv
LOCK    := requirements.lock
DEVLOCK := requirements-dev.lock
NPM_STAMP := node_modules/.installed
VIEWER_JS := xometry_site/static/build/part_viewer.js

.DEFAULT_GOAL := help
.PHONY: help run test test-fast lint format babel translations assets migrate migration bench lock worker clean security audit

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip uv

# The pinned, hashed lock first (when present), then the project itself.
$(VENV): pyproject.toml $(wildcard $(LOCK)) | $(PY)
	@if [ -f $(LOCK) ]; then $(UV) pip install -q --python $(PY) --require-hashes -r $(LOCK); fi
	$(UV) pip install -q --python $(PY) -e '.[cad]'
	@touch $@

$(DEVVENV): pyproject.toml $(wildcard $(DEVLOCK)) | $(PY)
	@if [ -f $(DEVLOCK) ]; then $(UV) pip install -q --python $(PY) --require-hashes -r $(DEVLOCK); fi
	$(UV) pip install -q --python $(PY) -e '.[dev,cad]'
	@touch $@ $(VENV)

lock: | $(PY)  ## pin every dependency with hashes (LOCK_ARGS=--upgrade to move to newer versions)
	$(UV) pip compile pyproject.toml --extra cad --generate-hashes --python-version 3.11 -q $(LOCK_ARGS) -o $(LOCK)
	$(UV) pip compile pyproject.toml --extra cad --extra dev --generate-hashes --python-version 3.11 -q $(LOCK_ARGS) -o $(DEVLOCK)

# Browser code: three.js and esbuild exactly as package-lock.json pins them (`npm ci`), the 3D
# viewer in assets/ bundled into static/build/ (built here, never committed).
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VIEWER_JS): $(NPM_STAMP) $(wildcard assets/*.js)
	npm run --silent build
	@touch $@

assets: $(VIEWER_JS)  ## npm ci, then bundle the 3D part viewer into xometry_site/static/build/

translations: | $(VENV)  ## compile translations/*.po into .mo (the .mo files are built, not committed)
	@$(PY) -m babel.messages.frontend compile -d translations

run: $(VENV) translations assets  ## install, migrate SQLite in instance/, serve on 127.0.0.1 port 5000 (PORT=…) with the WeChat simulator
	$(FLASK) db upgrade
	@echo "-------------------------------------------------------------------------------"
	@echo " Xometry Asia on 127.0.0.1, port $(PORT) (Flask prints the address below)"
	@echo " Mail is not sent: every message is written to $(CURDIR)/instance/outbox/*.eml"
	@echo " WeChat sign-in uses the built-in simulator under /__wechat__/"
	@echo " WeChat Pay uses the built-in simulator under /__wechatpay__/ (keys in instance/)"
	@echo " SMS codes are printed here and written to $(CURDIR)/instance/outbox/sms.log"
	@echo "-------------------------------------------------------------------------------"
	PORT=$(PORT) $(FLASK) run --host 127.0.0.1 --port $(PORT) --with-threads

test: $(DEVVENV) translations assets  ## lint, security gates, the Mini Program's unit tests, then the whole suite (SQLite; PostgreSQL too with TEST_DATABASE_URL)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	@$(MAKE) --no-print-directory security
	cd miniprogram && npm ci --no-audit --no-fund && npm test
	.venv/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(DEVVENV)  ## ruff check and format check, bandit
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/bandit -q -c pyproject.toml -r xometry_site

security: $(DEVVENV)  ## bandit (a medium or high finding fails) and pip-audit of the locked dependencies
	.venv/bin/bandit -q -c pyproject.toml --severity-level medium -r xometry_site deploy gunicorn.conf.py app.py
	@$(MAKE) --no-print-directory audit

# pip-audit asks its vulnerability service about every locked release; scripts/audit_verdict.py
# reads its report: a known vulnerability fails, and so does a release it could not audit while
# the service answered for others. Where the service cannot be reached (no route to it, or a
# package mirror that knows no release, as on the build machines here), only the audit is
# skipped, with a WARNING saying so.
PIP_AUDIT := .venv/bin/pip-audit --disable-pip --progress-spinner off --timeout 15 -f json
AUDIT_OUT := .venv/pip-audit
audit: $(DEVVENV)  ## pip-audit requirements.lock and requirements-dev.lock (a WARNING when its service is unreachable)
	@rm -f $(AUDIT_OUT).json $(AUDIT_OUT).log
	@$(PIP_AUDIT) -o $(AUDIT_OUT).json -r $(LOCK) -r $(DEVLOCK) 2> $(AUDIT_OUT).log; \
	  $(PY) scripts/audit_verdict.py $$? $(AUDIT_OUT).json $(AUDIT_OUT).log

format: $(DEVVENV)  ## fix what ruff can fix
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

babel: $(DEVVENV)  ## extract messages, update zh_CN, compile
	.venv/bin/pybabel extract -F babel.cfg -k _l --project xometry-site --version 0.1.0 --msgid-bugs-address info@xometry.asia --no-location --sort-output -o translations/messages.pot .
	.venv/bin/pybabel update -i translations/messages.pot -d translations -l zh_CN --no-fuzzy-matching --ignore-obsolete -w 100
	.venv/bin/pybabel compile -d translations

migrate: $(VENV)  ## apply migrations to the configured database
	$(FLASK) db upgrade

migration: $(VENV)  ## autogenerate a migration: make migration m="what changed"
	$(FLASK) db migrate -m "$(m)"

worker: $(VENV)  ## run an RQ worker (needs REDIS_URL)
	$(FLASK) worker

bench: $(DEVVENV)  ## run every benchmark and print ratios against in-run baselines
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:  ## remove the virtualenv, node_modules, built assets and caches (keeps instance/)
	rm -rf .venv .pytest_cache .ruff_cache node_modules xometry_site/static/build
