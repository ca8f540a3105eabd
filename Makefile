# Quick start: `make run` and `make test` on a machine with only python3 (3.11).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run baseline app test lint format lock example expected expected-figures architecture bench region clean

# The shipped scenarios (files in scenarios/), run side by side and compared with the baseline.
SCENARIOS ?= baseline,more_foster_carers,harbour_expansion,new_childrens_homes,transformation,demand_surge

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Reinstall when the pins or the package metadata change.
$(STAMP): $(BIN)/python constraints.txt pyproject.toml
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/care-demand -m scenario=$(SCENARIOS) $(ARGS)

# One run of the baseline alone (outputs/DATE/TIME).
baseline: $(STAMP)
	$(BIN)/care-demand $(ARGS)

# The browser app on this computer (http://127.0.0.1:8000); ARGS="--port 8080" for another port.
app: $(STAMP)
	$(BIN)/care-demand-app $(ARGS)

# The suite runs in TEST_JOBS processes (pytest-xdist; auto: one per core), each test file
# in one process so its fixtures are built once; TEST_JOBS=0 runs it in this process.
TEST_JOBS ?= auto
# numpy's loops as every machine runs them (care_demand.PORTABLE_NUMPY), set before pytest's
# plugins import numpy, so that the stored expected results hold on any processor.
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	env $$($(BIN)/python -c "import care_demand as c; print(*(f'{k}={v}' for k, v in c.PORTABLE_NUMPY.items()))") \
		$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# Regenerate the built-in synthetic example from its ground-truth file.
example: $(STAMP)
	$(BIN)/care-demand-example

# A synthetic region of four councils (different sizes and trends) written to REGION_DIR and run
# on a local Dask cluster: a run folder per council and the regional roll-up.
REGION_DIR ?= outputs/synthetic_region
region: $(STAMP)
	$(BIN)/python -c "from care_demand.synthetic.region import write_region; write_region('$(REGION_DIR)', councils=4)"
	$(BIN)/care-demand region.path=$(REGION_DIR) $(ARGS)

# Regenerate the stored expected results (tests/expected/) after a deliberate change of results.
expected: $(STAMP)
	$(BIN)/python tests/expected/regenerate.py

# The same, keeping the stored hazard draws: after a change downstream of the hazards.
expected-figures: $(STAMP)
	$(BIN)/python tests/expected/regenerate.py --keep-draws

# Rewrite the import graph in ARCHITECTURE.md from the allowed imports (tests/import_rules.py).
architecture: $(STAMP)
	$(BIN)/python tests/import_rules.py

bench: $(STAMP)
	$(BIN)/python benchmarks/calibration.py

# Re-resolve the pinned versions (needs network access to the package index).
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -i '^care.demand' > constraints.txt.new
	sed -i '1i # Exact versions every machine installs (CI included). Regenerate with `make lock`.' constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
