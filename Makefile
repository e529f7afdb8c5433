# crio: the daemon, its monitor, and the two commands (run, test).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

GO        ?= go
BUILDTAGS := containers_image_openpgp exclude_graphdriver_btrfs nri_no_wasm
GOFLAGS_BUILD := -tags "$(BUILDTAGS)" -trimpath
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
GIT_COMMIT ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null && echo $$c || echo $$c-dirty; })
GIT_COMMIT_DATE ?= $(shell git log -1 --format=%cI 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/crio-runtime/crio/internal/version
LDFLAGS   := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).GitCommit=$(GIT_COMMIT) -X $(VERSION_PKG).GitCommitDate=$(GIT_COMMIT_DATE) -X $(VERSION_PKG).BuildDate=$(BUILD_DATE)

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
# Configuration goes where the daemon and a node read it, whatever PREFIX is
# (as CRI-O's Makefile does); DESTDIR stages a package root.
ETCDIR    ?= /etc
SHAREDIR  ?= $(PREFIX)/share
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system

# Debian packages the daemon needs at run time, and what the tests add.
RUN_PKGS  := runc containernetworking-plugins iptables libseccomp2 libseccomp-dev pkg-config gcc iproute2 util-linux
TEST_PKGS := $(RUN_PKGS) docker-registry busybox-static
TEST_TIMEOUT ?= 25m

.PHONY: all binaries tools run test unit integration bench race deps-run deps-test install completions crio.conf.example lint clean FORCE

all: binaries

binaries: bin/crio bin/conmon-go bin/pause

bin/crio: FORCE
	$(GO) build $(GOFLAGS_BUILD) -ldflags "$(LDFLAGS)" -o $@ ./cmd/crio

bin/conmon-go: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $@ ./conmon-go

bin/pause: FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $@ ./cmd/pause

# Installs only what is missing, so a prepared machine starts at once.
define ensure_pkgs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps-run:
	$(call ensure_pkgs,$(RUN_PKGS))

deps-test:
	$(call ensure_pkgs,$(TEST_PKGS))

# Runs the daemon in the foreground with its defaults on /var/run/crio/crio.sock.
run: deps-run binaries
	./bin/crio $(CRIO_FLAGS)

# runc with idmapped mounts (>= 1.2; Debian's is 1.1) for pods with their
# own user namespace: built from the Go module proxy once per version into
# bin/tools (about 40 s with a cold module cache), used by the user-namespace
# tests as a second handler. Debian's runc stays the default handler.
RUNC_VERSION ?= v1.5.3
RUNC_TOOL := bin/tools/runc-$(RUNC_VERSION)

tools: $(RUNC_TOOL)

$(RUNC_TOOL): | deps-test
	@mkdir -p bin/tools/.gobin
	GOBIN=$(CURDIR)/bin/tools/.gobin CGO_ENABLED=1 $(GO) install -tags seccomp github.com/opencontainers/runc@$(RUNC_VERSION)
	mv bin/tools/.gobin/runc $@
	ln -sfn $(notdir $@) bin/tools/runc

test: deps-test binaries lint tools
	CRIO_BIN_DIR=$(CURDIR)/bin $(GO) test -tags "$(BUILDTAGS)" -count=1 -timeout $(TEST_TIMEOUT) ./...

unit: binaries
	$(GO) test -tags "$(BUILDTAGS)" -count=1 -short ./pkg/... ./internal/... ./server/... ./cmd/... ./conmon-go/...

integration: deps-test binaries tools
	CRIO_BIN_DIR=$(CURDIR)/bin $(GO) test -tags "$(BUILDTAGS)" -count=1 -timeout $(TEST_TIMEOUT) -v ./test/...

# Prints the figures the issues ask for (no timing asserts); root only.
bench: deps-test binaries
	CRIO_BENCH=1 CRIO_BIN_DIR=$(CURDIR)/bin $(GO) test -tags "$(BUILDTAGS)" -count=1 -timeout 30m -v -run Bench ./test/bench/

# The integration suite against a race-detector build of crio (the daemon
# stops at the first race, failing the test that saw it).
race: deps-test binaries
	rm -rf bin/race && mkdir -p bin/race && cp bin/conmon-go bin/pause bin/race/
	$(GO) build -race $(GOFLAGS_BUILD) -ldflags "$(LDFLAGS)" -o bin/race/crio ./cmd/crio
	GORACE=halt_on_error=1 CRIO_BIN_DIR=$(CURDIR)/bin/race $(GO) test -tags "$(BUILDTAGS)" -count=1 -timeout $(TEST_TIMEOUT) ./test/integration/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags "$(BUILDTAGS)" ./...
	@# go.mod and go.sum say exactly what the code imports.
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }

# Generated files; tests fail when these are stale.
completions: bin/crio
	./bin/crio completion bash > completions/bash/crio
	./bin/crio completion zsh > completions/zsh/_crio
	./bin/crio completion fish > completions/fish/crio.fish

crio.conf.example: bin/crio
	./bin/crio config --example > $@

install: binaries
	install -D -m 0755 bin/crio $(DESTDIR)$(BINDIR)/crio
	install -D -m 0755 bin/conmon-go $(DESTDIR)$(BINDIR)/conmon-go
	install -D -m 0755 bin/pause $(DESTDIR)$(BINDIR)/pause
	install -D -m 0644 crio.conf.example $(DESTDIR)$(ETCDIR)/crio/crio.conf
	install -d -m 0755 $(DESTDIR)$(ETCDIR)/crio/crio.conf.d
	install -D -m 0644 contrib/crictl.yaml $(DESTDIR)$(ETCDIR)/crictl.yaml
	install -D -m 0644 contrib/sysconfig/crio $(DESTDIR)$(ETCDIR)/sysconfig/crio
	install -D -m 0644 contrib/cni/10-crio-bridge.conflist $(DESTDIR)$(ETCDIR)/cni/net.d/10-crio-bridge.conflist
	install -d -m 0755 $(DESTDIR)$(SYSTEMDDIR)
	sed 's|@BINDIR@|$(BINDIR)|' contrib/systemd/crio.service > $(DESTDIR)$(SYSTEMDDIR)/crio.service
	install -D -m 0644 completions/bash/crio $(DESTDIR)$(SHAREDIR)/bash-completion/completions/crio
	install -D -m 0644 completions/zsh/_crio $(DESTDIR)$(SHAREDIR)/zsh/site-functions/_crio
	install -D -m 0644 completions/fish/crio.fish $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/crio.fish

clean:
	rm -rf bin

FORCE:
