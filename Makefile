# Ad-hoc Support — the two commands a newcomer needs are `make run` and `make test`.
# Everything they need is installed by the targets below: npm packages into _npm/ (npm ci),
# downloaded tools into .tools/, Debian packages with apt-get when missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.tools
# Relative, so that a file target reads as typed (make dist/functions/live/bootstrap).
DIST      := dist
DDB_DIR   := $(TOOLS)/dynamodb
DDB_JAR   := $(DDB_DIR)/DynamoDBLocal.jar
DDB_NPM   := amplify-dynamodb-simulator@2.9.30
# The npm package's tarball is checked against this SHA-256 before anything in it is unpacked
# (the jar and the native libraries it loads both come from it), and the jar against its own
# at every `make tools`. To upgrade: npm pack the new version, read both with sha256sum, and
# change the three lines together.
DDB_TGZ_SHA256 := 3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9
DDB_JAR_SHA256 := 454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7
# The launcher that binds DynamoDB Local to loopback (the jar cannot), compiled into a folder
# named by its source's SHA-256 (internal/local/standins.LoopbackLauncherDir).
DDB_LOOPBACK_SRC := internal/local/standins/LoopbackDynamoDB.java
DDB_LOOPBACK     := $(TOOLS)/dynamodb-loopback/$(shell sha256sum $(DDB_LOOPBACK_SRC) | cut -c1-12)/LoopbackDynamoDB.class
TEST_OUT  := $(CURDIR)/test-output
RIE       := $(TOOLS)/bin/aws-lambda-rie
RIE_MOD   := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
# npm's packages: internal/local/standins.NPMDir names the same folder.
NPM_DIR   := $(CURDIR)/_npm
NPM_STAMP := $(NPM_DIR)/node_modules/.package-lock.json
CDK       := $(NPM_DIR)/node_modules/.bin/cdk
# The whole suite on a 2-core machine: keep it well under 15 minutes.
TEST_TIMEOUT ?= 14m

export ADHOC_TOOLS := $(TOOLS)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@printf '  make %s  one Lambda bootstrap; <name>: %s\n' 'dist/functions/<name>/bootstrap' '$(FUNCTIONS)'

# --- tools -----------------------------------------------------------------------------

.PHONY: tools
tools: java npm-tools ddb-verify $(DDB_LOOPBACK) $(RIE) ## install what run and test need (idempotent)

# javac too: the loopback launcher of DynamoDB Local is compiled here from its source.
.PHONY: java
java: ## Java 17 or newer with javac, for DynamoDB Local (installs OpenJDK 17 if missing or older)
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1); \
	  c=$$(javac -version 2>&1 | sed -n 's/^javac \([0-9]*\).*/\1/p' | head -n1); \
	  if [ -z "$$v" ] || [ "$$v" -lt 17 ] || [ -z "$$c" ] || [ "$$c" -lt 17 ]; then \
	    echo "java $${v:-missing}, javac $${c:-missing}: installing openjdk-17-jdk-headless"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless; \
	  fi

# The npm tools (the CDK CLI, aws-ses-v2-local) live in _npm/: package.json, package-lock.json
# and node_modules. node_modules holds Go files (CDK's init templates), and Go skips folders
# whose name begins with "_", so `go build ./...` never sees them, whatever npm does there.
# npm ci installs exactly the lock file's versions; its stamp is the lock file it copies.
.PHONY: npm-tools
npm-tools: $(NPM_STAMP) ## install the npm tools into _npm/node_modules (npm ci)

$(NPM_STAMP): $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	cd $(NPM_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# DynamoDB Local: the official jar ships inside this npm package's emulator/ folder; only
# that folder is unpacked, the package's own dependencies are not needed. The tarball must
# match DDB_TGZ_SHA256 before tar sees it, and the jar DDB_JAR_SHA256 after; on a mismatch
# nothing of it is kept.
DDB_TGZ := $(subst @,-,$(DDB_NPM)).tgz

$(DDB_JAR):
	@mkdir -p $(DDB_DIR)
	cd $(DDB_DIR) && rm -f $(DDB_TGZ) && npm pack --silent $(DDB_NPM) >/dev/null
	@got=$$(sha256sum < $(DDB_DIR)/$(DDB_TGZ) | cut -d' ' -f1); if [ "$$got" != "$(DDB_TGZ_SHA256)" ]; then \
	  rm -f $(DDB_DIR)/$(DDB_TGZ); \
	  echo "$(DDB_NPM): the tarball's SHA-256 is $$got, the Makefile pins DDB_TGZ_SHA256=$(DDB_TGZ_SHA256): not unpacked"; exit 1; fi
	cd $(DDB_DIR) && tar -xzf $(DDB_TGZ) --strip-components=2 package/emulator && rm -f $(DDB_TGZ)
	@$(MAKE) --no-print-directory ddb-verify || { rm -rf $(DDB_DIR); exit 1; }

.PHONY: ddb-verify
ddb-verify: $(DDB_JAR) ## check DynamoDB Local's jar against its pinned SHA-256
	@got=$$(sha256sum < $(DDB_JAR) | cut -d' ' -f1); if [ "$$got" != "$(DDB_JAR_SHA256)" ]; then \
	  echo "$(DDB_JAR): SHA-256 $$got, the Makefile pins DDB_JAR_SHA256=$(DDB_JAR_SHA256); remove $(DDB_DIR) and run make tools"; exit 1; fi

# Compiled against the jar it launches; the class folder's name follows the source.
$(DDB_LOOPBACK): $(DDB_LOOPBACK_SRC) | ddb-verify java
	@mkdir -p $(@D)
	javac -nowarn --release 17 -cp $(DDB_JAR) -d $(@D) $<

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

# The functions the stack deploys (infra/stack.Functions): one folder functions/<name> with a
# main.go each, and the folder list is the one definition here.
FUNCTIONS     := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
FUNCTIONS_DIR := $(DIST)/functions
BOOTSTRAPS    := $(FUNCTIONS:%=$(FUNCTIONS_DIR)/%/bootstrap)
# What a bootstrap is built from: the root module's files that the functions can link or
# embed, with their folders (a deleted file changes its folder's time), and this Makefile for
# the flags. An over-approximation: a change anywhere there rebuilds them all, and go build's
# cache keeps that quick.
FUNCTION_SOURCES := go.mod go.sum Makefile $(shell find functions internal events -not -name '*_test.go')

# dist/functions/<name>/bootstrap: one function for provided.al2023 on arm64.
$(FUNCTIONS_DIR)/%/bootstrap: $(FUNCTION_SOURCES)
	@mkdir -p $(@D)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o $@ ./functions/$*

.PHONY: build
build: $(BOOTSTRAPS) ## build each Lambda bootstrap (provided.al2023, arm64) into dist/functions/<name>/
	@for f in $(FUNCTIONS); do printf '  %-11s %s bytes\n' $$f "$$(stat -c %s $(FUNCTIONS_DIR)/$$f/bootstrap)"; done

.PHONY: synth
synth: build npm-tools ## write the CloudFormation template to cdk.out (offline, no AWS account needed)
	$(CDK) synth --quiet

# --- the Windows app (agent/) ----------------------------------------------------------------

# The Windows app for amd64 and arm64, Authenticode-signed (SHA-256). A release (a version
# without -dev) goes to dist/agent/, the one folder the CDK app uploads; a development build
# (the default 0.1.0-dev: make run, make test, the Wine test, demo-pc) goes to
# dist/agent-dev/, which nothing deploys. Each folder gets a release manifest (release.json,
# internal/release): version, server URL, session cap, signer, and the SHA-256 of each exe;
# `cdk synth`/`cdk deploy` refuse a folder whose manifest or signatures do not hold up.
# The join route serves the exe as SupportSession_<inviteToken>.exe.
#
# SIGNING_CERT/SIGNING_KEY (PEM) sign a release, with SIGNING_KEY_PASSFILE for an encrypted
# key and SIGNING_CA for the root that verifies it; without them a development certificate
# is made once in .tools/signing/ (Windows warns about it: it is for local tests only).
# SIGNING_TSA, an RFC 3161 time-stamp server's URL, countersigns each signature, so that it
# stays valid after the certificate expires (the app checks its own signature before it
# installs itself, and an expired one without a timestamp fails); SIGNING_TSA_CA is the
# root that verifies the timestamp when the system's roots do not.
AGENT_ARCHES     := amd64 arm64
AGENT_VERSION    ?= 0.1.0-dev
AGENT_SERVER_URL ?= http://localhost:8080
# How long the app lets a session last on the PC after pairing, whatever the server answers
# (plus a few minutes for clocks that differ); the stack's sessionHours may not exceed it.
AGENT_MAX_SESSION_HOURS ?= 24
AGENT_DEV        := $(filter dev %-dev,$(AGENT_VERSION))
AGENT_DIST       := $(DIST)/$(if $(AGENT_DEV),agent-dev,agent)
SIGNING_DIR      := $(TOOLS)/signing
SIGNING_CERT     ?= $(SIGNING_DIR)/dev-cert.pem
SIGNING_KEY      ?= $(SIGNING_DIR)/dev-key.pem
# The root the signature is checked against after signing: the self-signed development
# certificate is its own root; for a CA-issued release certificate, set SIGNING_CA to the
# CA's root (PEM), as a leaf certificate is not a trust anchor.
SIGNING_CA       ?= $(SIGNING_CERT)
SIGNING_TSA      ?=
SIGNING_TSA_CA   ?=
GO_WINRES        := github.com/tc-hib/go-winres@v0.3.3
# The app's test hooks (ADHOC_TEST_*) are compiled in with this build tag, for a development
# version only: a release build does not carry them (agent/devhooks_windows.go).
AGENT_DEV_TAG    := adhocdev
# For size (issues 13 and 14: the exe at most 12,000,000 bytes): nethttpomithttp2 leaves
# out net/http's bundled HTTP/2 (375 KB): the app talks HTTP/1.1 to the server (its few API
# calls and the live connection's WebSocket, which is HTTP/1.1 anyway; the local stack and
# the tests always were). The packages in AGENT_COLD_PKGS are compiled without inlining
# (181 KB): they run only while a connection or a call is set up (API calls, certificates,
# JSON control messages, SDP, mDNS, the registry and service calls) or not at all (pion's
# media packages: the app opens data channels only); the data path (pion's sctp, dtls, ice,
# turn, webrtc, the runtime, crypto, agent/remote and agent/screen) keeps inlining.
AGENT_SIZE_TAGS  := nethttpomithttp2
comma            := ,
AGENT_COLD_PKGS  := net/http/... crypto/x509/... encoding/asn1 encoding/gob encoding/json regexp/... \
  github.com/pion/sdp/... github.com/pion/mdns/... github.com/pion/rtp/... github.com/pion/rtcp/... \
  github.com/pion/srtp/... github.com/pion/interceptor/... golang.org/x/net/dns/... golang.org/x/sys/windows/... \
  github.com/coder/websocket/... github.com/adhoc-support/adhoc-support/agent/app/...
AGENT_GCFLAGS    := $(foreach p,$(AGENT_COLD_PKGS),-gcflags=$(p)=-l)
AGENT_TAGS       := $(AGENT_SIZE_TAGS)$(if $(AGENT_DEV),$(comma)$(AGENT_DEV_TAG))

.PHONY: agent
agent: $(SIGNING_CERT) ## build and sign the Windows app (amd64, arm64): a release into dist/agent/, a -dev build into dist/agent-dev/
	@# A release build talks HTTPS only, ignores the ADHOC_* development variables and has
	@# no test hooks compiled in; only a -dev build may point at the local stack's plain HTTP.
	@case "$(AGENT_VERSION)" in *-dev|dev) ;; *) case "$(AGENT_SERVER_URL)" in https://*) ;; *) \
	  echo "AGENT_VERSION=$(AGENT_VERSION) is a release build: set AGENT_SERVER_URL to the deployed API's https URL"; exit 1;; esac;; esac
	@command -v osslsigncode >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq osslsigncode; }
	@# The version resource (file properties) carries AGENT_VERSION too. go-winres is
	@# deterministic: with the default version the committed .syso files come out unchanged.
	@$(MAKE) --no-print-directory agent-resources-version
	@# The folder holds this build only: the manifest lists every file in it.
	rm -rf $(AGENT_DIST)
	@# The app checks its own signer against this certificate's SHA-256 before it installs
	@# itself as a service (release builds; agent/winos.VerifySigner).
	@signer=$$(openssl x509 -in $(SIGNING_CERT) -outform DER | sha256sum | cut -d' ' -f1); \
	for arch in $(AGENT_ARCHES); do \
	  mkdir -p $(AGENT_DIST)/windows-$$arch; \
	  CGO_ENABLED=0 GOOS=windows GOARCH=$$arch $(GO) build -trimpath -tags "$(AGENT_TAGS)" $(AGENT_GCFLAGS) \
	    -ldflags "-s -w -X main.version=$(AGENT_VERSION) -X main.serverURL=$(AGENT_SERVER_URL) -X main.signer=$$signer -X main.maxSessionHours=$(AGENT_MAX_SESSION_HOURS)" \
	    -o $(AGENT_DIST)/windows-$$arch/unsigned.exe ./agent; \
	  $(MAKE) --no-print-directory agent-sign IN=$(AGENT_DIST)/windows-$$arch/unsigned.exe OUT=$(AGENT_DIST)/windows-$$arch/SupportSession.exe; \
	  rm $(AGENT_DIST)/windows-$$arch/unsigned.exe; \
	  printf '  windows/%-6s %s bytes, signed%s\n' $$arch "$$(stat -c %s $(AGENT_DIST)/windows-$$arch/SupportSession.exe)" "$(if $(SIGNING_TSA), and timestamped)"; \
	done
	$(GO) run ./cmd/agentrelease write -dir $(AGENT_DIST) -version $(AGENT_VERSION) -server-url $(AGENT_SERVER_URL) \
	  -max-session-hours $(AGENT_MAX_SESSION_HOURS) -signing-cert $(SIGNING_CERT) $(if $(SIGNING_TSA),-timestamp-url $(SIGNING_TSA))
	@# What the CDK app will check before it uploads a release (without comparing the URL
	@# with the stack's API, which cdk deploy knows: context apiUrl).
	$(if $(AGENT_DEV),,$(GO) run ./cmd/agentrelease check -dir $(AGENT_DIST) -server-url $(AGENT_SERVER_URL) -ca $(SIGNING_CA) $(if $(SIGNING_TSA_CA),-tsa-ca $(SIGNING_TSA_CA)))

# Where `make agent` puts a build of AGENT_VERSION (the tests and scripts ask it).
.PHONY: agent-dir
agent-dir: ## print the folder make agent builds AGENT_VERSION into (dist/agent-dev or dist/agent)
	@echo $(AGENT_DIST)

# Signs IN into OUT with SIGNING_CERT (osslsigncode, SHA-256), countersigned by SIGNING_TSA
# when set, and verifies the result against SIGNING_CA (and SIGNING_TSA_CA). `make agent`
# calls it for each exe; a failing time-stamp server fails the build rather than leaving a
# release without its timestamp.
.PHONY: agent-sign
agent-sign: ## sign IN into OUT as make agent does (SIGNING_CERT, SIGNING_TSA), and verify it
	@test -n "$(IN)" && test -n "$(OUT)" || { echo "agent-sign: IN=<unsigned exe> OUT=<signed exe>"; exit 1; }
	@rm -f $(OUT)
	osslsigncode sign -h sha256 -certs $(SIGNING_CERT) -key $(SIGNING_KEY) \
	  $(if $(SIGNING_KEY_PASSFILE),-readpass $(SIGNING_KEY_PASSFILE)) $(if $(SIGNING_TSA),-ts $(SIGNING_TSA)) \
	  -n "Ad-hoc Support Session" -in $(IN) -out $(OUT) >/dev/null
	osslsigncode verify -CAfile $(SIGNING_CA) $(if $(SIGNING_TSA_CA),-TSA-CAfile $(SIGNING_TSA_CA)) -in $(OUT) >/dev/null

# A self-signed code-signing certificate for local builds only.
$(SIGNING_DIR)/dev-cert.pem:
	@mkdir -p $(SIGNING_DIR)
	openssl req -x509 -newkey rsa:3072 -sha256 -days 825 -nodes -subj "/CN=Ad-hoc Support development code signing" \
	  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
	  -keyout $(SIGNING_DIR)/dev-key.pem -out $@ 2>/dev/null
	@chmod 600 $(SIGNING_DIR)/dev-key.pem

.PHONY: agent-resources
agent-resources: ## regenerate the app's manifest, version info and icon (agent/rsrc_windows_*.syso)
	cd agent/winres && $(GO) run icon_gen.go
	@$(MAKE) --no-print-directory agent-resources-version

.PHONY: agent-resources-version
agent-resources-version:
	cd agent && $(GO) run $(GO_WINRES) make --in winres/winres.json --arch amd64,arm64 --out rsrc \
	  --product-version $(AGENT_VERSION) --file-version $(AGENT_VERSION)

# The app's tests run the signed exe under Wine (agent/winetest, internal/testing/e2e), with a
# bcryptprimitives.dll built by MinGW: Wine 8 lacks the ProcessPrng that Go's runtime needs.
# demo-pc gives that Wine PC a virtual screen (Xvfb).
.PHONY: agent-test-deps
agent-test-deps: ## install Wine, Xvfb and MinGW for the app under Wine (tests, demo-pc)
	@{ command -v wine64 >/dev/null || test -x /usr/lib/wine/wine64; } && command -v x86_64-w64-mingw32-gcc >/dev/null && command -v Xvfb >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine64 gcc-mingw-w64-x86-64-win32 xvfb; }

# The real app on a Windows PC made of Wine and Xvfb (cmd/demo-pc), against the stack of
# `make run` (in another terminal): it pairs as a person would, then runs as the session's
# service until the session ends or Ctrl-C, which stops Wine and Xvfb. DEMO_PC_DIR keeps the
# Wine prefix between runs. Only a development build (AGENT_VERSION *-dev) takes the code
# from CODE and talks plain HTTP to the local stack.
DEMO_PC_DIR ?= .local/demo-pc

.PHONY: demo-pc
demo-pc: demo-pc-args agent-test-deps agent ## the real app under Wine against make run: make demo-pc LINK='<join link>' CODE=<code>
	$(GO) build -o $(TOOLS)/bin/demo-pc ./cmd/demo-pc
	@exec $(TOOLS)/bin/demo-pc -link '$(LINK)' -code '$(CODE)' -dir '$(DEMO_PC_DIR)' -exe $(AGENT_DIST)/windows-amd64/SupportSession.exe

.PHONY: demo-pc-args
demo-pc-args:
	@test -n "$(LINK)" -a -n "$(CODE)" || { echo "usage: make demo-pc LINK='<join link from the invitation mail>' CODE=<security code from the console>"; exit 1; }
	@$(if $(AGENT_DEV),true,echo "demo-pc needs a development build of the app (AGENT_VERSION ending in -dev)"; exit 1)

# The screen's figures (issue 14), printed, never failing on time: a full 1280×800 frame's
# bytes and time (median, p95), an idle screen's bytes/s, CPU and heap, a changing region's
# fps, input-to-screen and the stream through the local TURN server (loopback); the real
# exe's helper under Wine: GDI capture and encoding times, its CPU and memory idle and
# streaming.
.PHONY: bench-screen
bench-screen: agent-test-deps ## measure the screen stream: full frame, idle, changing region, input-to-screen, the helper under Wine
	$(GO) test -count=1 -run '^$$' -bench . ./agent/screen/
	$(GO) test -count=1 -run '^$$' -bench 'InputToScreen|ScreenOverTURN' ./agent/remote/
	$(GO) test -count=1 -run '^$$' -bench HelperUnderWine ./agent/winetest/

# --- checks --------------------------------------------------------------------------------

# The repository's Go modules: the runtime module at the root, and infra/ (the CDK app) with
# CDK, jsii and what they drag in. go.work makes them one workspace, so a pattern of either
# module works from the root; ./... is the root module only (infra/ holds a go.mod).
MODULE      := github.com/adhoc-support/adhoc-support
GO_MODULES  := . infra
GO_PACKAGES := ./... ./infra/...

.PHONY: lint
lint: ## go.mod tidy (every module), gofmt, go vet and staticcheck (the app also as Windows sees it, release and dev)
	@for m in $(GO_MODULES); do (cd $$m && $(GO) mod tidy -diff) || { echo "go.mod of $$m is not tidy: run go mod tidy there"; exit 1; }; done
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet $(GO_PACKAGES)
	GOOS=windows $(GO) vet ./agent/...
	GOOS=windows $(GO) vet -tags $(AGENT_DEV_TAG) ./agent/...
	$(GO) tool staticcheck $(GO_PACKAGES)
	@# `go tool` would build staticcheck for Windows too, so build it for this machine and
	@# let it load the app's packages as Windows sees them.
	$(GO) build -o $(TOOLS)/bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	GOOS=windows $(TOOLS)/bin/staticcheck ./agent/...
	GOOS=windows $(TOOLS)/bin/staticcheck -tags $(AGENT_DEV_TAG) ./agent/...
	@$(MAKE) --no-print-directory lint-js

# Packages whose test binary links one of these start a service (DynamoDB Local and
# aws-ses-v2-local, the Lambda emulator, Chromium) or the jsii kernel (Node.js, seconds a
# test). `make check` runs the tests of every other package: derived from what they link, so
# a package leaves the list when its tests start to need a service.
SERVICE_PKGS := $(MODULE)/internal/local/standins $(MODULE)/internal/testing/testenv \
  $(MODULE)/internal/testing/lambdatest github.com/chromedp/chromedp github.com/aws/jsii-runtime-go
pure_packages = $(shell $(GO) list -test -f '{{.ImportPath}} {{join .Deps " "}}' $(GO_PACKAGES) | \
  awk -v services='$(SERVICE_PKGS)' 'BEGIN { n = split(services, s, " "); for (i = 1; i <= n; i++) svc[s[i]] = 1 } \
    $$1 ~ /\.test$$/ { for (i = 2; i <= NF; i++) if ($$i in svc) next; print substr($$1, 1, length($$1) - 5) }')

.PHONY: check
check: lint ## fast feedback: lint, and the tests of every package that needs no service (seconds)
	@pkgs="$(pure_packages)"; test -n "$$pkgs" || { echo "check: no package without services found"; exit 1; }; \
	  echo "$(GO) test -count=1 $$(echo $$pkgs | sed 's#$(MODULE)/#./#g')"; $(GO) test -count=1 $$pkgs

# How make test runs the tests, also for one package (test-go).
TEST_ENV   := TEST_OUTPUT_DIR=$(TEST_OUT)
TEST_FLAGS ?=

# The console's modules carry // @ts-check and JSDoc types; tsc checks them (strict, see
# internal/console/tsconfig.json) and emits nothing: the browser still gets the files as written.
.PHONY: lint-js
lint-js: npm-tools ## type-check the console's JavaScript (tsc --checkJs --noEmit)
	$(NPM_DIR)/node_modules/.bin/tsc -p internal/console/tsconfig.json --checkJs --noEmit

.PHONY: test
test: tools chromium agent-test-deps agent lint synth ## every test, with the services each one needs
	@test -n "$(AGENT_DEV)" || { echo "make test builds and runs a development app: leave AGENT_VERSION at a -dev version"; exit 1; }
	@mkdir -p $(TEST_OUT)
	ADHOC_AGENT_EXE=$(CURDIR)/$(AGENT_DIST)/windows-amd64/SupportSession.exe $(TEST_ENV) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(GO_PACKAGES)
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(TEST_FUZZ_EXECS)

# The Wine test builds its own exe here (a development build), as no signed one is passed;
# the console's and the end-to-end tests want `make chromium`, the Wine test
# `make agent-test-deps`, once.
.PHONY: test-go
test-go: tools ## one package's tests as make test runs them: make test-go PKG=./internal/store [TEST_FLAGS='-run X -v']
	@test -n "$(PKG)" || { echo "test-go: name the package, e.g. make test-go PKG=./internal/store"; exit 1; }
	@mkdir -p $(TEST_OUT)
	$(TEST_ENV) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(PKG)

# Fuzz targets as package:Target; `go test -fuzz` takes one package and one target at a time.
FUZZ_TARGETS := ./internal/httpapi:FuzzInvitationBody ./internal/httpapi:FuzzPairingBody \
  ./internal/session:FuzzParseCode ./internal/session:FuzzNormalizeEmail ./internal/protocol:FuzzInviteTokenFromFileName
FUZZ_TIME ?= 60s
# make test gives each target a number of inputs, not a duration: with a duration, Go's fuzz
# coordinator can fail a target with a bare "context deadline exceeded" when a starved worker
# misses the deadline, though it found nothing. A count has no deadline to race.
TEST_FUZZ_EXECS ?= 10000x

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZ_TIME (default 60s; make test runs 10000 inputs each)
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZ_TIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZ_TIME) "$${t%%:*}"; \
	done

# --- figures -------------------------------------------------------------------------------

# Handler overhead over raw DynamoDB round trips, round trips and capacity per call and per
# 24 h session, the cost of a session at list prices, bootstrap size and init time, and the
# scale model (docs/cost.md). Prints tables; nothing passes or fails on timing.
# BENCH_FLAGS=-json gives the report as JSON.
BENCH_FLAGS ?=

.PHONY: bench
bench: tools ## measure overhead, round trips, cost per session, bootstraps, the scale model, remote access and the screen
	@# Remote access's figures include the signed exe's size: build it once if missing.
	@test -f $(AGENT_DIST)/windows-amd64/SupportSession.exe || $(MAKE) --no-print-directory agent
	$(GO) test -count=1 -run '^$$' -bench . ./internal/measure/bench/ $(if $(findstring -json,$(BENCH_FLAGS)),1>&2)
	$(GO) build -o $(TOOLS)/bin/benchreport ./cmd/benchreport
	$(TOOLS)/bin/benchreport -agent-exe $(AGENT_DIST)/windows-amd64/SupportSession.exe $(BENCH_FLAGS)
	@# The screen's figures: go test benchmarks of the stream, over TURN, and the helper under Wine.
	$(MAKE) --no-print-directory bench-screen

.PHONY: bench-remote
bench-remote: tools ## only remote access's part of make bench (about 30 s)
	@test -f $(AGENT_DIST)/windows-amd64/SupportSession.exe || $(MAKE) --no-print-directory agent
	$(GO) build -o $(TOOLS)/bin/benchreport ./cmd/benchreport
	$(TOOLS)/bin/benchreport -only remote -agent-exe $(AGENT_DIST)/windows-amd64/SupportSession.exe $(BENCH_FLAGS)

# The load driver against the local stack on loopback (internal/measure/loadtest): latency per route,
# errors, and the table's invariants afterwards. TestShortLoad runs a short one in make test.
LOAD_FLAGS ?= -technicians 300 -apps 3000 -duration 60s

.PHONY: load
load: tools ## drive the local product with 300 technicians and 3000 apps for 60 s; print the table
	$(GO) run ./cmd/loadgen $(LOAD_FLAGS)

.PHONY: clean
clean: ## remove build and test output (keeps .local and .tools)
	rm -rf $(DIST) $(TEST_OUT) cdk.out
