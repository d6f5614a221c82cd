# Ad-hoc Support — the two commands a newcomer needs are `make run` and `make test`.
# Everything they need is installed by the targets below: npm packages into this
# repository, downloaded tools into .tools/, Debian packages with apt-get when missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.tools
DIST      := $(CURDIR)/dist
DDB_DIR   := $(TOOLS)/dynamodb
DDB_JAR   := $(DDB_DIR)/DynamoDBLocal.jar
DDB_NPM   := amplify-dynamodb-simulator@2.9.30
TEST_OUT  := $(CURDIR)/test-output
RIE       := $(TOOLS)/bin/aws-lambda-rie
RIE_MOD   := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
# The whole suite on a 2-core machine: keep it well under 15 minutes.
TEST_TIMEOUT ?= 14m

export ADHOC_TOOLS := $(TOOLS)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- tools -----------------------------------------------------------------------------

.PHONY: tools
tools: java node_modules $(DDB_JAR) $(RIE) ## install what run and test need (idempotent)

.PHONY: java
java:
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }

# node_modules holds Go files (CDK's init templates): a go.mod of its own keeps it out of
# `go build ./...` and `go vet ./...`.
node_modules: package.json
	npm install --no-audit --no-fund --loglevel=error
	@printf 'module ignored/node_modules\n' > node_modules/go.mod
	@touch node_modules

# DynamoDB Local: the official jar ships inside this npm package's emulator/ folder; only
# that folder is unpacked, the package's own dependencies are not needed.
$(DDB_JAR):
	@mkdir -p $(DDB_DIR)
	cd $(DDB_DIR) && npm pack --silent $(DDB_NPM) >/dev/null && \
	  tar -xzf amplify-dynamodb-simulator-*.tgz --strip-components=2 package/emulator && \
	  rm -f amplify-dynamodb-simulator-*.tgz
	@test -f $@

# The Lambda Runtime Interface Emulator, for running the real bootstraps in tests.
$(RIE):
	GOBIN=$(TOOLS)/bin $(GO) install $(RIE_MOD)

.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# --- the product, locally ----------------------------------------------------------------

.PHONY: run
run: tools ## the whole product locally (console, API, mail viewer, DynamoDB Local, scheduler)
	$(GO) build -o $(TOOLS)/bin/adhoc-local ./cmd/adhoc-local
	@exec $(TOOLS)/bin/adhoc-local

.PHONY: clean-local
clean-local: ## forget the local data in .local/
	rm -rf .local

# --- AWS: Lambda bootstraps and the CDK app ------------------------------------------------

# The functions the stack deploys (infra/stack.Functions), each built from functions/<name>.
FUNCTIONS     := invitation pairing expiry
FUNCTIONS_DIR := $(DIST)/functions

.PHONY: build
build: ## build each Lambda bootstrap (provided.al2023, arm64) into dist/functions/<name>/
	@for f in $(FUNCTIONS); do \
	  mkdir -p $(FUNCTIONS_DIR)/$$f; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
	    -o $(FUNCTIONS_DIR)/$$f/bootstrap ./functions/$$f; \
	done
	@for f in $(FUNCTIONS); do printf '  %-11s %s bytes\n' $$f "$$(stat -c %s $(FUNCTIONS_DIR)/$$f/bootstrap)"; done

.PHONY: synth
synth: build node_modules ## write the CloudFormation template to cdk.out (offline, no AWS account needed)
	node_modules/.bin/cdk synth --quiet

# --- checks --------------------------------------------------------------------------------

.PHONY: lint
lint: ## gofmt, go vet (also for Windows), staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./agent/...
	$(GO) tool staticcheck ./...

.PHONY: test
test: tools chromium lint ## every test, with the services each one needs
	@mkdir -p $(TEST_OUT)
	TEST_OUTPUT_DIR=$(TEST_OUT) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

.PHONY: clean
clean: ## remove build and test output (keeps .local and .tools)
	rm -rf $(DIST) $(TEST_OUT) cdk.out
