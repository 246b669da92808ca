# Two entry points (see README): `make demo` and `make test`. Both set everything up from scratch.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TWIN   := twins/liverpool-centre

.PHONY: demo test install lint bench lock clean web

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(STAMP)

# The web client (TypeScript, Vite, MapLibre GL, deck.gl from npm; web/package-lock.json): web/dist,
# served by `metaliverpool serve`.
web: web/dist/index.html

web/dist/index.html: web/package.json web/package-lock.json web/index.html web/vite.config.ts web/tsconfig.json $(wildcard web/src/*)
	cd web && npm ci --no-audit --no-fund && npm run build

demo: install web
	$(BIN)/metaliverpool data status
	$(BIN)/metaliverpool build --region liverpool-centre --out $(TWIN)
	$(BIN)/metaliverpool twin info $(TWIN)
	$(BIN)/metaliverpool simulate --twin $(TWIN) --signals webster --dta-iterations 3 --gridlock-timeout 300 --out runs/baseline
	$(BIN)/metaliverpool validate --twin $(TWIN) --published --engine dynamic --out runs/validation
	$(BIN)/metaliverpool access --twin $(TWIN) --out runs/access.csv
	$(BIN)/metaliverpool scenario run scenarios/castle-street-pedestrian.yaml --twin $(TWIN) --out runs/castle-street-pedestrian
	$(BIN)/metaliverpool forecast history --twin $(TWIN) --days 28 --out runs/history/speed.npz
	$(BIN)/metaliverpool forecast train --series runs/history/speed.npz --adjacency runs/history/speed.npz --interval-min 5 --model lgbm --lookback 6 --out $(TWIN)/forecasts/speed-lgbm
	@echo "Meta Liverpool on http://127.0.0.1:8000: sign in as demo / mersey-ferry-1 (Ctrl-C stops the server)"
	$(BIN)/metaliverpool serve --twin $(TWIN) --example scenarios/castle-street-pedestrian.yaml --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint web
	$(BIN)/pytest

# Peers for bench/ (AequilibraE, UXsim, SUMO): not needed by the tests.
bench: install
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt

# Re-lock after changing dependencies in pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade pip
	.lockenv/bin/python -m pip install --quiet ".[dev]"
	.lockenv/bin/python -m pip freeze --exclude metaliverpool > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
