# Every target installs what it needs into .venv from a clean clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SARIF_SCHEMA := .cache/sarif/sarif-2.1.0-rtm.5.json

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' ruff
	touch $(STAMP)

# The official SARIF 2.1.0 schema, for the schema-validation test (test-only; npm registry).
$(SARIF_SCHEMA):
	mkdir -p .cache/sarif
	cd .cache/sarif && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null \
	  && tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json \
	  && mv package/lib/schemas/sarif-2.1.0-rtm.5.json . && rm -rf package microsoft-jest-sarif-*.tgz

demo: $(STAMP)
	@echo "aiiac-ls --check examples/ml-platform"
	@$(BIN)/aiiac-ls --check examples/ml-platform; status=$$?; \
	  if [ $$status -eq 1 ]; then echo "(exit 1: findings reported, as expected for this insecure example)"; \
	  else exit $$status; fi

test: $(STAMP) $(SARIF_SCHEMA)
	AIIAC_SARIF_SCHEMA=$(SARIF_SCHEMA) $(BIN)/python -m pytest
	$(BIN)/ruff check server rules tests bench

lint: $(STAMP)
	$(BIN)/ruff check server rules tests bench

bench: $(STAMP)
	$(BIN)/python bench/run.py

docs: $(STAMP)
	$(BIN)/python -m aiiac_ls.docs_gen

clean:
	rm -rf $(VENV) .cache build *.egg-info server/*.egg-info
