# Builds the rockon binaries and the .deb/.rpm packages.
#
#   make build        bin/rockon and bin/rockond
#   make deb rpm      dist/rockon_<version>_<arch>.deb and dist/rockon-<version>.<arch>.rpm
#   make deb-cockpit  dist/rockon-cockpit_<version>_all.deb, the Cockpit application (needs node, npm)
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

.PHONY: build deb rpm packages clean stage cockpit deb-cockpit

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

# The Cockpit application: npm installs the locked packages, esbuild bundles
# them into cockpit/dist/ (npm ci again only when the lock file changed).
cockpit: cockpit/node_modules/.package-lock.json
	cd cockpit && node build.mjs

cockpit/node_modules/.package-lock.json: cockpit/package-lock.json
	cd cockpit && npm ci --no-audit --no-fund

# Its native changelog, one entry dated by the commit (as stage.sh does).
deb-cockpit: cockpit
	@mkdir -p $(DESTDIR) $(STAGE)
	{ printf 'rockon-cockpit (%s) unstable; urgency=medium\n\n  * Packaged from the rockon sources at version %s.\n\n' '$(VERSION)' '$(VERSION)'; \
	  printf ' -- %s  %s\n' '$(MAINTAINER)' "$$(git log -1 --format=%cD 2>/dev/null || date -R -u -d @0)"; } | gzip -n -9 >$(STAGE)/cockpit-changelog.gz
	$(GO) tool nfpm package --config packaging/nfpm-cockpit.yaml --packager deb --target $(DESTDIR)/

clean:
	rm -rf $(BIN) $(DESTDIR) cockpit/dist
