# The two front-door commands: `make demo` and `make test`. Both create the environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench-costs clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/igd bench --planner vgn --weights weights/vgn_conv.pth --scene packed --rounds 4 --seeds 0 \
	    --noise dex --views side --out runs/demo --resume

test: $(STAMP)
	$(PY) -m pytest -n 2

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -n 2

clean:
	rm -rf $(VENV) runs .pytest_cache
