# The two front-door commands: `make demo` and `make test`. Both create the environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench-costs clean chromium

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,serve]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/igd demo --out runs/demo

# The viewer's browser test needs Debian's chromium; installed here when missing and apt can (root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	    echo "chromium not installed: the viewer's browser test will be skipped"; }

test: $(STAMP) chromium
	$(PY) -m pytest -n 2

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -n 2

clean:
	rm -rf $(VENV) runs .pytest_cache
