# msc-abm build frame. Every target runs inside $(VENV), built with a Python >= 3.12
# found by scripts/find_python.sh (override with PYTHON=/path/to/python3.12 make ...).

VENV  ?= .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint bench docs golden clean

venv: $(STAMP)

# The interpreter itself: created once (delete $(VENV) or `make clean` to change Python).
$(BIN)/python:
	@py="$$(scripts/find_python.sh)" || exit 1; \
	echo "creating $(VENV) with $$py"; \
	"$$py" -m venv "$(VENV)"

# Reinstall whenever the package metadata changes.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -e '.[test]'
	@touch $@

demo: venv
	$(BIN)/abm run

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python benchmarks/bench_model.py

# Regenerate the golden trajectories after a deliberate change of behaviour (commit them on their own).
golden: venv
	$(BIN)/python tests/golden.py --regenerate

docs: venv
	@mkdir -p docs
	$(BIN)/abm config table > docs/parameters.md.tmp || { rm -f docs/parameters.md.tmp; exit 1; }
	$(BIN)/python -m abm.biology.mechanisms > docs/mechanisms.md
	$(BIN)/python -m abm.architecture --update
	$(BIN)/python -m abm.biology.mechanisms --model-doc
	$(BIN)/python -m abm.clinical.docs --update
	@mv docs/parameters.md.tmp docs/parameters.md

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
