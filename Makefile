# segmint: the two commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out/demo
PY     := $(BIN)/python
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
APT_PACKAGES := chromium chromium-driver postgresql

.PHONY: run test install install-test system-deps demo dashboard clean bench bench-1e8 screenshots

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 (apt-get install python3.11 python3.11-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# bytecode compiled once: an editable install has none, and with PYTHONDONTWRITEBYTECODE set every
# `segmint` run would compile its modules again (about 0.1 s of start-up)
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	$(PY) -m compileall -q src
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test,spark,postgres]"
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian packages the browser and PostgreSQL tests need; installed only when missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# `make run SERVE=1` also starts the dashboard on the results
run: install
	$(BIN)/segmint demo --out $(OUT)
	@if [ -n "$(SERVE)" ]; then $(BIN)/segmint dashboard --workspace $(OUT)/workspace.duckdb; fi

dashboard: install
	$(BIN)/segmint dashboard --workspace $(OUT)/workspace.duckdb

# two pytest workers (pytest-xdist): on a 2-core machine one process took 17 min, two about 10.5
test: install-test system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2

# refresh the README's dashboard screenshots (the test suite writes them to a scratch folder)
screenshots: install-test
	SEGMINT_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests/app/test_browser.py tests/app/test_credit_page.py

# whole-process table (benchmarks/RESULTS.md) then the library-step table (benchmarks/LIBRARY_STEP.md);
# about 30-40 min on an idle 2-core machine, data generated on first use. `make bench-1e8` adds 1e8.
bench: install-test
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m compileall -q src
	$(BIN)/python -m benchmarks.whole --repeat 3
	$(BIN)/python -m benchmarks.run --rows 1e6,1e7 --engines segmint,pandas,duckdb_sql --repeat 3

bench-1e8: install-test
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m compileall -q src
	$(BIN)/python -m benchmarks.whole --inputs parquet:1e8 --cases segmint,duckdb_sql,polars --repeat 1 --merge

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info
