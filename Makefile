# 物业管理后台 — the two commands a newcomer needs: `make run` and `make test`.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export FLASK_APP := wsgi

.PHONY: setup db run test test-browser screenshots clean

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

## serve on http://127.0.0.1:$${PORT:-5000} (SQLite under instance/)
run: db
	$(BIN)/flask run --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

## the whole test suite (browser tests included; they skip without Debian's chromium
## unless REQUIRE_SERVICES=1)
test: setup
	$(BIN)/pytest

## only the end-to-end tests in a real browser (Debian's chromium); screenshots in build/screenshots/
test-browser: setup
	$(BIN)/pytest tests/e2e

## refresh the README's pictures (docs/screenshots/) from a browser run
screenshots: setup
	rm -rf build/screenshots/readme
	REQUIRE_SERVICES=1 $(BIN)/pytest tests/e2e
	mkdir -p docs/screenshots && cp build/screenshots/readme/*.png docs/screenshots/

clean:
	rm -rf $(VENV) instance build
