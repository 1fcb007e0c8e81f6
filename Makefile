# 物业管理后台 — the two commands a newcomer needs: `make run` and `make test`.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export FLASK_APP := wsgi

.PHONY: setup db run worker test test-browser screenshots test-pg bench bench-city deploy serve backup restore clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

## create/migrate the database, sync the role matrix, load the demo data once
db: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask sync-roles
	$(BIN)/flask demo

## serve on http://127.0.0.1:$${PORT:-5000} (SQLite under instance/), with the background-job
## consumer beside it (its queue is a SQLite file too: no server to install); Ctrl+C stops both
run: db
	$(BIN)/flask worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

## a background-job consumer (exports, bill runs, the minute schedule): production runs one or
## more per machine against Redis (JOB_QUEUE_URL=redis://…; docs/jobs.md)
worker: setup
	$(BIN)/flask worker

## the whole test suite (browser tests included; they skip without Debian's chromium
## unless REQUIRE_SERVICES=1), one worker per core (TEST_WORKERS=1 for one process)
TEST_WORKERS ?= auto
test: setup
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

## only the end-to-end tests in a real browser (Debian's chromium); screenshots in build/screenshots/
test-browser: setup
	$(BIN)/pytest tests/e2e

## refresh the README's pictures (docs/screenshots/) from a browser run
screenshots: setup
	rm -rf build/screenshots/readme
	REQUIRE_SERVICES=1 $(BIN)/pytest tests/e2e
	mkdir -p docs/screenshots && cp build/screenshots/readme/*.png docs/screenshots/

## the whole suite on PostgreSQL: TEST_DATABASE_URL=postgresql://user@host/dbname, a database
## the tests own (it and <dbname>_template are dropped and recreated)
test-pg: setup
	@test -n "$${TEST_DATABASE_URL:-}" || { echo "请设置 TEST_DATABASE_URL=postgresql://用户@主机:端口/测试库名" >&2; exit 2; }
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal -m "not browser"  # the browser suite checks pages, not the database: once, in `make test`

# --- production (README 部署) ---

## once per release, before starting the servers: migrate the schema, sync the roles
deploy: setup
	$(BIN)/flask deploy

## gunicorn with sync workers (gunicorn.conf.py: BIND, WEB_CONCURRENCY; SECRET_KEY required)
serve: setup
	$(BIN)/gunicorn -c gunicorn.conf.py

## BACKUP=file: a dump of the database (pg_dump -Fc on PostgreSQL, a copy on SQLite)
backup: setup
	$(BIN)/flask backup $${BACKUP:+"$$BACKUP"}

## BACKUP=file: replace the database's contents by that dump
restore: setup
	@test -n "$${BACKUP:-}" || { echo "请指定备份文件：make restore BACKUP=文件" >&2; exit 2; }
	$(BIN)/flask restore --yes "$$BACKUP"

## benchmarks (bench/results.json, docs/benchmarks.md; < 30 min): the load test uses Debian's wrk, installed if missing
bench: setup
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python -m bench $(BENCH_ARGS)

# a city on one PostgreSQL: the full data set copied ten times (bench/city.py; 19 min here when
# the full data set must be generated, about a minute when the city is cached)
bench-city: setup
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python -m bench.city $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance build
