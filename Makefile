# PrimeScaler: `make dev` runs the app locally, `make test` runs every check.
# Both install what they need into the project (.venv) on first use.

SHELL := /bin/bash
VENV := .venv
TOOLS := $(VENV)/.installed
TEST_TOOLS := $(VENV)/.installed-test
EMULATOR_TOOLS := infra/node_modules/.installed
export SAM_CLI_TELEMETRY := 0
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: node-down node-up node-add node-remove cloud test-cloud cloud-images dev-reliability bench-ui-twin faults faults-twin sim upkeep test-tools ui browser bench-ui bench-soak bench-emulators deploy-regions remove-regions dev test tools reference-tools lint unit smoke template bench-calculator bench-placement bench-request-path bench-cold-start bench-twin bench-first-run build-arm64 sam-build clean

## tools: what `make dev` runs: cargo-lambda and CMake (pinned) in .venv, and the default
## emulator (dynalite, from npm) in infra/node_modules
tools: $(TOOLS) $(EMULATOR_TOOLS)

## test-tools: what `make test` adds: moto server, cfn-lint, sam (pinned) in .venv
test-tools: $(TEST_TOOLS)

$(TOOLS): infra/requirements.txt
	@echo "[make] installing cargo-lambda and CMake into .venv (about a minute, once)"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

$(TEST_TOOLS): infra/requirements-test.txt $(TOOLS)
	@echo "[make] installing moto, cfn-lint and the SAM CLI into .venv (a few minutes, once)"
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-test.txt
	touch $@

# Install scripts are skipped: dynalite's LevelDB add-on (classic-level, for --path) loads
# the prebuilt binary it ships for linux-x64.
$(EMULATOR_TOOLS): infra/package.json infra/package-lock.json
	npm ci --prefix infra --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

## reference-tools: Debian's primesieve and primecount, the calculators' references
reference-tools:
	@command -v primesieve >/dev/null && command -v primecount >/dev/null || { \
	  echo "[make] installing primesieve and primecount (apt, about a minute, once)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq primesieve primecount >/dev/null; }

## browser: Debian's Chromium and ChromeDriver, for the UI suite
browser:
	@command -v chromium >/dev/null || { \
	  echo "[make] installing chromium and chromium-driver (apt, a minute or two, once)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

## ui: the page's wasm, JS and CSS in target/site/pkg (installs the wasm32 target and
## the npm tools into ui/node_modules on first use; builds infra/bindgen)
ui:
	infra/build-ui.sh

## dev: the emulator, its tables and the functions under cargo lambda watch
dev: tools
	DEV_PARENT_PID=$$PPID infra/dev.sh

## node-down / node-up: one node's emulator stopped, or started again with every record
## it had, under a running make dev (NODE=eu-west-1; infra/node.sh)
## node-add / node-remove: the ring changed through PUT /membership under a running make
## dev; the upkeep moves the records (NODE=…; a node to add is one of make dev's NODES
## or SPARE_NODES; docs/membership.md)
node-down node-up node-add node-remove:
	infra/node.sh $(subst node-,,$@) "$(NODE)"

## cloud: the app under `sam local start-api` (each function in a container) against
## LocalStack nodes, one container per region, at http://127.0.0.1:$PORT (3000); needs
## root for its Docker engine, and builds its images once (docs/emulators.md)
cloud: tools test-tools
	infra/cloud/cloud.sh

## cloud-images: the Docker images of make cloud, built here from the package registries
cloud-images:
	infra/cloud/images.sh

## test-cloud: the store and cluster tests on LocalStack, and make cloud checked over
## HTTP and in Chromium (.ci/run runs it after make test)
test-cloud: tools test-tools reference-tools browser
	tests/cloud_smoke.sh

## dev-reliability: 20 fresh starts of `make dev` and 20,000 requests through it, each
## answer a 200 or it fails (docs/local.md)
dev-reliability: tools
	infra/dev-reliability.sh

## faults: the whole fault matrix (4 strategies x 8 faults, two instance processes per
## cell), written to docs/faults.md; make test runs a slice of it
faults: tools reference-tools
	cargo build -p primescaler-tests --bins
	cargo run -p primescaler-tests --bin fault_matrix

## faults-twin: the same matrix on the deployed twin (the regions' round trips, the
## template's budgets), written to docs/faults-twin.md
faults-twin: tools reference-tools
	cargo build -p primescaler-tests --bins
	FAULTS_TWIN=1 cargo run -p primescaler-tests --bin fault_matrix

## sim: the deterministic simulation over 100,000 seeds (make test plays 10,000);
## SIM_SEEDS=k for another count, SIM_SEED=s to replay one seed with its log
sim: tools reference-tools
	SIM_SEEDS=$${SIM_SEEDS:-100000} cargo test -p primescaler-tests --test simulation -- --nocapture

## upkeep: one handoff pass now, under a running `make dev` (which runs one every minute)
upkeep:
	infra/upkeep.sh

## test: formatting, lints, unit, handler and integration tests, the template checks,
## and a smoke test of `make dev`, ordered to compile the workspace once (infra/test.sh)
test: tools reference-tools browser
	infra/test.sh

# The default members build for the host; the hydrate crate and the page's browser
# code are linted for wasm32, apart, so that Leptos' `hydrate` feature stays off the
# server render.
lint: tools ui
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy -p primescaler-ui-frontend -p primescaler-ui-app --features primescaler-ui-app/hydrate \
	  --target wasm32-unknown-unknown -- -D warnings

unit: tools test-tools reference-tools ui
	cargo test

template: test-tools
	cfn-lint template.yaml
	cfn-lint template.yaml -a cfn_lint_serverless.rules
	sam validate --lint --template template.yaml --region us-east-1
	$(VENV)/bin/python tests/iam/route_throttles.py template.yaml

smoke: tools test-tools browser
	tests/dev_smoke.sh

## bench-calculator: ours vs primal vs the primecount command; writes docs/benchmarks.md
bench-calculator: tools reference-tools
	cargo bench -p primescaler-calculator --bench nth_prime

## bench-placement: ring vs rendezvous vs Maglev balance and movement; writes docs/benchmarks.md
bench-placement: tools
	cargo bench -p primescaler-cluster --bench placement

## bench-request-path: raw GetItem vs hit vs miss, fill throughput, grid read; writes docs/benchmarks.md
bench-request-path: tools
	infra/bench-request-path.sh

## bench-ui: the grid at scale (polls, viewers, records outside the grid), first paint,
## page weight, time to interactive, bulk fill from the page; writes docs/benchmarks.md
bench-ui: tools browser
	infra/bench-ui.sh

## bench-ui-twin: the page's first byte and time to interactive on the deployed twin
## (make dev PROFILE=aws: the regions' round trips, each function at its CPU share)
bench-ui-twin: tools browser
	PROFILE=aws infra/bench-ui.sh twin

## bench-soak: the emulators' memory under one open page for BENCH_SOAK_MINUTES (30)
bench-soak: tools browser
	infra/bench-ui.sh soak

## bench-emulators: dynalite vs moto on the project's store paths; writes docs/benchmarks.md
bench-emulators: tools test-tools
	cargo run -q --release -p primescaler-tests --bin emulator_bench

## bench-twin: the request path at the regions' distances (the twin's relays) beside
## loopback, far node down and back; BENCH_TWIN_SECONDS per load phase (600); writes
## docs/benchmarks.md
bench-twin: tools
	cargo run -q --release --bin twin_bench

## bench-cold-start: init time and arm64 size, API function vs a bare hello world
bench-cold-start: tools
	infra/bench-cold-start.sh

## bench-first-run: make dev (BENCH_FIRST_RUN_TEST=1: and make test) on a fresh clone with
## nothing cached, step by step; writes docs/benchmarks.md
bench-first-run:
	infra/bench-first-run.sh

## build-arm64: the release zip of each function, as deployed (not run in CI)
build-arm64: tools ui
	AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo lambda build --release --arm64 --output-format zip -p primescaler-api -p primescaler-ui

## deploy-regions / remove-regions: the stack in every region of REGIONS, as one cluster
deploy-regions remove-regions: export REGIONS ?= us-east-1,eu-west-1,ap-southeast-2

deploy-regions: tools test-tools
	infra/deploy-regions.sh deploy

remove-regions: tools test-tools
	infra/deploy-regions.sh remove

## sam-build: what `sam deploy` uploads (slow; not run in CI)
sam-build: tools test-tools ui
	AWS_LC_SYS_NO_JITTER_ENTROPY=1 sam build --template template.yaml

clean:
	rm -rf target/dev target/emulator-logs .aws-sam
