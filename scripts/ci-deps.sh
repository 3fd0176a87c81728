#!/bin/bash
# Installs what a bare Debian 12 machine (root, Go already on PATH) needs to build rockon,
# run its tests and its demo. Idempotent: when everything is present it only checks.
# Services shipped by these packages (docker, prometheus, ...) are NOT started on the host:
# the tests and the demo run them inside the systemd sandbox (see sandbox/).
set -euo pipefail

packages=(
	systemd dbus                         # real systemd + system bus, booted in the sandbox
	podman runc netavark aardvark-dns    # podman with the runc runtime (cgroup v1 hosts) and DNS between containers
	containernetworking-plugins catatonit
	docker.io iptables                   # dockerd is run as a unit inside the sandbox
	prometheus                           # promtool + a real scraper for the metrics tests
	lintian                              # checks the .deb
	make man-db rpm                      # make deb rpm; man: systemd-analyze verify checks Documentation=; rpm -qp reads the .rpm
	libglib2.0-bin                       # gdbus, a D-Bus client nobody here wrote
	policykit-1                          # polkit policy checks
	curl socat iproute2 util-linux procps git ca-certificates tar
	docker-registry skopeo               # a registry in the sandbox standing in for Docker Hub; update checks
	python3                              # a static HTTP server for test catalogs
	docker-compose                       # a compose implementation checks `rockon export --format compose`
	cockpit-ws cockpit-bridge cockpit-system sudo  # the web console the Cockpit application runs in (tests and demo)
	chromium                             # a real browser, headless, for the Cockpit application's tests
)
# The Cockpit application is built with npm (cockpit/package.json); a machine with its own
# node and npm (e.g. from nodejs.org) keeps them, any other gets Debian's.
if ! command -v npm >/dev/null; then
	packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} > 0)); then
	if [ "$(id -u)" != 0 ]; then
		echo "ci-deps: missing packages (${missing[*]}); run as root to install them" >&2
		exit 1
	fi
	echo "ci-deps: installing ${missing[*]}"
	# Keep package scripts from starting daemons on the host: 101 = "action forbidden".
	cleanup_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		cleanup_policy=1
	fi
	log=$(mktemp /var/tmp/rockon-ci-deps.XXXXXX)
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get -q update && apt-get -q install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "ci-deps: apt-get failed (full log: $log)" >&2
		[ -z "$cleanup_policy" ] || rm -f /usr/sbin/policy-rc.d
		exit 1
	fi
	[ -z "$cleanup_policy" ] || rm -f /usr/sbin/policy-rc.d
	rm -f "$log"
fi

command -v go >/dev/null || { echo "ci-deps: go is not on PATH" >&2; exit 1; }
echo "ci-deps: ok ($(go version | cut -d' ' -f3), podman $(podman version --format '{{.Client.Version}}' 2>/dev/null || echo '?'), $(dockerd --version 2>/dev/null | cut -d, -f1))"
