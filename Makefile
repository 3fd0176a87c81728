# Builds the rockon binaries and the .deb/.rpm packages.
#
#   make build        bin/rockon and bin/rockond
#   make deb rpm      dist/rockon_<version>_<arch>.deb and dist/rockon-<version>.<arch>.rpm
#   make clean
#
# The version comes from a VERSION file when there is one (release tarballs),
# otherwise from `git describe`; packages need it to start with a digit, so an
# untagged tree becomes 0.0.0~git<commit date>.<hash> (sorts before any 0.0.0 tag).
# Nothing here needs the network once the Go module cache is filled.

GO      ?= go
GOARCH  ?= $(shell $(GO) env GOARCH)
# All three can be given on the command line (the packaging test builds into
# a temporary directory): make BIN=/tmp/b STAGE=/tmp/s DESTDIR=/tmp/d deb
DESTDIR ?= dist
BIN     ?= bin
STAGE   ?= $(BIN)/stage

# Computed once (:=): other commits landing during a build must not change it.
ifndef VERSION
VERSION := $(shell \
	if [ -s VERSION ]; then cat VERSION; \
	elif tag=$$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then \
		echo "$$tag" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g\([0-9a-f]*\)/+git\1.\2/' -e 's/-dirty$$/~dirty/'; \
	else \
		echo "0.0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || echo 0).$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"; \
	fi)
endif

# Reproducible binaries: no local paths, no VCS stamping that differs by checkout state.
# Position-independent executables: ASLR for the daemon that runs as root (and
# lintian treats non-PIE Go binaries as statically linked).
GOFLAGS_BUILD := -trimpath -buildvcs=false -buildmode=pie
LDFLAGS       := -s -w -X main.version=$(VERSION)

MAINTAINER ?= rockon developers <rockon@example.org>

export VERSION GOARCH MAINTAINER
export BIN STAGE

.PHONY: build deb rpm packages clean stage

build: $(BIN)/rockon $(BIN)/rockond

# Always rebuilt: go build's own cache makes this cheap and it never goes stale.
$(BIN)/rockon $(BIN)/rockond: FORCE
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $@ ./cmd/$(@F)

FORCE:

# Files generated from the binaries and the repository for the packages
# (man page, completions, changelog); see packaging/stage.sh.
stage: build
	./packaging/stage.sh $(BIN) $(STAGE) $(VERSION)

deb: stage
	@mkdir -p $(DESTDIR)
	$(GO) tool nfpm package --config packaging/nfpm.yaml --packager deb --target $(DESTDIR)/

rpm: stage
	@mkdir -p $(DESTDIR)
	$(GO) tool nfpm package --config packaging/nfpm.yaml --packager rpm --target $(DESTDIR)/

packages: deb rpm

clean:
	rm -rf $(BIN) $(DESTDIR)
