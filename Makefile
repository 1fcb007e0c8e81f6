# 物业管理后台 — the two commands a newcomer needs: `make run` and `make test`.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export FLASK_APP := wsgi

.PHONY: setup db run test bench clean

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

## the whole test suite
test: setup
	$(BIN)/pytest

## benchmarks at city scale (issue 7): bench/results.json and docs/benchmarks.md (< 30 min)
bench: setup
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance
